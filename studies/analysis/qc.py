"""Quality control before estimates, rule by rule. Check trials never enter the estimates.

Rules (thresholds are study settings):
- failed_checks: a session that failed more check trials than `max_failed_checks` is excluded
  (a check fails when its criterion's answer is not the expected slot; in the rating designs,
  when the expected version is not scored above every other version of the check);
- not_played: a trial whose clips were not all played to the end (if `require_played_all`);
- same_slot: a session choosing one slot for more than `max_same_slot_share` of its answers
  (with at least 8 answers) is excluded; in the rating designs, a session giving one score for
  more than that share of its ratings (straight-lining);
- too_fast: a trial answered faster than `min_trial_seconds` after its clips ended;
- not_heard: a trial where some version was audible for less than `min_heard_fraction` of its
  duration (playback telemetry; 0 = off);
- tab_hidden: a trial whose page was hidden for more than `max_hidden_seconds` (0 = off);
- av_delay: the synchronization votes of a rater whose measured audio delay (the latency
  check) is above `max_av_delay_ms` (0 = off); their other criteria are kept.
The telemetry rules apply to rows that carry the measure (older exports have none) and are
reported only when switched on.
A vote is kept only if no rule excludes it; each rule's count is reported on its own (a vote can
be caught by several rules).
"""

from dataclasses import asdict, dataclass

import pandas as pd

MIN_ANSWERS_FOR_SAME_SLOT = 8


@dataclass(frozen=True)
class QCSettings:
    max_failed_checks: int = 1
    min_trial_seconds: float = 2.0  # the study default: four answers take longer than that
    max_same_slot_share: float = 1.0
    require_played_all: bool = True
    min_heard_fraction: float = 0.0
    max_hidden_seconds: float = 0.0
    max_av_delay_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


# A check trial tests one criterion: its expected slot is labelled "<kind>-target".
CHECKED_CRITERION = {"noise": "noise", "sync": "synchronization"}


def _rated(votes: pd.DataFrame) -> bool:
    """Whether the votes are of a rating design (one score per version), from their design
    column (a frame without one is best_of)."""
    if "design" not in votes or votes.empty:
        return False
    return str(votes["design"].iloc[0]) in ("rating", "mushra")


def check_failures(votes: pd.DataFrame) -> pd.Series:
    """Failed check trials per session, each scored only on the criterion it tests."""
    checks = votes[votes["is_check"]]
    if checks.empty:
        return pd.Series(dtype=int)
    # As plain strings: the columns may be categoricals with different categories.
    expected = checks["check_expected_system"].astype(str)
    kind = expected.str.split("-").str[0]
    scored = checks[checks["criterion"].astype(str) == kind.map(CHECKED_CRITERION)]
    if _rated(votes):
        # Rating designs: the target must be scored above every foil of its trial.
        is_target = scored["chosen_system"].astype(str) == expected[scored.index]
        keys = [scored["session"], scored["trial"]]
        score = pd.to_numeric(scored["score"], errors="coerce")
        target = score.where(is_target).groupby(keys).max()
        foil = score.where(~is_target).groupby(keys).max()
        per_trial = ~(target > foil)
    else:
        failed = scored["chosen_system"].astype(str) != expected[scored.index]
        per_trial = failed.groupby([scored["session"], scored["trial"]]).any()
    return per_trial.groupby(level=0).sum()


def _measure(votes: pd.DataFrame, column: str) -> pd.Series:
    """A telemetry column as numbers (NaN where empty or absent: no rule applies there)."""
    if column not in votes:
        return pd.Series(float("nan"), index=votes.index)
    return pd.to_numeric(votes[column].astype(str), errors="coerce")


def apply_qc(votes: pd.DataFrame, settings: QCSettings) -> tuple[pd.DataFrame, dict]:
    """(kept regular votes, report). The report counts votes and sessions per rule."""
    regular = votes[~votes["is_check"]].copy()
    rules: dict[str, pd.Series] = {}
    failures = check_failures(votes)
    bad_sessions = set(failures[failures > settings.max_failed_checks].index)
    rules["failed_checks"] = regular["session"].isin(bad_sessions)
    rules["not_played"] = (
        (~regular["played_all"])
        if settings.require_played_all
        else pd.Series(False, index=regular.index)
    )
    # Each session's share of answers in its most chosen slot (0 below the minimum answers);
    # for scores, its most given score.
    answer = "score" if _rated(votes) else "chosen_slot"
    per_slot = regular.groupby(["session", answer]).size().unstack(fill_value=0)
    answers = per_slot.sum(axis=1)
    counts = (per_slot.max(axis=1) / answers).where(answers >= MIN_ANSWERS_FOR_SAME_SLOT, 0.0)
    same = set(counts[counts > settings.max_same_slot_share].index)
    rules["same_slot"] = regular["session"].isin(same)
    rules["too_fast"] = regular["rt_ms"] < settings.min_trial_seconds * 1000
    # The telemetry rules are reported only where the study uses them.
    if settings.min_heard_fraction:
        rules["not_heard"] = _measure(regular, "heard_min_fraction") < settings.min_heard_fraction
    if settings.max_hidden_seconds:
        rules["tab_hidden"] = _measure(regular, "hidden_s") > settings.max_hidden_seconds
    if settings.max_av_delay_ms:
        rules["av_delay"] = (_measure(regular, "av_delay_ms") > settings.max_av_delay_ms) & (
            regular["criterion"].astype(str) == "synchronization"
        )
    excluded = pd.Series(False, index=regular.index)
    report = {
        "settings": settings.as_dict(),
        "rules": {},
        "votes_in": int(len(regular)),
        "check_votes": int(votes["is_check"].sum()),
    }
    for name, mask in rules.items():
        excluded |= mask
        report["rules"][name] = {
            "votes": int(mask.sum()),
            "sessions": int(regular.loc[mask, "session"].nunique()),
        }
    kept = regular[~excluded]
    report["votes_kept"] = int(len(kept))
    report["votes_excluded"] = int(excluded.sum())
    report["participants_kept"] = int(kept["participant"].nunique())
    return kept, report
