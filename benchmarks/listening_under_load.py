"""Honest raters under load are never told to replay; scripted ones never unlock.

Starts gunicorn (sync workers) on a throwaway database and media folder, then runs N honest
raters at once: each arrives, consents, and plays the four versions of one trial one after
another in real time (2 s clips), posting play/ended with its own clock as the trial page does,
then answers. A few scripted raters post every version's play at once, wait one clip, post every
ended, and try to answer. Prints one table: refused play-throughs under the server's rules, and
how many the old rule (server receive times only: ended - play >= duration - 0.75 s) would have
refused on the same events.

With `--player switch` the study uses the switching player: each honest rater plays the
clip four times from the start and switches version every half second (each version audible
2 s in all), posting play / switch / ended as switch.js does; the scripted raters post every
version's play at once, wait one clip and post ended. "Refused" then counts versions not heard
once the rater's listening was done. The old-rule column applies to the separate player only.

    python benchmarks/listening_under_load.py [--raters 100] [--cheaters 10] [--workers 2]
        [--player separate|switch]
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(tmp: Path, player: str) -> None:
    os.environ.update(
        DATA_DIR=str(tmp), MEDIA_ROOT=str(tmp / "media"), DEBUG="1", LOG_LEVEL="WARNING"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    os.environ["PARTICIPANT_SESSIONS_PER_ADDRESS_PER_HOUR"] = "100000"
    os.environ["PARTICIPANT_SESSIONS_PER_STUDY_PER_MINUTE"] = "100000"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.factories import build_media_library, make_study

    build_media_library(tmp / "media")
    make_study(slug="load", n_items=3, trials_per_session=1, with_checks=False, player=player)


class Rater:
    def __init__(self, base: str, code: str):
        self.http = requests.Session()
        self.base = base
        self.code = code
        self.refused = 0
        self.unlocked = False
        self.answered = False
        self.latency: list[float] = []

    def _start(self) -> tuple[str, list[str], str]:
        r = self.http.get(f"{self.base}/s/load/", params={"code": self.code}, timeout=120)
        url = r.url
        csrf = self.http.cookies.get("csrftoken") or re.search(
            r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text
        ).group(1)
        page = self.http.post(
            url + "consent", data={"consent": "yes", "csrfmiddlewaretoken": csrf}, timeout=120
        )
        csrf = self.http.cookies.get("csrftoken")
        labels = re.findall(r'data-slot="([A-F])"', page.text)
        return url, sorted(set(labels)), csrf

    def _event(self, url, csrf, slot, kind, media_time, client_ms=None):
        data = {"slot": slot, "kind": kind, "media_time": str(media_time)}
        data["client_ms"] = str(client_ms if client_ms is not None else int(time.time() * 1000))
        t = time.monotonic()
        r = self.http.post(url + "t/0/event", data=data, headers={"X-CSRFToken": csrf}, timeout=120)
        self.latency.append(time.monotonic() - t)
        return r.json()

    def _answer(self, url, csrf):
        data = {k: "A" for k in ("correctness", "noise", "synchronization", "overall")}
        data["csrfmiddlewaretoken"] = csrf
        r = self.http.post(url + "t/0/answer", data=data, allow_redirects=False, timeout=120)
        self.answered = r.status_code == 302

    def honest(self, clip_s: float):
        url, labels, csrf = self._start()
        time.sleep(0.3)
        for slot in labels:
            # As in the page: the clip plays from the click whatever the server is doing; each
            # event carries the time it happened and is sent after the one before returned.
            clicked = time.time()
            self._event(url, csrf, slot, "play", 0.0, client_ms=int(clicked * 1000))
            ends = clicked + clip_s + 0.02
            time.sleep(max(0.0, ends - time.time()))
            state = self._event(url, csrf, slot, "ended", clip_s, client_ms=int(ends * 1000))
            if not state["played"][labels.index(slot)]:
                self.refused += 1
        self.unlocked = bool(state["unlocked"])
        time.sleep(2.5)
        self._answer(url, csrf)

    def honest_switching(self, clip_s: float):
        url, labels, csrf = self._start()
        time.sleep(0.3)
        step = clip_s / len(labels)
        state = {}
        for _ in range(len(labels)):  # passes of the clip, each version audible `step` a pass
            begun = time.time()
            for i, slot in enumerate(labels):
                at = begun + i * step
                time.sleep(max(0.0, at - time.time()))
                kind = "play" if i == 0 else "switch"
                self._event(url, csrf, slot, kind, round(at - begun, 3), client_ms=int(at * 1000))
            ends = begun + clip_s + 0.02
            time.sleep(max(0.0, ends - time.time()))
            state = self._event(url, csrf, labels[-1], "ended", clip_s, client_ms=int(ends * 1000))
        self.refused = sum(not p for p in state["played"])
        self.unlocked = bool(state["unlocked"])
        time.sleep(2.5)
        self._answer(url, csrf)

    def cheat(self, clip_s: float):
        url, labels, csrf = self._start()
        for slot in labels:
            self._event(url, csrf, slot, "play", 0.0)
        time.sleep(clip_s + 0.05)
        for slot in labels:
            state = self._event(url, csrf, slot, "ended", clip_s)
        self.unlocked = bool(state["unlocked"])
        self._answer(url, csrf)


def _old_rule_refusals() -> tuple[int, int]:
    """Of the ended events the server accepted, how many the old rule would have refused."""
    from studies.models import PlaybackEvent

    accepted = PlaybackEvent.objects.filter(kind="ended", accepted=True).select_related(
        "slot__clip"
    )
    refused = 0
    for ended in accepted:
        play = (
            PlaybackEvent.objects.filter(slot=ended.slot, kind="play", id__lt=ended.id)
            .order_by("-id")
            .first()
        )
        if (ended.at - play.at).total_seconds() < ended.slot.clip.duration_s - 0.75:
            refused += 1
    return refused, accepted.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=100)
    parser.add_argument("--cheaters", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--player", choices=("separate", "switch"), default="separate")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="listening-load-"))
    server = None
    try:
        _setup(tmp, args.player)
        from tests.factories import CLIP_S

        port = _free_port()
        gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
        server = subprocess.Popen(
            [gunicorn, "evalsite.wsgi", "-w", str(args.workers), "-b", f"127.0.0.1:{port}"]
            + ["--timeout", "120", "--log-level", "warning"],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/s/load/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        honest = [Rater(base, f"H{n}") for n in range(args.raters)]
        cheats = [Rater(base, f"X{n}") for n in range(args.cheaters)]
        play = "honest" if args.player == "separate" else "honest_switching"
        threads = [threading.Thread(target=getattr(r, play), args=(CLIP_S,)) for r in honest]
        threads += [threading.Thread(target=r.cheat, args=(CLIP_S,)) for r in cheats]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        wall = time.monotonic() - started
        old_refused, accepted = _old_rule_refusals() if args.player == "separate" else (0, 0)
        latency = sorted(x for r in honest + cheats for x in r.latency)
        n_plays = 4 * args.raters
        print(
            f"{args.raters} honest + {args.cheaters} scripted raters, gunicorn -w "
            f"{args.workers}, {args.player} player"
        )
        print(
            f"wall {wall:.1f} s; event latency median {statistics.median(latency) * 1000:.0f} ms,"
            f" p95 {latency[int(0.95 * len(latency))] * 1000:.0f} ms"
        )
        print()
        print("| what | count | share |")
        print("|---|---|---|")
        refused = sum(r.refused for r in honest)
        what = "play-throughs refused" if args.player == "separate" else "versions not heard"
        print(
            f"| honest {what} (server rules) | {refused} of {n_plays} | {refused / n_plays:.1%} |"
        )
        if args.player == "separate":
            print(
                f"| same events refused by the old server-time rule | {old_refused} of "
                f"{accepted} | {old_refused / max(1, accepted):.1%} |"
            )
        answered = sum(r.answered for r in honest)
        print(
            f"| honest raters whose answer was stored | {answered} of {args.raters} "
            f"| {answered / args.raters:.1%} |"
        )
        unlocked = sum(r.unlocked or r.answered for r in cheats)
        print(
            f"| scripted raters that unlocked or answered | {unlocked} of {args.cheaters} "
            f"| {unlocked / max(1, args.cheaters):.1%} |"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
