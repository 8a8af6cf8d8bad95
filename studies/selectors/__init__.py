"""Every read the platform makes, split by sub-domain: sessions and their trials, answers (votes,
progress, the dashboard), stimuli (launch checks, generation jobs). Views, admin, commands and
services call these; `from studies import selectors; selectors.X` finds every one."""

from studies.selectors.answers import (
    DashboardData,
    StudyProgress,
    study_dashboard_data,
    study_info,
    study_progress,
    study_vote_rows,
    valid_regular_votes,
)
from studies.selectors.sessions import (
    open_study_by_slug,
    screening_item_of,
    session_by_slug_and_token,
    session_by_token,
    session_estimated_minutes,
    session_of,
    session_trial,
    study_closed_message,
    study_missing_trials,
    study_session_rows,
    trial_slot_of,
    trial_slots,
)
from studies.selectors.stimuli import (
    DURATION_TOLERANCE_S,
    VERSION_DURATION_TOLERANCE_S,
    generation_job_parts,
    study_launch_warnings,
    study_problems,
)

__all__ = [
    "DURATION_TOLERANCE_S",
    "VERSION_DURATION_TOLERANCE_S",
    "DashboardData",
    "StudyProgress",
    "generation_job_parts",
    "open_study_by_slug",
    "screening_item_of",
    "session_by_slug_and_token",
    "session_by_token",
    "session_estimated_minutes",
    "session_of",
    "session_trial",
    "study_closed_message",
    "study_dashboard_data",
    "study_info",
    "study_launch_warnings",
    "study_missing_trials",
    "study_problems",
    "study_progress",
    "study_session_rows",
    "study_vote_rows",
    "trial_slot_of",
    "trial_slots",
    "valid_regular_votes",
]
