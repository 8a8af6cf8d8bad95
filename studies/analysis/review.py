"""Review decisions per session in two tiers, from the study's settings (a pure function over
the votes CSV of docs/reference/votes-csv.md and one row per session).

- reject: only a session that failed at least two check trials (Prolific's rule: a participant
  must fail two fair attention checks before rejection). Everything else completed is approved.
- pay: the participant worked: completed, played every clip of every answered trial to the end,
  and was not rejected. Bonuses go to this tier only.
- use: the session's votes enter the analysis: not rejected, and not excluded as a whole by the
  study's quality-control rules (more failed checks than allowed, one slot chosen throughout).
Sessions that did not complete get no decision ("wait"): returning or timing out is between the
participant and the platform.
"""

import pandas as pd

from studies.analysis.qc import QCSettings, apply_qc, check_failures

REJECT_AFTER_FAILED_CHECKS = 2
REJECTION_MESSAGE = (
    "Thank you for taking part. We could not accept this submission because {n} of the attention "
    "checks were answered incorrectly: in those trials the question asked for the version that "
    "was clearly cleaner or in time with the video, and another version was chosen."
)


def review_decisions(
    votes: pd.DataFrame, sessions: pd.DataFrame, settings: QCSettings
) -> pd.DataFrame:
    """One row per session of `sessions` (columns: session, participant, completed) with
    decision (approve / reject / wait), pay, use, failed_checks, message and reasons."""
    failures = check_failures(votes) if len(votes) else pd.Series(dtype=int)
    kept, _ = apply_qc(votes, settings) if len(votes) else (votes, {})
    used = set(kept["session"]) if len(kept) else set()
    regular = votes[~votes["is_check"]] if len(votes) else votes
    answered = set(votes["session"]) if len(votes) else set()
    unplayed = set(votes.loc[~votes["played_all"], "session"]) if len(votes) else set()
    rows = []
    for s in sessions.itertuples(index=False):
        failed = int(failures.get(s.session, 0))
        reasons = []
        if not s.completed:
            decision, pay, use = "wait", False, False
            reasons.append("not completed")
        elif failed >= REJECT_AFTER_FAILED_CHECKS:
            decision, pay, use = "reject", False, False
            reasons.append(f"failed {failed} checks")
        else:
            decision = "approve"
            pay = s.session in answered and s.session not in unplayed
            if not pay:
                reasons.append("did not play every clip to the end")
            use = s.session in used
            if not use:
                reasons.append("votes excluded by quality control")
        rows.append(
            {
                "session": s.session,
                "participant": s.participant,
                "decision": decision,
                "pay": pay,
                "use": use,
                "failed_checks": failed,
                "regular_votes": int((regular["session"] == s.session).sum()) if len(votes) else 0,
                "message": REJECTION_MESSAGE.format(n=failed) if decision == "reject" else "",
                "reasons": "; ".join(reasons),
            }
        )
    return pd.DataFrame(rows)
