"""The recruiter interface, its errors, and retries with backoff for transient failures."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class RecruiterError(Exception):
    """The platform refused the request, or it is not allowed; retrying will not help."""


class TransientError(RecruiterError):
    """A timeout, a 429 or a 5xx: the request may or may not have taken effect."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Submission:
    """A participant's submission as the platform sees it."""

    remote_id: str  # Prolific submission id / MTurk assignment id
    participant_id: str  # Prolific participant id / MTurk worker id
    status: str  # the platform's own status word
    raw: dict = field(default_factory=dict)


def with_retries(
    call: Callable,
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    sleep: Callable[[float], None] = time.sleep,
):
    """Run call(); on TransientError wait (exponential backoff with jitter, or the platform's
    Retry-After) and try again, up to `attempts` times; then the last error is raised."""
    for attempt in range(attempts):
        try:
            return call()
        except TransientError as exc:
            if attempt == attempts - 1:
                raise
            delay = exc.retry_after
            if delay is None:
                delay = min(max_delay, base_delay * 2**attempt) * (0.5 + random.random() / 2)
            sleep(delay)
    raise AssertionError("unreachable")


class Recruiter:
    """What every adapter implements. `recruitment` is a studies.models.Recruitment."""

    key = ""
    # Platform statuses meaning the participant withdrew (returned the study, timed out).
    abandoned_statuses: frozenset[str] = frozenset()
    # Whether a repeated call can never change anything twice at the platform.
    idempotent = {
        "create": False,
        "approve": True,
        "reject": True,
        "bonus": False,
        "add_places": False,
    }

    def create(
        self,
        recruitment,
        *,
        study_url: str,
        title: str,
        description: str,
        minutes: int,
        completion_code: str,
    ) -> str:
        raise NotImplementedError

    def publish(self, recruitment) -> None:
        raise NotImplementedError

    def submissions(self, recruitment) -> list[Submission]:
        raise NotImplementedError

    def approve(self, recruitment, submission_id: str) -> dict:
        raise NotImplementedError

    def reject(self, recruitment, submission_id: str, message: str) -> dict:
        raise NotImplementedError

    def bonus(
        self, recruitment, submission: Submission, cents: int, reason: str, token: str
    ) -> dict:
        raise NotImplementedError

    def add_places(self, recruitment, total: int) -> dict:
        raise NotImplementedError
