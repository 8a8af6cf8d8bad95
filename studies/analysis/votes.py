"""The votes CSV of DESIGN.md: one row per (trial, criterion). Reading it checks every row and
names the line at fault."""

import csv
from pathlib import Path

import pandas as pd

COLUMNS = (
    "study", "participant", "session", "trial", "trial_index", "item", "category", "criterion",
    "slot_systems", "chosen_slot", "chosen_system", "is_check", "check_expected_system",
    "played_all", "rt_ms", "submitted_at",
)  # fmt: skip


class VotesError(ValueError):
    """A votes file that breaks the contract; the message names the file and line."""


def _bool(value: str, where: str, column: str) -> bool:
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no", ""):
        return False
    raise VotesError(f"{where}: {column} must be true/false, got {value!r}")


def read_votes(path: Path, *, known_systems: set[str] | None = None) -> pd.DataFrame:
    """Read and validate a votes CSV; returns a DataFrame with typed columns and `line`."""
    path = Path(path)
    if not path.is_file():
        raise VotesError(f"{path}: no such file")
    rows, seen = [], {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise VotesError(f"{path}: missing columns: {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            slots = [s for s in row["slot_systems"].split("|") if s]
            if len(slots) < 2 or len(set(slots)) != len(slots):
                raise VotesError(
                    f"{where}: slot_systems {row['slot_systems']!r} must list 2 or "
                    "more distinct systems separated by '|'"
                )
            try:
                chosen_slot = int(row["chosen_slot"])
                trial_index = int(row["trial_index"])
                rt_ms = int(float(row["rt_ms"] or 0))
            except ValueError:
                raise VotesError(
                    f"{where}: chosen_slot, trial_index and rt_ms must be numbers"
                ) from None
            if not 0 <= chosen_slot < len(slots):
                raise VotesError(
                    f"{where}: chosen_slot {chosen_slot} is out of range for {len(slots)} slots"
                )
            if row["chosen_system"] != slots[chosen_slot]:
                raise VotesError(
                    f"{where}: chosen_system {row['chosen_system']!r} is not the "
                    f"system in slot {chosen_slot} ({slots[chosen_slot]!r})"
                )
            is_check_row = _bool(row["is_check"], where, "is_check")
            if known_systems is not None and not is_check_row:
                unknown = sorted(set(slots) - known_systems)
                if unknown:
                    raise VotesError(f"{where}: unknown systems {', '.join(unknown)}")
            is_check = _bool(row["is_check"], where, "is_check")
            expected = row["check_expected_system"]
            if is_check and expected not in slots:
                raise VotesError(f"{where}: check_expected_system {expected!r} is not in the trial")
            key = (row["session"], row["trial"], row["criterion"])
            if key in seen:
                raise VotesError(
                    f"{where}: duplicate of line {seen[key]} (same session, trial and criterion)"
                )
            seen[key] = line
            rows.append(
                {
                    **{c: row[c] for c in COLUMNS},
                    "chosen_slot": chosen_slot,
                    "trial_index": trial_index,
                    "rt_ms": rt_ms,
                    "is_check": is_check,
                    "played_all": _bool(row["played_all"], where, "played_all"),
                    "n_slots": len(slots),
                    "line": line,
                }
            )
    return pd.DataFrame(rows, columns=[*COLUMNS, "n_slots", "line"])


def write_votes(path: Path, frame: pd.DataFrame) -> Path:
    from foley_models.data.dataset import atomic_write_bytes

    data = frame.loc[:, list(COLUMNS)].to_csv(index=False, lineterminator="\n")
    return atomic_write_bytes(Path(path), data.encode())
