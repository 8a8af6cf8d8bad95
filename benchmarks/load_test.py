"""Load test: N scripted raters do the whole flow a browser does, against a real server stack.

Starts, on 127.0.0.1 only, gunicorn (sync workers) behind nginx (the shipped
deploy/nginx/foley-eval.conf, media handed over by X-Accel-Redirect) on a throwaway database
(SQLite in a temporary folder, or PostgreSQL with --postgres: a fresh database on the local
server that `./run test` sets up) and media folder. Each rater, in its own thread, with its own
cookies: arrives with a code, consents, passes the screen check, plays every screening sound
through (real time, fetching it with a range request) and answers it, then for every trial
fetches the page and each version with a range request, plays the versions one after another
in real time with events timed as the page sends them, and answers. A share of raters abandons
at a random point (closes the tab and returns the study on the platform): as the worker's
periodic sync would, the session is then marked abandoned (its votes unused, its lease released)
and the re-opened place goes to a new rater. Bounded: every request has a timeout and the run
stops by itself.

Prints one table: per endpoint p50/p95/p99 and errors, requests/s, answers/s, play-throughs
refused, and, compared with the database afterwards, votes lost, duplicated, or stored that no
client sent, and how far every item x criterion cell ended from its target (the study's target
is what the places give: raters x regular trials / items).

    python benchmarks/load_test.py [--raters 50] [--abandon 0.1] [--workers 4] [--postgres]
                                   [--arrivals-per-s 2]
"""

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CRITERIA = ("correctness", "noise", "synchronization", "overall")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, proc: subprocess.Popen, what: str) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{what} did not start") from None
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start in 10 s")


N_ITEMS, REGULAR_TRIALS = 6, 3


def _setup(tmp: Path, database_url: str, raters: int) -> None:
    os.environ.update(
        DATA_DIR=str(tmp),
        MEDIA_ROOT=str(tmp / "media"),
        DEBUG="1",
        LOG_LEVEL="ERROR",
        MEDIA_ACCEL_REDIRECT="/_protected_media/",
        BEHIND_HTTPS_PROXY="1",
        PARTICIPANT_SESSIONS_PER_ADDRESS_PER_HOUR="100000",
        PARTICIPANT_SESSIONS_PER_STUDY_PER_MINUTE="100000",
        DB_CONN_MAX_AGE="60",
    )
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.factories import build_media_library, make_study

    build_media_library(tmp / "media")
    make_study(
        slug="load",
        n_items=N_ITEMS,
        trials_per_session=REGULAR_TRIALS,
        target_votes_per_item=max(1, round(raters * REGULAR_TRIALS / N_ITEMS)),
        check_trials_per_session=1,
        screening=True,
        headphone_trials=2,
        headphone_min_correct=2,
        lease_minutes=1,
    )


def _postgres_database() -> str:
    """A fresh database on the machine's PostgreSQL, started the way ./run test starts it."""
    started = subprocess.run(
        ["bash", str(ROOT / "deploy" / "local" / "postgres.sh"), "start"],
        capture_output=True,
        text=True,
    )
    if started.returncode != 0:
        raise SystemExit(f"--postgres: {started.stderr.strip() or 'PostgreSQL did not start'}")
    name = f"foleyeval_load_{os.getpid()}"
    made = subprocess.run(
        ["su", "postgres", "-c", f"psql -qc 'create database {name} owner foleyeval'"],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise SystemExit(f"--postgres: could not create database {name}: {made.stderr.strip()}")
    return f"postgres://foleyeval:foleyeval@127.0.0.1:5432/{name}"


def _drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    subprocess.run(
        ["su", "postgres", "-c", f"psql -qc 'drop database if exists {name} with (force)'"]
    )


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.refused = 0
        self.plays = 0
        self.answers_acknowledged: set[tuple[str, int]] = set()
        self.answers_sent: set[tuple[str, int]] = set()

    def record(self, name: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latency[name].append(seconds)
            if not ok:
                self.errors[name] += 1


class Rater:
    def __init__(self, base: str, code: str, stats: Stats, abandon_at: int | None):
        self.http = requests.Session()
        self.base, self.code, self.stats = base, code, stats
        self.abandon_at = abandon_at  # step after which the rater closes the tab (None: never)
        self.step = 0
        self.token = ""
        self.left = False

    def _call(self, name, method, url, ok=(200, 206, 302), **kwargs):
        started = time.monotonic()
        try:
            response = self.http.request(method, url, timeout=60, **kwargs)
        except requests.RequestException:
            self.stats.record(name, time.monotonic() - started, False)
            raise
        self.stats.record(name, time.monotonic() - started, response.status_code in ok)
        return response

    def _tick(self) -> bool:
        """True when the rater abandons here."""
        self.step += 1
        self.left = self.abandon_at is not None and self.step >= self.abandon_at
        return self.left

    def _csrf(self) -> str:
        return self.http.cookies.get("csrftoken", "")

    def _media(self, name, url) -> None:
        self._call(name, "GET", url, headers={"Range": "bytes=0-"})

    def _play(self, url, data, duration) -> dict:
        clicked = time.time()
        self._call(
            "event play",
            "POST",
            url,
            data={**data, "kind": "play", "media_time": "0", "client_ms": int(clicked * 1000)},
            headers={"X-CSRFToken": self._csrf()},
        )
        ends = clicked + duration + 0.02
        time.sleep(max(0.0, ends - time.time()))
        response = self._call(
            "event ended",
            "POST",
            url,
            data={
                **data,
                "kind": "ended",
                "media_time": str(duration),
                "client_ms": int(ends * 1000),
            },
            headers={"X-CSRFToken": self._csrf()},
        )
        return response.json()

    def run(self) -> None:
        try:
            self._run()
        except requests.RequestException:
            pass  # counted as an error on its endpoint

    def _run(self) -> None:
        from studies.models import ScreeningItem, Session

        r = self._call("arrive", "GET", f"{self.base}/s/load/", params={"code": self.code})
        url = r.url
        self.token = url.rstrip("/").rsplit("/", 1)[1]
        page = self._call(
            "consent",
            "POST",
            url + "consent",
            data={"consent": "yes", "csrfmiddlewaretoken": self._csrf()},
        )
        if self._tick():
            return
        page = self._call(
            "screen check",
            "POST",
            url + "screen/device",
            data={"width": "1440", "height": "900", "csrfmiddlewaretoken": self._csrf()},
        )
        # The script reads the sounds' answers from the database (a real rater hears them),
        # then closes its connection: one per rater thread would exhaust the server.
        from django.db import connection

        session = Session.objects.get(token=self.token)
        items = list(
            ScreeningItem.objects.filter(session=session).select_related("sound").order_by("index")
        )
        connection.close()
        answers = {}
        for item in items:
            self._media("screening sound", f"{url}a/{item.token}")
            self._play(f"{url}a/{item.token}/event", {}, item.duration_s)
            answers[f"r-{item.token}"] = str(item.answer)
        page = self._call(
            "screening answers",
            "POST",
            url + "screen",
            data={**answers, "csrfmiddlewaretoken": self._csrf()},
        )
        for _ in range(20):
            if "Thank you" in page.text or self._tick():
                return
            number = re.search(r"Video (\d+) of", page.text)
            if number is None:
                return
            index = int(number.group(1)) - 1
            sources = re.findall(r'<video[^>]* src="([^"]+)"', page.text)
            labels = re.findall(r'<section class="slot[^"]*" data-slot="([A-F])"', page.text)
            for src in sources:
                self._media("clip", self.base + src)
            for k, label in enumerate(labels):
                state = self._play(f"{url}t/{index}/event", {"slot": label}, 2.0)
                with self.stats.lock:
                    self.stats.plays += 1
                    self.stats.refused += not state["played"][k]
            time.sleep(1.0)  # reading the questions
            key = (self.token, index)
            with self.stats.lock:
                self.stats.answers_sent.add(key)
            choice = {c: random.choice(labels) for c in CRITERIA}
            answer = self._call(
                "answer",
                "POST",
                url + f"t/{index}/answer",
                data={**choice, "csrfmiddlewaretoken": self._csrf()},
                allow_redirects=False,
            )
            if answer.status_code == 302:
                with self.stats.lock:
                    self.stats.answers_acknowledged.add(key)
            page = self._call("trial page", "GET", url)


def _place(base: str, n: int, stats: Stats, abandon_at: int | None) -> None:
    """One place on the platform: a rater, and if they return the study, the sync marks their
    session abandoned and the re-opened place goes to a new rater (who stays)."""
    from django.db import connection

    from studies import services
    from studies.models import Session

    rater = Rater(base, f"L{n}", stats, abandon_at)
    rater.run()
    if rater.left:
        session = Session.objects.filter(participant__external_id=rater.code).first()
        if session is not None:
            services.session_abandon(session=session)
        connection.close()
        Rater(base, f"L{n}r", stats, None).run()


def _cells() -> tuple[int, list[int]]:
    """The study's target and the used votes of every item x criterion cell."""
    from django.db.models import Count

    from studies.models import Item, Study, Vote

    study = Study.objects.get(slug="load")
    votes = (
        Vote.objects.filter(
            trial__session__study=study, trial__check_kind="", trial__session__excluded=False
        )
        .exclude(trial__session__participant__external_id__startswith="W")
        .values("trial__item_id", "criterion_id")
        .annotate(n=Count("id"))
    )
    counts = {(v["trial__item_id"], v["criterion_id"]): v["n"] for v in votes}
    cells = [
        counts.get((item, criterion), 0)
        for item in Item.objects.filter(study=study).values_list("pk", flat=True)
        for criterion in study.criteria.values_list("pk", flat=True)
    ]
    return study.target_votes_per_item, cells


def _compare_with_database(stats: Stats) -> tuple[int, int, int]:
    """(lost, duplicated, phantom) answers: acknowledged but not stored, stored more than once
    per criterion, stored but never sent."""
    from django.db.models import Count

    from studies.models import Trial

    stored = {}
    rows = (
        Trial.objects.filter(session__study__slug="load")
        .exclude(session__participant__external_id__startswith="W")
        .annotate(n=Count("votes"))
    )
    for trial in rows.select_related("session"):
        if trial.n:
            stored[(trial.session.token, trial.index)] = trial.n
    lost = len(stats.answers_acknowledged - set(stored))
    duplicated = sum(1 for n in stored.values() if n != len(CRITERIA))
    phantom = len(set(stored) - stats.answers_sent)
    return lost, duplicated, phantom


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--abandon", type=float, default=0.1, help="share who close the tab")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--arrivals-per-s",
        type=float,
        default=2.0,
        help="raters arriving per second (a Prolific launch fills 100 places in a few minutes, "
        "about 0.3 to 1 per second; 50 is a thundering herd)",
    )
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    random.seed(args.seed)
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx_bin).exists():
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx)")
    tmp = Path(tempfile.mkdtemp(prefix="load-test-"))
    database_url = _postgres_database() if args.postgres else ""
    procs: list[subprocess.Popen] = []
    try:
        _setup(tmp, database_url, args.raters)
        from tests.deploy.test_nginx import _config

        app_port, web_port = _free_port(), _free_port()
        gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
        procs.append(
            subprocess.Popen(
                [gunicorn, "evalsite.wsgi", "-w", str(args.workers)]
                + ["-b", f"127.0.0.1:{app_port}", "--timeout", "120", "--log-level", "error"],
                cwd=ROOT,
                env=os.environ.copy(),
            )
        )
        _wait_for(app_port, procs[-1], "gunicorn")
        static = tmp / "static"
        static.mkdir()
        conf = _config(
            tmp, port=web_port, upstream=f"127.0.0.1:{app_port}", media=tmp / "media", static=static
        )
        procs.append(subprocess.Popen([nginx_bin, "-p", str(tmp), "-c", str(conf)]))
        _wait_for(web_port, procs[-1], "nginx")
        base = f"http://127.0.0.1:{web_port}"
        # Warm every worker (imports, templates, connections) as a server running for hours
        # would be: a few raters that arrive, consent and reach the sound checks, not counted.
        warm = Stats()
        for n in range(4 * args.workers):
            Rater(base, f"W{n}", warm, abandon_at=2).run()
        stats = Stats()
        leaves = [
            random.randint(1, 5) if random.random() < args.abandon else None
            for _ in range(args.raters)
        ]
        threads = [
            threading.Thread(target=_place, args=(base, n, stats, leaves[n]), daemon=True)
            for n in range(args.raters)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
            time.sleep(1.0 / args.arrivals_per_s)
        for t in threads:
            t.join(timeout=900)
        wall = time.monotonic() - started
        lost, duplicated, phantom = _compare_with_database(stats)
        requests_total = sum(len(v) for v in stats.latency.values())
        db = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"{args.raters} raters ({args.abandon:.0%} abandon, "
            f"{args.arrivals_per_s:g} arrivals/s), nginx + gunicorn -w "
            f"{args.workers} + {db}, {os.cpu_count()} CPUs; wall {wall:.1f} s"
        )
        print(
            f"{requests_total / wall:.1f} requests/s, "
            f"{len(stats.answers_acknowledged) / wall:.2f} answers/s"
        )
        print()
        print("| endpoint | requests | p50 ms | p95 ms | p99 ms | errors |")
        print("|---|---|---|---|---|---|")
        for name, values in sorted(stats.latency.items()):
            print(
                f"| {name} | {len(values)} | {statistics.median(values) * 1000:.0f} | "
                f"{_pct(values, 0.95):.0f} | {_pct(values, 0.99):.0f} | {stats.errors[name]} |"
            )
        print()
        print("| check | count |")
        print("|---|---|")
        print(f"| play-throughs refused | {stats.refused} of {stats.plays} |")
        print(f"| answers acknowledged | {len(stats.answers_acknowledged)} |")
        print(f"| votes lost (acknowledged, not stored) | {lost} |")
        print(f"| trials stored with other than one vote per criterion | {duplicated} |")
        print(f"| answers stored that no client sent | {phantom} |")
        target, cells = _cells()
        near = sum(abs(n - target) <= 1 for n in cells)
        print(
            f"| cells within 1 vote of the target ({target}) after dropouts | {near} of "
            f"{len(cells)} (from {min(cells) - target:+d} to {max(cells) - target:+d}) |"
        )
        print(
            "| raters who returned the study (places re-filled) | "
            f"{sum(x is not None for x in leaves)} |"
        )
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if database_url:
            from django.db import connections

            connections.close_all()
            _drop_postgres_database(database_url)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
