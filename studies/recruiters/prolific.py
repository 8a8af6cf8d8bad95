"""Prolific through its public REST API (https://docs.prolific.com/api-reference).

Authentication is `Authorization: Token <PROLIFIC_API_TOKEN>`. The study URL carries Prolific's
placeholders, which our entry page reads (PROLIFIC_PID, STUDY_ID, SESSION_ID = the submission
id). Submission transitions are idempotent at Prolific; paying a bulk bonus is not, so the ledger
never re-sends one whose outcome is unknown. Rejections need a message of at least 100
characters and a category (Prolific's rules); we check before sending.
"""

import time

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
        self, token: str, *, base_url: str = API, timeout: float = 20.0, sleep=time.sleep
    ) -> None:
        if not token:
            raise RecruiterError("PROLIFIC_API_TOKEN is not set: Prolific needs an API token")
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
                f"Prolific {method} {path}: HTTP {response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else {}

    def create(self, recruitment, *, study_url, title, description, minutes, completion_code):
        separator = "&" if "?" in study_url else "?"
        body = {
            "name": title,
            "internal_name": f"{recruitment.study.slug} #{recruitment.pk}",
            "description": description,
            "external_study_url": f"{study_url}{separator}{PLACEHOLDERS}",
            "prolific_id_option": "url_parameters",
            "completion_codes": [
                {
                    "code": completion_code,
                    "code_type": "COMPLETED",
                    "actions": [{"action": "MANUALLY_REVIEW"}],
                },
                # Participants screened out by our checks (device, sound, headphones, videos
                # that will not load) return with this code and get the fixed screen-out
                # payment, not the reward (Prolific's in-study screening).
                {
                    "code": recruitment.study.screenout_code,
                    "code_type": "FIXED_SCREENOUT_PAYMENT",
                    "actions": [
                        {
                            "action": "FIXED_SCREENOUT_PAYMENT",
                            "fixed_screenout_reward": recruitment.study.screenout_reward_cents,
                        }
                    ],
                },
            ],
            "total_available_places": recruitment.places,
            "estimated_completion_time": minutes,
            "reward": recruitment.reward_cents,
            "device_compatibility": ["desktop"],
        }
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
