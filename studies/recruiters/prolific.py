"""Prolific through its public REST API (https://docs.prolific.com/api-reference).

Authentication is `Authorization: Token <PROLIFIC_API_TOKEN>`. The study URL carries Prolific's
placeholders, which our entry page reads (PROLIFIC_PID, STUDY_ID, SESSION_ID = the submission
id). Submission transitions are idempotent at Prolific; paying a bulk bonus is not, so the ledger
never re-sends one whose outcome is unknown. Rejections need a message of at least 100
characters and a category (Prolific's rules); we check before sending.
"""

import time
from urllib.parse import urlsplit

import requests

from studies.recruiters.base import (
    Recruiter,
    RecruiterError,
    Submission,
    TransientError,
    with_retries,
)

API = "https://api.prolific.com/api/v1/"
PLACEHOLDERS = "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
MIN_REJECTION_MESSAGE = 100
# The rater's browser must play sound; desktop only (the players and the headphone screen are
# built for a keyboard, a mouse and headphones).
DEVICES = ["desktop"]
PERIPHERALS = ["audio"]
# The screen-out completion code's label (Prolific's code types include FIXED_SCREENOUT).
SCREENOUT_CODE_TYPE = "FIXED_SCREENOUT"


def study_body(
    recruitment,
    *,
    study_url: str,
    title: str,
    description: str,
    minutes: int,
    completion_code: str,
    require_public_url: bool = True,
) -> dict:
    """The body of POST studies/ (a draft study), in the fields Prolific's API reference
    documents (api-reference/studies/create-study): the study URL with Prolific's three
    placeholders, a completion code for finishing (kept for manual review) and one for being
    screened out by our checks, which Prolific pays at once with the fixed screen-out reward
    (at most `slots` of them; here the study's places). Values are checked first: a body
    Prolific would refuse raises RecruiterError naming every problem, and nothing is sent."""
    study = recruitment.study
    problems = []
    if not title.strip():
        problems.append("the study needs a title (Prolific's name)")
    if not description.strip():
        problems.append("the study needs instructions (Prolific's description)")
    if recruitment.places < 1:
        problems.append(f"places must be at least 1 (got {recruitment.places})")
    if recruitment.reward_cents < 1:
        problems.append(f"the reward must be positive (got {recruitment.reward_cents} cents)")
    if minutes < 1:
        problems.append(f"the estimated time must be at least 1 minute (got {minutes})")
    screenout = study.screenout_reward_cents
    if not 0 < screenout < recruitment.reward_cents:
        problems.append(
            f"the screen-out payment ({screenout} cents) must be above 0 and below the reward "
            f"({recruitment.reward_cents} cents), as Prolific requires"
        )
    if completion_code == study.screenout_code:
        problems.append("the completion code and the screen-out code must differ")
    url = urlsplit(study_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        problems.append(f"the study URL {study_url!r} is not an absolute http(s) URL")
    elif require_public_url:
        if url.scheme != "https":
            problems.append(f"the study URL {study_url!r} must use https (set PUBLIC_BASE_URL)")
        if url.hostname in ("localhost", "127.0.0.1", "::1") or url.hostname.endswith(".local"):
            problems.append(
                f"the study URL {study_url!r} is not reachable from the internet "
                "(set PUBLIC_BASE_URL to the site's public address)"
            )
    if problems:
        raise RecruiterError("Prolific would refuse this study: " + "; ".join(problems))
    separator = "&" if "?" in study_url else "?"
    return {
        "name": title,
        "internal_name": f"{study.slug} #{recruitment.pk or 'new'}",
        "description": description,
        "external_study_url": f"{study_url}{separator}{PLACEHOLDERS}",
        "prolific_id_option": "url_parameters",
        "completion_codes": [
            {
                "code": completion_code,
                "code_type": "COMPLETED",
                "actor": "participant",
                "actions": [{"action": "MANUALLY_REVIEW"}],
            },
            # Participants screened out by our checks (device, sound, headphones, videos
            # that will not load) return with this code and get the fixed screen-out
            # payment at once, not the reward (Prolific's custom screening).
            {
                "code": study.screenout_code,
                "code_type": SCREENOUT_CODE_TYPE,
                "actor": "participant",
                "actions": [
                    {
                        "action": "FIXED_SCREEN_OUT_PAYMENT",
                        "fixed_screen_out_reward": screenout,
                        "slots": recruitment.places,
                    }
                ],
            },
        ],
        "total_available_places": recruitment.places,
        "estimated_completion_time": minutes,
        # Prolific times a submission out after this; generous, so a slow rater is not lost.
        "maximum_allowed_time": max(3 * minutes, minutes + 30),
        "reward": recruitment.reward_cents,
        "device_compatibility": DEVICES,
        "peripheral_requirements": PERIPHERALS,
    }


def error_text(response) -> str:
    """Prolific's error body in a sentence: its title and every field it names, e.g.
    'Invalid request: completion_codes: ...'. Falls back to the start of the raw text."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return response.text[:300]
    if not isinstance(error, dict):
        return response.text[:300]
    detail = error.get("detail")
    parts = []
    if isinstance(detail, dict):
        for field, messages in detail.items():
            if isinstance(messages, list):
                messages = " ".join(str(m) for m in messages)
            parts.append(f"{field}: {messages}")
    elif detail:
        parts.append(str(detail))
    title = error.get("title") or "error"
    return f"{title}: " + "; ".join(parts) if parts else str(title)


class Prolific(Recruiter):
    # Prolific re-opens the place of a returned or timed-out submission by itself.
    abandoned_statuses = frozenset({"RETURNED", "TIMED-OUT"})
    key = "prolific"
    idempotent = {
        "create": False,
        "approve": True,
        "reject": True,
        "bonus": False,
        "add_places": True,
    }

    def __init__(
        self,
        token: str,
        *,
        base_url: str = API,
        timeout: float = 20.0,
        sleep=time.sleep,
        require_public_url: bool = True,
    ) -> None:
        if not token:
            raise RecruiterError("PROLIFIC_API_TOKEN is not set: Prolific needs an API token")
        self.require_public_url = require_public_url
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.sleep = sleep
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"

    def _request(self, method: str, path: str, *, retry: bool = True, **kwargs) -> dict:
        """One API call; timeouts, 429 and 5xx are retried with backoff unless retry=False (for
        calls that must never be sent twice)."""
        if not retry:
            return self._send(method, path, **kwargs)
        return with_retries(lambda: self._send(method, path, **kwargs), sleep=self.sleep)

    def _send(self, method: str, path: str, **kwargs) -> dict:
        url = path if path.startswith("http") else self.base_url + path.lstrip("/")
        try:
            response = self.http.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"Prolific {method} {path}: {exc.__class__.__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After")
            raise TransientError(
                f"Prolific {method} {path}: HTTP {response.status_code}",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if response.status_code >= 400:
            raise RecruiterError(
                f"Prolific {method} {path}: HTTP {response.status_code}: {error_text(response)}"
            )
        return response.json() if response.content else {}

    def create(self, recruitment, *, study_url, title, description, minutes, completion_code):
        body = study_body(
            recruitment,
            study_url=study_url,
            title=title,
            description=description,
            minutes=minutes,
            completion_code=completion_code,
            require_public_url=self.require_public_url,
        )
        return self._request("POST", "studies/", json=body)["id"]

    def publish(self, recruitment) -> dict:
        return self._request(
            "POST", f"studies/{recruitment.remote_id}/transition/", json={"action": "PUBLISH"}
        )

    def submissions(self, recruitment) -> list[Submission]:
        out, path = [], f"studies/{recruitment.remote_id}/submissions/"
        while path:
            page = self._request("GET", path)
            for row in page.get("results", []):
                out.append(Submission(row["id"], row["participant_id"], row["status"], row))
            path = (page.get("_links", {}).get("next") or {}).get("href")
        return out

    def approve(self, recruitment, submission_id: str) -> dict:
        return self._request(
            "POST", f"submissions/{submission_id}/transition/", json={"action": "APPROVE"}
        )

    def reject(self, recruitment, submission_id: str, message: str) -> dict:
        if len(message) < MIN_REJECTION_MESSAGE:
            raise RecruiterError(
                f"Prolific needs a rejection message of at least {MIN_REJECTION_MESSAGE} "
                f"characters (this one has {len(message)})"
            )
        body = {"action": "REJECT", "message": message, "rejection_category": "FAILED_CHECK"}
        return self._request("POST", f"submissions/{submission_id}/transition/", json=body)

    def bonus(self, recruitment, submission, cents, reason, token) -> dict:
        created = self._request(
            "POST",
            "submissions/bonus-payments/",
            json={
                "study_id": recruitment.remote_id,
                "csv_bonuses": f"{submission.participant_id},{cents / 100:.2f}\n",
            },
        )
        # Paying is not idempotent at Prolific: never retried here, never re-sent by the ledger.
        paid = self._request("POST", f"bulk-bonus-payments/{created['id']}/pay/", retry=False)
        return {"bonus_id": created["id"], "pay": paid}

    def add_places(self, recruitment, total: int) -> dict:
        return self._request(
            "PATCH", f"studies/{recruitment.remote_id}/", json={"total_available_places": total}
        )
