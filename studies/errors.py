"""Errors services raise for bad requests; views turn them into clear 4xx answers."""


class StudyError(Exception):
    """A request the platform refuses. `status` is the HTTP status a view should answer with."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class StudyNotReady(StudyError):
    """Launching a study that is not complete; `problems` lists every reason, one per line."""

    status = 409

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The study cannot be launched:\n" + "\n".join(problems))
        self.problems = problems


class StudyNotOpen(StudyError):
    status = 409


class AnswerRejected(StudyError):
    status = 400


class NotFound(StudyError):
    status = 404
