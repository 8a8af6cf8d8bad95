"""What every design's analysis does first: quality control, the systems and criteria in the
study's order, and one two-way (participant x item, items within category) bootstrap draw
that serves every criterion, scope and statistic of the analysis."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studies.analysis.bootstrap import Replicates, codes, draw_replicates
from studies.analysis.estimates import label_codes
from studies.analysis.qc import QCSettings, apply_qc
from studies.analysis.study_info import StudyInfo

CRITERIA_ORDER = ("correctness", "noise", "synchronization", "overall")


@dataclass
class Prepared:
    kept: pd.DataFrame  # regular votes kept by QC, plain columns (strings, ints, floats)
    exclusions: dict
    systems: list[str]  # every system the regular trials show, in the study's order
    names: dict[str, str]
    criteria: list[str]
    categories: list[str]
    reps: Replicates
    part: np.ndarray  # per kept row: participant code into reps
    item: np.ndarray  # per kept row: item code into reps
    slots: list[list[str]]  # per kept row: the systems in slot order
    participants_before_qc: int


def design_of_votes(votes: pd.DataFrame) -> str:
    return str(votes["design"].iloc[0]) if "design" in votes and len(votes) else "best_of"


def prepare(
    votes: pd.DataFrame, *, qc: QCSettings, info: StudyInfo | None, b: int, seed: int
) -> Prepared:
    regular = votes[~votes["is_check"]]
    if regular.empty:
        raise ValueError("there are no votes to analyse (no regular trials answered yet)")
    seen: list[str] = []
    for value in pd.unique(regular["slot_systems"].astype(str)):
        seen += [s for s in value.split("|") if s not in seen]
    systems = seen
    if info is not None:
        unknown = sorted(set(seen) - set(info.systems))
        if unknown:
            raise ValueError(
                f"the votes show systems {', '.join(unknown)} that the study file of "
                f"{info.slug!r} does not list ({', '.join(info.systems)})"
            )
        systems = [k for k in info.systems if k in seen]
    kept, exclusions = apply_qc(votes, qc)
    if kept.empty:
        raise ValueError("quality control excluded every vote; see the exclusion counts")
    kept = pd.DataFrame(
        {
            "participant": kept["participant"].astype(str).to_numpy(),
            "session": kept["session"].astype(str).to_numpy(),
            "trial": kept["trial"].astype(str).to_numpy(),
            "item": kept["item"].astype(str).to_numpy(),
            "category": kept["category"].astype(str).to_numpy(),
            "criterion": kept["criterion"].astype(str).to_numpy(),
            "slot_systems": kept["slot_systems"].astype(str).to_numpy(),
            "chosen_slot": kept["chosen_slot"].to_numpy(),
            "chosen_system": kept["chosen_system"].astype(str).to_numpy(),
            "score": kept["score"].to_numpy(dtype=float),
        }
    )
    present = set(kept["criterion"])
    order = list(info.criteria) if info is not None else []
    order += [c for c in CRITERIA_ORDER if c not in order]
    criteria = [c for c in order if c in present] + sorted(present - set(order))
    categories = sorted(set(kept["category"]))
    part, _ = codes(kept["participant"])
    item, _ = codes(kept["item"])
    category = label_codes(kept["category"], categories)
    stratum = np.zeros(int(item.max()) + 1, dtype=np.int64)
    stratum[item] = category
    reps = draw_replicates(int(part.max()) + 1, len(stratum), b=b, seed=seed, item_stratum=stratum)
    return Prepared(
        kept=kept,
        exclusions=exclusions,
        systems=systems,
        names={k: (info.systems[k] if info is not None else k) for k in systems},
        criteria=criteria,
        categories=categories,
        reps=reps,
        part=part,
        item=item,
        slots=[v.split("|") for v in kept["slot_systems"]],
        participants_before_qc=int(regular["participant"].nunique()),
    )


def scopes(prep: Prepared, criterion: str):
    """(scope, boolean mask over kept rows): "all", then each category."""
    on = prep.kept["criterion"].to_numpy() == criterion
    yield "all", on
    for category in prep.categories:
        yield category, on & (prep.kept["category"].to_numpy() == category)


def settings_of(b: int, seed: int, level: float, qc: QCSettings) -> dict:
    return {
        "bootstrap": "two-way cluster (participants x items, items within category), "
        "percentile; one draw of B resamples shared by every criterion and scope",
        "B": b,
        "seed": seed,
        "level": level,
        "qc": qc.as_dict(),
    }


def checklist_of(prep: Prepared) -> dict:
    kept = prep.kept
    first = kept[kept["criterion"] == prep.criteria[0]]
    per_trial = first.drop_duplicates(["session", "trial"])
    per_item = per_trial.groupby("item").size()
    per_participant = per_trial.groupby("participant").size()
    return {
        "participants": int(kept["participant"].nunique()),
        "participants_before_qc": prep.participants_before_qc,
        "items": int(kept["item"].nunique()),
        "trials_per_item": {
            "min": int(per_item.min()),
            "median": float(per_item.median()),
            "max": int(per_item.max()),
        },
        "trials_per_participant": {
            "mean": float(per_participant.mean()),
            "median": float(per_participant.median()),
            "max": int(per_participant.max()),
        },
        "votes_per_criterion": {c: int((kept["criterion"] == c).sum()) for c in prep.criteria},
        "exclusions_per_rule": {k: v["votes"] for k, v in prep.exclusions["rules"].items()},
    }
