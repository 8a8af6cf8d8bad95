"""The votes CSV (docs/reference/votes-csv.md): one row per (trial, criterion), and for the
rating designs one per (trial, criterion, rated version). Reading it checks every row and
names the line at fault.

`design` and `score` are optional on reading (a file without `design` is best_of, as every file
exported before the designs were); every row of a file has one design. A pairwise "no
preference" has an empty chosen_slot and chosen_system and reads as chosen_slot -1."""

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = (
    "study", "participant", "session", "trial", "trial_index", "item", "category", "criterion",
    "slot_systems", "chosen_slot", "chosen_system", "is_check", "check_expected_system",
    "played_all", "rt_ms", "submitted_at", "design", "score",
    # Playback telemetry of the row's trial (studies.telemetry; empty where not measured).
    "player", "heard_min_fraction", "switches", "seeks", "pauses", "stalls", "mutes",
    "hidden_s", "stall_s", "volume_changes", "fullscreen_exits", "rate_changes",
    "sync_offset_p95_ms", "switch_gap_p95_ms", "av_delay_ms",
)  # fmt: skip
TELEMETRY = COLUMNS[COLUMNS.index("player") :]
OPTIONAL = ("design", "score", *TELEMETRY)
DESIGNS = ("best_of", "real_or_generated", "pairwise", "rating", "mushra")
RATED = ("rating", "mushra")
TIE = -1  # chosen_slot of a pairwise "no preference"


class VotesError(ValueError):
    """A votes file that breaks the contract; the message names the file and line."""


_TRUE, _FALSE = {"1", "true", "yes"}, {"0", "false", "no", ""}
_INTEGER = r"\s*[+-]?\d+\s*"


def _distinct_map(column: pd.Series, fn) -> pd.Series:
    """fn applied once per distinct value (a votes file has few), mapped back to every row
    through the factorized codes (no per-row hashing of strings)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    values = np.empty(len(uniques), dtype=object)
    values[:] = [fn(v) for v in uniques]
    return pd.Series(values[codes], index=column.index)


def _bool_or_none(value: str) -> bool | None:
    lowered = value.strip().lower()
    return True if lowered in _TRUE else (False if lowered in _FALSE else None)


def _bools(column: pd.Series) -> pd.Series:
    """True/False per value, None where the value is neither (an error for the caller)."""
    return _distinct_map(column, _bool_or_none)


def _is_integer(value: str) -> bool:
    return re.fullmatch(_INTEGER, value) is not None


def _read_text_columns(path: Path, columns: tuple[str, ...] = COLUMNS) -> pd.DataFrame:
    """COLUMNS as categoricals of strings, parsed by Arrow's CSV reader straight into
    dictionary arrays (no Python string per cell: pandas' reader made 16 million of them for
    a million rows, and allocating them was half the time of an analysis)."""
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    text = pa.dictionary(pa.int32(), pa.string())
    try:
        table = arrow_csv.read_csv(
            path,
            parse_options=arrow_csv.ParseOptions(newlines_in_values=True),
            convert_options=arrow_csv.ConvertOptions(
                column_types={c: text for c in columns},
                include_columns=list(columns),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise VotesError(f"{path}: not a readable CSV: {_csv_problem(path) or exc}") from None
    # Column by column, each dropped from the table once converted: peak memory stays near the
    # table's size (converting all at once held two copies).
    out = {}
    for name in columns:
        column = table.select([name]).unify_dictionaries().combine_chunks().column(0)
        table = table.drop_columns([name])
        out[name] = column.to_pandas()
        del column
    return pd.DataFrame(out)


def _csv_problem(path: Path) -> str | None:
    """What Python's csv module finds wrong first (a line with the wrong number of fields, or
    bytes that are not UTF-8), naming the line; None if it finds nothing."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            width = len(next(reader, []))
            for row in reader:
                if len(row) != width:
                    return f"line {reader.line_num} has {len(row)} fields, the header has {width}"
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    except csv.Error as exc:
        return str(exc)
    return None


def read_votes(path: Path, *, known_systems: set[str] | None = None) -> pd.DataFrame:
    """Read and validate a votes CSV; returns a DataFrame with typed columns and `line`.

    Every row is checked, column by column over the whole file at once (each distinct
    slot_systems value once); the error names the first line at fault, as a row-by-row reader
    would, and what is wrong with it. Text columns come back as pandas categoricals of their
    exact strings ("007" stays "007"): a votes file repeats a few thousand distinct values,
    so 1,000,000 rows take tens of MB instead of a GB of Python strings, and every
    comparison, grouping and factorization works on integer codes."""
    path = Path(path)
    if not path.is_file():
        raise VotesError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])  # bad bytes further on are the reader's to name
    missing = [c for c in COLUMNS if c not in header and c not in OPTIONAL]
    if missing:
        raise VotesError(f"{path}: missing columns: {', '.join(missing)}")
    frame = _read_text_columns(path, tuple(c for c in COLUMNS if c in header))
    for name in OPTIONAL:
        if name not in frame:
            frame[name] = pd.Categorical([""] * len(frame))
    frame["design"] = _distinct_map(frame["design"], lambda v: v.strip() or "best_of").astype(
        "category"
    )
    frame["line"] = np.arange(2, len(frame) + 2)
    problems = _row_problems(frame, known_systems)
    if problems:
        line, message = min(problems)
        raise VotesError(f"{path}:{line}: {message}")
    return frame[[*COLUMNS, "n_slots", "line"]]


def _row_problems(frame: pd.DataFrame, known_systems) -> list[tuple[int, str]]:
    """(line, message) of the first problem of each kind; converts the typed columns of
    `frame` in place. Checks run in the order a row is read, so among problems on one line the
    first in that order is the one reported."""
    problems: list[tuple[int, str]] = []

    def first(mask: pd.Series, message) -> bool:
        """Record the first line where mask holds; True when mask holds anywhere."""
        hits = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(hits):
            row = frame.iloc[hits[0]]
            problems.append((int(row["line"]), message(row)))
        return bool(len(hits))

    design_ok = _distinct_map(frame["design"], lambda v: v in DESIGNS).astype(bool)
    if first(
        ~design_ok,
        lambda r: f"design {r['design']!r} is not one of {', '.join(DESIGNS)}",
    ):
        return problems
    designs = frame["design"].astype(str)
    if first(
        designs != designs.iloc[0],
        lambda r: (
            f"design {r['design']!r} differs from the file's first row "
            f"({designs.iloc[0]!r}); one file holds one study design"
        ),
    ):
        return problems
    design = designs.iloc[0] if len(frame) else "best_of"
    rated = design in RATED
    slot_codes, slot_values = pd.factorize(frame["slot_systems"], use_na_sentinel=False)
    least = 1 if rated else 2
    distinct = {}
    for value in slot_values:
        slots = [s for s in value.split("|") if s]
        distinct[value] = slots if len(slots) >= least and len(set(slots)) == len(slots) else None
    per_value = [distinct[v] for v in slot_values]
    bad_slots = pd.Series(np.array([s is None for s in per_value])[slot_codes], index=frame.index)
    first(
        bad_slots,
        lambda r: (
            f"slot_systems {r['slot_systems']!r} must list {least} or more distinct systems "
            "separated by '|'"
        ),
    )
    n_slots = pd.Series(
        np.array([len(s) if s else 0 for s in per_value], dtype=np.int64)[slot_codes],
        index=frame.index,
    )
    rt = _distinct_map(
        frame["rt_ms"], lambda v: pd.to_numeric(v.strip() or "0", errors="coerce")
    ).astype(float)
    # A pairwise "no preference": no chosen slot and no chosen system.
    tie = _distinct_map(frame["chosen_slot"], lambda v: v.strip() == "").astype(bool)
    tie &= design == "pairwise"
    numbers_ok = (
        (_distinct_map(frame["chosen_slot"], _is_integer).astype(bool) | tie)
        & _distinct_map(frame["trial_index"], _is_integer).astype(bool)
        & np.isfinite(rt)
    )
    first(
        ~bad_slots & ~numbers_ok,
        lambda r: "chosen_slot, trial_index and rt_ms must be numbers",
    )
    ok = ~bad_slots & numbers_ok
    tie_named = ok & tie & (frame["chosen_system"].astype(str).str.strip() != "")
    first(tie_named, lambda r: "an empty chosen_slot (no preference) needs an empty chosen_system")
    ok &= ~tie_named
    chosen = _distinct_map(frame["chosen_slot"], lambda v: int(v) if _is_integer(v) else 0)
    chosen = chosen.where(ok & ~tie, 0).astype(np.int64)
    out_of_range = ok & ~tie & ((chosen < 0) | (chosen >= n_slots))
    first(
        out_of_range,
        lambda r: (
            f"chosen_slot {int(r['chosen_slot'])} is out of range for "
            f"{len(distinct[r['slot_systems']])} slots"
        ),
    )
    ok &= ~out_of_range
    score = _distinct_map(
        frame["score"], lambda v: pd.to_numeric(v.strip(), errors="coerce") if v.strip() else None
    )
    has_score = score.notna()
    if rated:
        low, high = (1, 5) if design == "rating" else (0, 100)
        value = score.astype(float)
        bad_score = ok & (~has_score | ~((value >= low) & (value <= high)))
        first(
            bad_score,
            lambda r: f"score {r['score']!r} must be a number from {low} to {high} ({design})",
        )
    else:
        bad_score = ok & has_score
        first(bad_score, lambda r: f"score {r['score']!r} must be empty for {design} votes")
    ok &= ~bad_score
    # The system in the chosen slot, from a (distinct slot_systems x slot) table.
    width = max((len(s) for s in per_value if s), default=1)
    table = np.full((len(slot_values), width), "", dtype=object)
    for k, slots in enumerate(per_value):
        if slots:
            table[k, : len(slots)] = slots
    picked = np.where(ok.to_numpy(), chosen.to_numpy(), 0)
    expected_system = pd.Series(
        np.where(ok.to_numpy(), table[slot_codes, picked], ""), index=frame.index
    )
    mismatch = ok & ~tie & (frame["chosen_system"].astype(object).to_numpy() != expected_system)
    first(
        mismatch,
        lambda r: (
            f"chosen_system {r['chosen_system']!r} is not the system in slot "
            f"{int(r['chosen_slot'])} ({distinct[r['slot_systems']][int(r['chosen_slot'])]!r})"
        ),
    )
    ok &= ~mismatch
    is_check = _bools(frame["is_check"])
    bad_check = ok & is_check.isna()
    first(bad_check, lambda r: f"is_check must be true/false, got {r['is_check']!r}")
    ok &= ~bad_check
    is_check = is_check.fillna(False).astype(bool)
    if known_systems is not None:
        unknown_of = {v: sorted(set(s) - known_systems) for v, s in distinct.items() if s}
        unknown = (
            ok & ~is_check & _distinct_map(frame["slot_systems"], lambda v: bool(unknown_of.get(v)))
        )
        first(unknown, lambda r: f"unknown systems {', '.join(unknown_of[r['slot_systems']])}")
        ok &= ~unknown
    checks = ok & is_check
    pair = (
        frame["slot_systems"][checks].astype(str)
        + "\n"
        + frame["check_expected_system"][checks].astype(str)
    )
    in_trial = _distinct_map(pair, lambda v: v.split("\n")[1] in (distinct[v.split("\n")[0]] or ()))
    bad_expected = checks & ~in_trial.reindex(frame.index, fill_value=True).astype(bool)
    first(
        bad_expected,
        lambda r: f"check_expected_system {r['check_expected_system']!r} is not in the trial",
    )
    ok &= ~bad_expected
    key = ["session", "trial", "criterion"] + (["chosen_slot"] if rated else [])
    duplicate = ok & frame.duplicated(key, keep="first")

    def duplicate_of(row) -> str:
        same = (frame[key] == row[key]).all(axis=1)
        line = int(frame["line"][same].iloc[0])
        what = "trial, criterion and rated version" if rated else "trial and criterion"
        return f"duplicate of line {line} (same session, {what})"

    first(duplicate, duplicate_of)
    ok &= ~duplicate
    played = _bools(frame["played_all"])
    first(ok & played.isna(), lambda r: f"played_all must be true/false, got {r['played_all']!r}")
    if not problems:
        frame["chosen_slot"] = chosen.where(~tie, TIE)
        frame["score"] = score.astype(float)
        frame["trial_index"] = _distinct_map(frame["trial_index"], int).astype(np.int64)
        frame["rt_ms"] = np.trunc(rt).astype(np.int64)
        frame["is_check"] = is_check
        frame["played_all"] = played.astype(bool)
        frame["n_slots"] = n_slots.astype(np.int64)
    return problems


def write_votes(path: Path, frame: pd.DataFrame) -> Path:
    from foley_models.data.dataset import atomic_write_bytes

    frame = frame.reindex(columns=list(COLUMNS), fill_value="")
    if pd.api.types.is_integer_dtype(frame["chosen_slot"]) and (frame["chosen_slot"] == TIE).any():
        frame = frame.assign(
            chosen_slot=frame["chosen_slot"].astype(object).where(frame["chosen_slot"] != TIE, "")
        )
    data = frame.to_csv(index=False, lineterminator="\n")
    return atomic_write_bytes(Path(path), data.encode())


def votes_from_rows(rows: list[dict]) -> pd.DataFrame:
    """Rows of the votes CSV (selectors.study_vote_rows) as read_votes returns them: through a
    temporary CSV, so a study's own votes get exactly the checks and types an exported file does."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = write_votes(Path(tmp) / "votes.csv", pd.DataFrame(rows, columns=list(COLUMNS)))
        return read_votes(path)
