"""Every remote action goes through `perform`, so a retry, a timeout or a crash never approves,
rejects or pays twice.

1. The action is recorded (PENDING) under a key naming the one thing it does, and committed.
2. Before the call it is marked SENT (committed): from here its outcome is unknown until step 3.
3. After the call it is marked DONE with the response (or FAILED when the platform refused).

On a later run: DONE actions are skipped. A SENT action (the process died or timed out between
2 and 3) is sent again only if the call is idempotent at the platform (Prolific's submission
transitions; MTurk calls carrying a UniqueRequestToken, which MTurk refuses to repeat); otherwise
(Prolific's bonus payment, which pays again if repeated) it stays SENT and is reported for a human
to check on the platform, never re-sent automatically.
"""

from collections.abc import Callable

from django.db import transaction

from studies.models import RemoteAction
from studies.recruiters.base import RecruiterError, TransientError


class UnknownOutcome(RecruiterError):
    """A non-idempotent action was sent but its outcome was never recorded."""


def perform(
    recruitment,
    *,
    kind: str,
    key: str,
    target: str,
    payload: dict,
    call: Callable[[], dict],
    idempotent: bool,
) -> RemoteAction:
    with transaction.atomic():
        action, _ = RemoteAction.objects.select_for_update().get_or_create(
            key=key,
            defaults={
                "recruitment": recruitment,
                "kind": kind,
                "target": target,
                "payload": payload,
            },
        )
        if action.state in (RemoteAction.State.DONE, RemoteAction.State.FAILED):
            return action
        if action.state == RemoteAction.State.SENT and not idempotent:
            raise UnknownOutcome(
                f"{kind} {target}: sent earlier but its outcome was not recorded; check it on "
                f"the platform, then mark ledger entry {action.pk} done or failed in the admin"
            )
        action.state = RemoteAction.State.SENT
        action.attempts += 1
        action.save(update_fields=["state", "attempts", "updated_at"])
    try:
        response = call()
    except TransientError as exc:
        # Still unknown: idempotent calls may be retried later, others wait for a human.
        RemoteAction.objects.filter(pk=action.pk).update(error=str(exc))
        raise
    except RecruiterError as exc:
        _finish(action, RemoteAction.State.FAILED, {}, str(exc))
        return action
    _finish(action, RemoteAction.State.DONE, response or {}, "")
    return action


def _finish(action: RemoteAction, state: str, response: dict, error: str) -> None:
    action.state, action.response, action.error = state, response, error
    action.save(update_fields=["state", "response", "error", "updated_at"])
