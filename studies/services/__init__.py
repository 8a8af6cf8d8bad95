"""Every write the platform makes, split by sub-domain: studies, sessions, answers, playback,
screening, stimuli. Views, admin actions and commands call these and hold no logic;
`from studies import services; services.X` finds every one.

Each participant request is one transaction: an answer is stored whole or not at all, and a
repeated submit returns what was stored the first time.
"""

from studies.services.answers import AnswerResult, trial_answer
from studies.services.playback import (
    SKIP_AFTER_FAILURES,
    PlaybackState,
    playback_record,
    playback_state,
    trial_skip,
)
from studies.services.screening import (
    MIN_SCREEN,
    SCREENED_OUT_MESSAGE,
    ScreeningResult,
    screening_device_submit,
    screening_latency_record,
    screening_playback_record,
    screening_submit,
)
from studies.services.sessions import (
    session_abandon,
    session_consent,
    session_current_trial,
    session_start,
    sessions_set_use,
    simulated_sessions_delete,
)
from studies.services.stimuli import generation_job_create
from studies.services.studies import (
    criteria_add_defaults,
    study_create,
    study_launch,
    study_set_status,
    study_use_design_texts,
)

__all__ = [
    "MIN_SCREEN",
    "SCREENED_OUT_MESSAGE",
    "SKIP_AFTER_FAILURES",
    "generation_job_create",
    "AnswerResult",
    "PlaybackState",
    "ScreeningResult",
    "criteria_add_defaults",
    "playback_record",
    "playback_state",
    "screening_device_submit",
    "screening_latency_record",
    "screening_playback_record",
    "screening_submit",
    "session_abandon",
    "session_consent",
    "session_current_trial",
    "session_start",
    "sessions_set_use",
    "simulated_sessions_delete",
    "study_create",
    "study_launch",
    "study_set_status",
    "study_use_design_texts",
    "trial_answer",
    "trial_skip",
]
