"""A study as one readable TOML file: `create_study FILE` makes it, `export_study_config STUDY`
writes it back, and a round trip gives the same study.

    title = "Foley Music, best of four"
    slug = "fm-best-of"
    design = "best_of"               # best_of, real_or_generated, pairwise, rating, mushra
    instructions = "..."             # optional: the design's own text by default
    consent_text = "..."

    [session]                        # trials, checks, target_votes_per_item, lease_minutes,
    trials = 8                       # max_skipped_trials, allow_no_preference,
    checks = 2                       # versions_per_trial

    [player]                         # kind: separate (a video per version) or switch
    kind = "switch"                  # (one video, soundtracks switched); heard_fraction

    [latency]                        # the latency check in screening: enabled,
    enabled = true                   # max_delay_ms, screen_out, compensate
    max_delay_ms = 150

    [qc]                             # max_failed_checks, min_trial_seconds,
    min_trial_seconds = 2.0          # max_same_slot_share, require_played_all,
                                     # min_heard_fraction, max_hidden_seconds

    [screening]                      # enabled, headphone_trials, headphone_min_correct
    enabled = true

    [recruitment]                    # accept_local_arrivals, completion_code, screenout_code,
    accept_local_arrivals = false    # screenout_reward_cents, bonus_cents

    [[criteria]]                     # optional: the design's own questions by default
    key = "overall"
    question = "Overall, which video's music do you prefer?"

    [[systems]]
    key = "foley_music"
    name = "Foley Music"
    role = "generated"               # generated, reference, anchor
    checkpoint = "var/models/fm/best.pt"   # optional: registered when the study is made
    sampling = { greedy = false, top_p = 0.9 }

    [items]                          # optional: where the items come from, one of
    dataset = "var/datasets/synth"   #   windows of a dataset (split, per_category,
    split = "test"                   #   duration_s, categories), or
    # clips = "path/to/folder"       #   an import_clips folder or manifest (category)

Every problem is a StudyFileError naming the file, the line and the key; nothing is written
until the whole file has been checked. Paths are relative to the file.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from studies.models import Design, Study, SystemRole

# section -> {file key: (Study field, type)}
SECTIONS: dict[str, dict[str, tuple[str, type]]] = {
    "": {
        "title": ("title", str),
        "slug": ("slug", str),
        "design": ("design", str),
        "instructions": ("instructions", str),
        "consent_text": ("consent_text", str),
    },
    "session": {
        "trials": ("trials_per_session", int),
        "checks": ("check_trials_per_session", int),
        "target_votes_per_item": ("target_votes_per_item", int),
        "lease_minutes": ("lease_minutes", int),
        "max_skipped_trials": ("max_skipped_trials", int),
        "allow_no_preference": ("allow_no_preference", bool),
        "versions_per_trial": ("versions_per_trial", int),
    },
    "player": {
        "kind": ("player", str),
        "heard_fraction": ("switch_heard_fraction", float),
    },
    "latency": {
        "enabled": ("latency_check", bool),
        "max_delay_ms": ("max_av_delay_ms", int),
        "screen_out": ("latency_screen_out", bool),
        "compensate": ("latency_compensate", bool),
    },
    "qc": {
        "max_failed_checks": ("qc_max_failed_checks", int),
        "min_trial_seconds": ("qc_min_trial_seconds", float),
        "max_same_slot_share": ("qc_max_same_slot_share", float),
        "require_played_all": ("qc_require_played_all", bool),
        "min_heard_fraction": ("qc_min_heard_fraction", float),
        "max_hidden_seconds": ("qc_max_hidden_seconds", float),
    },
    "screening": {
        "enabled": ("screening", bool),
        "headphone_trials": ("headphone_trials", int),
        "headphone_min_correct": ("headphone_min_correct", int),
    },
    "recruitment": {
        "accept_local_arrivals": ("accept_local_arrivals", bool),
        "completion_code": ("completion_code", str),
        "screenout_code": ("screenout_code", str),
        "screenout_reward_cents": ("screenout_reward_cents", int),
        "bonus_cents": ("bonus_cents", int),
    },
}
CRITERION_KEYS = {"key": str, "question": str}
SYSTEM_KEYS = {
    "key": str, "name": str, "role": str, "description": str, "checkpoint": str, "sampling": dict,
}  # fmt: skip
ITEM_KEYS = {
    "dataset": str, "split": str, "per_category": int, "duration_s": float, "categories": list,
    "clips": str, "category": str,
}  # fmt: skip
REQUIRED = ("title", "slug")


class StudyFileError(ValueError):
    """A study file that cannot make a study; the message names the file, line and key."""


@dataclass
class StudySpec:
    fields: dict  # Study field -> value
    criteria: list[tuple[str, str]]
    systems: list[dict]
    items: dict = field(default_factory=dict)
    base: Path = Path(".")


def _lines(text: str) -> dict[tuple[str, int, str], int]:
    """(table, index, key) -> line number of `key =` in that table ([[array]] tables counted
    from 0; plain tables index 0; the top level is table "")."""
    where: dict[tuple[str, int, str], int] = {}
    table, counts, index = "", {}, 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[["):
            table = line.strip("[] ")
            index = counts.get(table, -1) + 1
            counts[table] = index
            where[(table, index, "")] = number
        elif line.startswith("["):
            table, index = line.strip("[] "), 0
            where[(table, 0, "")] = number
        elif "=" in line and not line.startswith("#"):
            key = line.split("=", 1)[0].strip().strip('"')
            where.setdefault((table, index, key), number)
    return where


class _Reader:
    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, _lines(text)

    def fail(self, table: str, index: int, key: str, message: str):
        line = self.lines.get((table, index, key)) or self.lines.get((table, index, "")) or 1
        where = f"[{table}]" if table else "the top level"
        if table in ("criteria", "systems"):
            where = f"[[{table}]] #{index + 1}"
        label = f"'{key}' in {where}" if key else where
        raise StudyFileError(f"{self.path}:{line}: {label}: {message}")

    def check(self, table: str, index: int, data: dict, schema: dict) -> None:
        for key, value in data.items():
            if key not in schema:
                known = ", ".join(sorted(schema))
                self.fail(table, index, key, f"unknown key (known: {known})")
            expected = schema[key]
            if isinstance(expected, tuple):  # SECTIONS: (Study field, type)
                expected = expected[1]
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            if not ok:
                got = type(value).__name__
                self.fail(table, index, key, f"must be {expected.__name__}, not {got}")


def parse_study_file(
    path: Path, text: str | None = None, *, slug: str | None = None, check_slug_free: bool = True
) -> StudySpec:
    """The checked study file; slug replaces the file's (checked the same way).
    check_slug_free: also refuse a slug that a study has already."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StudyFileError(f"{path}: cannot be read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(f"{path}: not valid TOML: {exc}") from None
    reader = _Reader(path, text)
    top = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict | list)}
    reader.check("", 0, top, SECTIONS[""])
    fields = {SECTIONS[""][k][0]: v for k, v in top.items()}
    if slug:
        top["slug"] = fields["slug"] = slug
    for key in REQUIRED:
        if key not in top:
            reader.fail("", 0, "", f"'{key}' is required")
    for name, value in tables.items():
        if name in ("criteria", "systems"):
            if not isinstance(value, list):
                reader.fail(name, 0, "", f"write [[{name}]], one table per entry")
            continue
        if name == "items":
            reader.check("items", 0, value, ITEM_KEYS)
            continue
        if name not in SECTIONS:
            known = ", ".join(sorted([*(s for s in SECTIONS if s), "criteria", "systems", "items"]))
            reader.fail(name, 0, "", f"unknown table (known: {known})")
        reader.check(name, 0, value, SECTIONS[name])
        fields.update({SECTIONS[name][k][0]: v for k, v in value.items()})
    if fields.get("design", "best_of") not in Design.values:
        reader.fail("", 0, "design", f"must be one of {', '.join(Design.values)}")
    criteria = []
    for n, c in enumerate(tables.get("criteria", [])):
        reader.check("criteria", n, c, CRITERION_KEYS)
        for key in ("key", "question"):
            if key not in c:
                reader.fail("criteria", n, "", f"'{key}' is required")
        if c["key"] in [k for k, _ in criteria]:
            reader.fail("criteria", n, "key", f"{c['key']!r} is given twice")
        criteria.append((c["key"], c["question"]))
    systems = []
    for n, s in enumerate(tables.get("systems", [])):
        reader.check("systems", n, s, SYSTEM_KEYS)
        for key in ("key", "name"):
            if key not in s:
                reader.fail("systems", n, "", f"'{key}' is required")
        if s.get("role", "generated") not in SystemRole.values:
            reader.fail("systems", n, "role", f"must be one of {', '.join(SystemRole.values)}")
        if s["key"] in [t["key"] for t in systems]:
            reader.fail("systems", n, "key", f"{s['key']!r} is given twice")
        if "checkpoint" in s and not (path.parent / s["checkpoint"]).is_file():
            reader.fail("systems", n, "checkpoint", f"no such file {s['checkpoint']!r}")
        systems.append({"index": n, **s})
    items = tables.get("items", {})
    if items:
        sources = [k for k in ("dataset", "clips") if k in items]
        if len(sources) != 1:
            reader.fail("items", 0, "", "give exactly one of 'dataset' and 'clips'")
        if not (path.parent / items[sources[0]]).exists():
            reader.fail("items", 0, sources[0], f"no such folder or file {items[sources[0]]!r}")
    spec = StudySpec(fields, criteria, systems, items, base=path.parent)
    _validate_model(reader, spec, check_slug_free)
    return spec


def _validate_model(reader: _Reader, spec: StudySpec, check_slug_free: bool) -> None:
    """The model's own rules (ranges, slug format, key format), named by the file's key."""
    from studies.models import System

    by_field = {f: (t, k) for t, keys in SECTIONS.items() for k, (f, _) in keys.items()}
    study = Study(**spec.fields)
    try:
        study.full_clean(validate_unique=False)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        table, key = by_field.get(name, ("", name))
        reader.fail(table, 0, key, " ".join(messages))
    if check_slug_free and Study.objects.filter(slug=study.slug).exists():
        reader.fail("", 0, "slug", f"a study with slug {study.slug!r} exists already")
    for s in spec.systems:
        system = System(key=s["key"], name=s["name"], role=s.get("role", "generated"))
        try:
            system.full_clean(exclude=["study", "checkpoint"])
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            reader.fail("systems", s["index"], name, " ".join(messages))


@transaction.atomic
def study_from_spec(spec: StudySpec) -> Study:
    """The study, its questions and its systems (checkpoints registered), in one transaction.
    The items source is not imported here (see study_items_import)."""
    from studies import services
    from studies.stimuli.checkpoints import checkpoint_register

    fields = dict(spec.fields)
    title, slug_ = fields.pop("title"), fields.pop("slug")
    study = services.study_create(
        title=title,
        slug=slug_,
        systems=[(s["key"], s["name"], s.get("role", "generated")) for s in spec.systems],
        default_criteria=not spec.criteria,
        **fields,
    )
    for order, (key, question) in enumerate(spec.criteria):
        study.criteria.create(key=key, question=question, order=order)
    for s in spec.systems:
        system = study.systems.get(key=s["key"])
        system.description = s.get("description", "")
        system.sampling = s.get("sampling", {})
        if "checkpoint" in s:
            system.checkpoint = checkpoint_register(path=(spec.base / s["checkpoint"]).resolve())
        system.save()
    return study


def study_items_import(spec: StudySpec, study: Study) -> str:
    """Bring in the file's items (dataset windows or an import_clips folder); a summary."""
    items = spec.items
    if not items:
        return "no [items] in the file"
    if "dataset" in items:
        from studies.stimuli.items import items_import

        made = items_import(
            study=study,
            data_dir=spec.base / items["dataset"],
            split=items.get("split", "test"),
            per_category=items.get("per_category", 4),
            duration_s=items.get("duration_s", 6.0),
            categories=tuple(items.get("categories", ())) or None,
        )
        return f"{len(made)} items from {items['dataset']}"
    from studies.stimuli import clip_import

    plan = clip_import.plan(
        study=study, source=spec.base / items["clips"], category=items.get("category", "")
    )
    outcome = clip_import.run(plan)
    problems = "; ".join(plan.problems + outcome.failed)
    return f"{outcome.imported} clips imported from {items['clips']}" + (
        f"; problems: {problems}" if problems else ""
    )


# --- writing ---------------------------------------------------------------------------------


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if "\n" in value:
            return '"""\n' + value.replace("\\", "\\\\").replace('"""', '\\"""') + '"""'
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def study_config_toml(study: Study) -> str:
    """The study as a study file (without its items, which are data, not set-up)."""
    out = [f"# Study file of {study.slug!r}: manage.py create_study FILE makes this study.", ""]
    for key, (name, _) in SECTIONS[""].items():
        out.append(f"{key} = {_toml(getattr(study, name))}")
    for table, keys in SECTIONS.items():
        if not table:
            continue
        out += ["", f"[{table}]"]
        out += [f"{key} = {_toml(getattr(study, name))}" for key, (name, _) in keys.items()]
    for c in study.criteria.all():
        out += ["", "[[criteria]]", f"key = {_toml(c.key)}", f"question = {_toml(c.question)}"]
    for s in study.systems.select_related("checkpoint").order_by("id"):
        out += ["", "[[systems]]", f"key = {_toml(s.key)}", f"name = {_toml(s.name)}"]
        out.append(f"role = {_toml(s.role)}")
        if s.description:
            out.append(f"description = {_toml(s.description)}")
        if s.checkpoint_id:
            out.append(f"checkpoint = {_toml(s.checkpoint.path)}")
        if s.sampling:
            out.append(f"sampling = {_toml(s.sampling)}")
    n = study.items.count()
    out += ["", f"# The study has {n} items in the database; add an [items] table to import them."]
    return "\n".join(out) + "\n"
