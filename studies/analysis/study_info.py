"""What a votes CSV does not say about its study: the systems in the study's order with their
display names, the criteria in order, the quality-control settings and the session length.

`export_votes` writes it beside the CSV (votes.csv -> votes.study.json) and `analyze --votes`
reads it from there, so analysing the export gives what `analyze STUDY` gives (the same
votes kept, the same order and names in every table).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from studies.analysis.qc import QCSettings

VERSION = 1


@dataclass(frozen=True)
class StudyInfo:
    slug: str
    systems: dict[str, str]  # key -> display name, in the study's order
    criteria: tuple[str, ...]  # keys, in the study's order
    qc: QCSettings
    trials_per_session: int  # regular trials (check trials come on top)
    check_trials_per_session: int = 0
    # Each system's role (generated, reference, anchor); a key missing is generated.
    roles: dict[str, str] = field(default_factory=dict)
    design: str = "best_of"

    def role(self, key: str) -> str:
        return self.roles.get(key, "generated")

    def as_dict(self) -> dict:
        return {
            "version": VERSION,
            "study": self.slug,
            "design": self.design,
            "systems": [
                {"key": k, "name": v, "role": self.role(k)} for k, v in self.systems.items()
            ],
            "criteria": list(self.criteria),
            "qc": self.qc.as_dict(),
            "trials_per_session": self.trials_per_session,
            "check_trials_per_session": self.check_trials_per_session,
        }


def sidecar_path(votes_csv: Path) -> Path:
    """Where export_votes puts the study file of a votes CSV: votes.csv -> votes.study.json."""
    votes_csv = Path(votes_csv)
    return votes_csv.with_name(f"{votes_csv.stem}.study.json")


def write_study_info(path: Path, info: StudyInfo) -> Path:
    from foley_models.data.dataset import atomic_write_bytes

    return atomic_write_bytes(Path(path), json.dumps(info.as_dict(), indent=2).encode() + b"\n")


def read_study_info(path: Path) -> StudyInfo:
    """The study file at path; ValueError naming the file and what is wrong with it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON study file: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"{path}: not a study file of version {VERSION}")
    try:
        systems = {str(s["key"]): str(s["name"]) for s in data["systems"]}
        qc = data["qc"]
        info = StudyInfo(
            slug=str(data["study"]),
            systems=systems,
            criteria=tuple(str(c) for c in data["criteria"]),
            qc=QCSettings(
                max_failed_checks=int(qc["max_failed_checks"]),
                min_trial_seconds=float(qc["min_trial_seconds"]),
                max_same_slot_share=float(qc["max_same_slot_share"]),
                require_played_all=bool(qc["require_played_all"]),
                min_heard_fraction=float(qc.get("min_heard_fraction", 0.0)),
                max_hidden_seconds=float(qc.get("max_hidden_seconds", 0.0)),
                max_av_delay_ms=float(qc.get("max_av_delay_ms", 0.0)),
            ),
            trials_per_session=int(data["trials_per_session"]),
            check_trials_per_session=int(data.get("check_trials_per_session", 0)),
            roles={str(s["key"]): str(s.get("role", "generated")) for s in data["systems"]},
            design=str(data.get("design", "best_of")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: missing or malformed field {exc}") from None
    if len(info.systems) < 2:
        raise ValueError(f"{path}: a study file lists at least 2 systems")
    return info
