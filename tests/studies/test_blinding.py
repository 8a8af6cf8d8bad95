"""Walk whole sessions as a browser would and scan everything it receives for leaks."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from studies.models import CheckClip, Clip, Session, System
from tests.factories import make_study, play_all

pytestmark = [pytest.mark.django_db, pytest.mark.media]

TOKEN = re.compile(r"[A-Za-z0-9_\-]{22}")


class RecordingClient:
    """A test client that remembers every URL it was sent to and every body it received."""

    def __init__(self):
        self.client = Client()
        self.urls: list[str] = []
        self.bodies: list[bytes] = []

    def _keep(self, url, response):
        self.urls.append(url)
        if response.has_header("Location"):
            self.urls.append(response["Location"])
        body = b"".join(response.streaming_content) if response.streaming else response.content
        self.bodies.append(body)
        self.bodies.append(str(response.headers).encode())
        return response, body

    def get(self, url, params=None, **extra):
        response = self.client.get(url, params, **extra)
        full = url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
        return self._keep(full, response)

    def post(self, url, data, **extra):
        return self._keep(url, self.client.post(url, data, **extra))


def _choose_b(study, labels):
    return {c.key: "B" for c in study.criteria.all()}


def _walk_session(rc: RecordingClient, study, params, answer=_choose_b) -> tuple[dict, dict]:
    """Complete one session; return the trial pages (HTML) and, per trial, the byte length of
    each version as the browser was told it (Content-Range of a range request, Content-Length
    of a plain one)."""
    response, _ = rc.get(f"/s/{study.slug}/", params)
    url = response["Location"]
    rc.get(url)
    rc.post(url + "consent", {"consent": "yes"})
    pages, sizes = {}, {}
    session = Session.objects.get(participant__external_id=list(params.values())[0])
    for _ in range(50):
        response, body = rc.get(url)
        trial = response.context.get("trial") if response.context else None
        if trial is None:
            break
        pages[trial.index] = body.decode()
        lengths = set()
        for slot in response.context["slots"]:
            ranged, _ = rc.get(slot["src"], HTTP_RANGE="bytes=0-")
            whole, data = rc.get(slot["src"])
            assert int(whole["Content-Length"]) == len(data)
            lengths |= {ranged["Content-Range"].rsplit("/", 1)[1], whole["Content-Length"]}
            rc.post(url + f"t/{trial.index}/event", {"slot": slot["label"], "kind": "play"})
        sizes[trial.index] = lengths
        play_all(session, trial, now=timezone.now())
        rc.post(url + f"t/{trial.index}/event", {"slot": "A", "kind": "ended"})
        labels = [slot["label"] for slot in response.context["slots"]]
        rc.post(url + f"t/{trial.index}/answer", answer(study, labels))
    return pages, sizes


def _normalise(html: str) -> str:
    html = TOKEN.sub("TOKEN", html)
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    html = re.sub(r"Video \d+ of", "Video N of", html)
    html = re.sub(r"/t/\d+/", "/t/N/", html)
    return re.sub(r'<progress value="\d+"', "<progress", html)


@pytest.mark.parametrize(
    "params",
    [
        {"code": "LOCAL1"},
        {"PROLIFIC_PID": "pid777", "STUDY_ID": "st", "SESSION_ID": "se"},
        {
            "workerId": "W777",
            "assignmentId": "AS1",
            "hitId": "H1",
            "turkSubmitTo": "https://www.mturk.com",
        },
    ],
)
def test_nothing_a_browser_receives_names_a_system_a_clip_or_a_check_answer(params):
    study = make_study(slug="blind", trials_per_session=3, check_trials_per_session=2)
    _scan_a_whole_session(study, params, n_checks=2)


def _scores(study, labels):
    value = "3" if study.design == "rating" else "50"
    return {f"{c.key}:{label}": value for c in study.criteria.all() for label in labels}


@pytest.mark.parametrize(
    "design, options",
    [
        ("pairwise", dict(allow_no_preference=True)),
        ("real_or_generated", dict(roles=("reference",), check_trials_per_session=0)),
        ("rating", dict()),
        ("mushra", dict(roles=("reference", "anchor"), check_trials_per_session=0)),
    ],
)
def test_no_design_lets_the_browser_see_a_system_or_a_reference(design, options):
    options = {"check_trials_per_session": 2, **options}
    study = make_study(slug=f"blind-{design}", design=design, trials_per_session=3, **options)
    answer = _scores if design in ("rating", "mushra") else _choose_b
    _scan_a_whole_session(
        study, {"code": "LOCAL1"}, n_checks=options["check_trials_per_session"], answer=answer
    )


def _without_tokens(text: str) -> str:
    """text less its random tokens: runs of 20 or more URL-safe characters with a digit."""
    return re.sub(r"[A-Za-z0-9_-]{20,}", lambda m: "" if re.search(r"\d", m[0]) else m[0], text)


def _scan_a_whole_session(study, params, *, n_checks, answer=_choose_b):
    rc = RecordingClient()
    pages, sizes = _walk_session(rc, study, params, answer)
    session = Session.objects.get()
    assert session.status == Session.Status.COMPLETED
    assert len(pages) == 3 + n_checks
    # Every version of every trial, regular and check, is served at one byte length.
    for index, lengths in sizes.items():
        assert len(lengths) == 1, f"trial {index} versions differ in size: {lengths}"

    forbidden = set()
    for system in System.objects.all():
        forbidden |= {system.key, system.name}
    for clip in list(Clip.objects.all()) + list(CheckClip.objects.all()):
        name = clip.media.name
        forbidden |= {name, name.rsplit("/", 1)[-1], name.rsplit("/", 1)[-1].rsplit(".", 1)[0]}
    everything = b"\n".join(rc.bodies).decode("latin-1") + "\n".join(rc.urls)
    for word in forbidden:
        assert word not in everything, f"{word!r} reached the browser"
    # Random tokens (session and media URLs) can spell anything ("...mclipph..."): the words
    # are looked for in the pages without them; the exact names above were looked for in all.
    readable = {i: _without_tokens(page) for i, page in pages.items()}
    for word in ("expected", "target", "foil", "system", "clip", "is_check", "check_kind"):
        for page in readable.values():
            assert word not in page.lower(), f"{word!r} appears on a trial page"
    for word in ("reference", "anchor", "generated"):  # whole words ("no preference" is fine)
        for page in readable.values():
            assert not re.search(rf"\b{word}\b", page.lower()), f"{word!r} on a trial page"

    # No URL carries a database id: only opaque tokens and the session's own trial index.
    for url in rc.urls:
        path = url.split("?")[0]
        assert not re.search(r"/\d+(/|$)", re.sub(r"/t/\d+/", "/t/N/", path)), url

    # A check trial is indistinguishable from a regular one once tokens are set aside.
    checks = [i for i in pages if i in session.check_indices]
    regular = [i for i in pages if i not in session.check_indices]
    assert len(checks) == n_checks and regular
    reference = _normalise(pages[regular[0]])
    for i in checks + regular:
        assert _normalise(pages[i]) == reference
    return list(pages.values())


def test_media_tokens_are_unique_per_session_even_for_the_same_clip():
    study = make_study(slug="tok", n_items=1, trials_per_session=1, with_checks=False)
    srcs = []
    for code in ("A1", "B2"):
        client = Client()
        url = client.get(f"/s/{study.slug}/", {"code": code})["Location"]
        client.post(url + "consent", {"consent": "yes"})
        srcs.append({s["src"].rsplit("/", 1)[-1] for s in client.get(url).context["slots"]})
    assert not srcs[0] & srcs[1]


def test_screening_answers_never_reach_the_browser():
    from studies.models import ScreeningItem

    study = make_study(slug="hp", trials_per_session=2, with_checks=False, screening=True)
    rc = RecordingClient()
    response, _ = rc.get(f"/s/{study.slug}/", {"code": "HP1"})
    url = response["Location"]
    rc.post(url + "consent", {"consent": "yes"})
    rc.post(url + "screen/device", {"width": "1280", "height": "800"})
    _, page = rc.get(url)
    html = page.decode()
    items = list(ScreeningItem.objects.order_by("index"))
    lengths = set()
    for item in items:
        ranged, _ = rc.get(f"{url}a/{item.token}", HTTP_RANGE="bytes=0-")
        lengths.add(ranged["Content-Range"].rsplit("/", 1)[1])
    assert len(lengths) == 1  # every screening sound, of every question, has one byte length
    from tests.studies.test_screening import _hear_all

    _hear_all(Session.objects.get())
    form = {f"r-{i.token}": str(i.answer) for i in items}
    rc.post(url + "screen", form)
    assert Session.objects.get().status == Session.Status.ACTIVE

    everything = b"\n".join(rc.bodies).decode("latin-1") + "\n".join(rc.urls)
    for item in items:
        name = item.media_file.name.rsplit("/", 1)[-1]
        assert name not in everything and name.rsplit(".", 1)[0] not in everything
    for word in ("answer", "correct", "target", "huggins", "kind"):
        assert word not in html.lower(), f"{word!r} appears on the screening page"
    # Every headphone question is the same markup apart from its token and number.
    blocks = re.findall(r'<fieldset class="screen-item".*?</fieldset>', html, flags=re.S)
    tokens = {i.token: "TOKEN" for i in items}
    normalised = {
        re.sub(r"\d+", "N", re.sub("|".join(map(re.escape, tokens)), "TOKEN", b))
        for b in blocks[1:]
    }
    assert len(blocks) == 1 + study.headphone_trials and len(normalised) == 1


@pytest.mark.parametrize("design", ["best_of", "rating"])
def test_the_switching_player_lets_the_browser_see_no_system(design):
    """One video, every soundtrack fetched from its slot's opaque URL: the page, its requests
    and the event replies name no system, and every soundtrack has one byte length."""
    study = make_study(
        slug=f"blind-switch-{design}", design=design, player="switch", trials_per_session=3,
        check_trials_per_session=2,
    )  # fmt: skip
    answer = _scores if design == "rating" else _choose_b
    pages = _scan_a_whole_session(study, {"code": "LOCAL1"}, n_checks=2, answer=answer)
    assert all('id="switch-player"' in page and page.count("<video") == 1 for page in pages)
