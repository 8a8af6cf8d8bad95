"""Sessions bound to their browser, arrival limits, skipping a trial whose video will not load,
check trials that test what they should, and versions of one item at one byte length."""

import shutil
from collections import Counter

import pytest
from django.test import Client
from django.utils import timezone

from foley_models.render import ffmpeg
from studies import allocation, services
from studies.errors import AnswerRejected, StudyNotReady
from studies.models import Clip, PlaybackEvent, Session, Study, Trial
from studies.selectors import study_problems
from studies.stimuli import sizes
from tests import media_patterns
from tests.factories import make_study, start_session

pytestmark = [pytest.mark.django_db, pytest.mark.media, pytest.mark.postgres]


# --- one browser per session, limits ----------------------------------------------------------


def test_another_browser_with_the_session_url_gets_a_clear_page_not_the_session(client):
    study = make_study(slug="bind", with_checks=False)
    url = client.get(f"/s/{study.slug}/", {"code": "B1"})["Location"]
    assert client.get(url).status_code == 200
    stranger = Client()
    for response in (
        stranger.get(url),
        stranger.post(url + "consent", {"consent": "yes"}),
        stranger.post(url + "t/0/event", {"slot": "A", "kind": "play"}),
    ):
        assert response.status_code == 403
        assert b"started in another browser" in response.content
    assert Session.objects.get().status == Session.Status.CONSENT
    # Once work has begun, the same identity from another browser is refused too.
    client.post(url + "consent", {"consent": "yes"})
    response = stranger.get(f"/s/{study.slug}/", {"code": "B1"})
    assert response.status_code == 403
    assert client.get(url).status_code == 200


def test_session_creation_is_rate_limited_per_address_with_a_clear_429(settings):
    settings.PARTICIPANT_SESSIONS_PER_ADDRESS_PER_HOUR = 3
    study = make_study(slug="rate", with_checks=False)
    codes = [Client().get(f"/s/{study.slug}/", {"code": f"R{n}"}).status_code for n in range(4)]
    assert codes == [302, 302, 302, 429]
    response = Client().get(f"/s/{study.slug}/", {"code": "R9"})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert b"Too many sessions" in response.content
    assert Session.objects.count() == 3
    # Another address is not affected; the address itself is never stored.
    other = Client(REMOTE_ADDR="10.1.2.3").get(f"/s/{study.slug}/", {"code": "R10"})
    assert other.status_code == 302
    assert not Session.objects.filter(client_hash__contains="10.1.2.3").exists()


def test_session_creation_is_rate_limited_per_study(settings):
    settings.PARTICIPANT_SESSIONS_PER_STUDY_PER_MINUTE = 2
    study = make_study(slug="busy", with_checks=False)
    codes = [
        Client(REMOTE_ADDR=f"10.0.0.{n}").get(f"/s/{study.slug}/", {"code": f"S{n}"}).status_code
        for n in range(3)
    ]
    assert codes == [302, 302, 429]


def test_a_study_can_refuse_arrivals_without_a_recruiter_identity(client):
    study = make_study(slug="crowd", with_checks=False, accept_local_arrivals=False)
    assert client.get(f"/s/{study.slug}/").status_code == 403
    assert client.get(f"/s/{study.slug}/", {"code": "X1"}).status_code == 403
    assert client.post(f"/s/{study.slug}/").status_code == 403
    ok = client.get(f"/s/{study.slug}/", {"PROLIFIC_PID": "p1", "STUDY_ID": "s", "SESSION_ID": "t"})
    assert ok.status_code == 302 and Session.objects.count() == 1


# --- skipping a trial whose video will not load ------------------------------------------------


def _fail(session, trial, times):
    for _ in range(times):
        services.playback_record(session=session, trial_index=trial.index, position=1, kind="error")


def test_a_trial_is_skipped_only_after_load_failures_and_its_item_goes_back():
    study = make_study(slug="skip", with_checks=False, trials_per_session=2)
    session = start_session(study, "K1")
    trial = services.session_current_trial(session=session)
    with pytest.raises(AnswerRejected):
        services.trial_skip(session=session, trial_index=0)
    _fail(session, trial, 2)
    services.trial_skip(session=session, trial_index=0)
    trial.refresh_from_db()
    assert trial.skipped_at is not None and not trial.votes.exists()
    loads = allocation.item_loads(study, timezone.now())
    assert loads[trial.item_id].load == 0  # no lease held: the item is allocated again
    nxt = services.session_current_trial(session=session)
    assert nxt.index == 1 and nxt.item_id != trial.item_id
    with pytest.raises(AnswerRejected):
        services.trial_answer(session=session, trial_index=0, choices={})


def test_more_skips_than_allowed_end_the_session_with_the_screen_out_code(client):
    study = make_study(slug="skips", with_checks=False, trials_per_session=4, max_skipped_trials=1)
    url = client.get(f"/s/{study.slug}/", {"code": "K2"})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    session = Session.objects.get()
    for index in (0, 1):
        client.get(url)

        for _ in range(2):
            client.post(url + f"t/{index}/event", {"slot": "B", "kind": "error"})
        assert client.post(url + f"t/{index}/skip").status_code == 302
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENED_OUT
    assert PlaybackEvent.objects.filter(kind="error").count() == 4
    page = client.get(url).content.decode()
    assert study.screenout_code in page and "connection" in page
    assert study.completion_code not in page
    assert session.trials.get(index=1).skipped_at is not None


# --- check trials -----------------------------------------------------------------------------


def test_one_check_per_session_tests_noise_or_sync_at_random_and_never_a_regular_item():
    study = make_study(slug="chk", n_items=6, trials_per_session=3, check_trials_per_session=1)
    kinds = Counter()
    for n in range(40):
        session = start_session(study, f"C{n}")
        while (trial := services.session_current_trial(session=session)) is not None:
            Trial.objects.filter(pk=trial.pk).update(answered_at=timezone.now())
        checks = session.trials.exclude(check_kind="")
        regular = set(session.trials.filter(check_kind="").values_list("item_id", flat=True))
        assert checks.count() == 1
        assert checks.get().item_id not in regular
        kinds[checks.get().check_kind] += 1
    assert set(kinds) == {"noise", "sync"}
    assert min(kinds.values()) >= 10  # about half each (binomial, 40 sessions)


# --- one byte length per item -----------------------------------------------------------------


def _aac_clip(path, voice):
    """A test-pattern clip with AAC audio, whose size follows its content (faststart and at
    the target loudness, as the launch's preflight wants)."""
    media_patterns.make_clip_at_loudness(
        path, duration_s=2.0, item_offset_s=0.2, hue=0, voice=voice
    )
    out = path.with_name(path.stem + "-aac.mp4")
    ffmpeg.run_ffmpeg(
        ["-i", str(path), "-map", "0", "-c:v", "copy", "-c:a", "aac", "-b:a", "96k",
         "-movflags", "+faststart"],
        out,
    )  # fmt: skip
    return out


def test_versions_of_different_sizes_are_padded_and_still_decode(tmp_path, settings):
    study = make_study(slug="pad", n_items=1, with_checks=False, launch=False)
    item = study.items.get()
    for k, clip in enumerate(Clip.objects.filter(item=item)):
        src = _aac_clip(tmp_path / f"v{k}.mp4", voice=k)
        name = f"clips/pad-{k}.mp4"
        shutil.copy(src, settings.MEDIA_ROOT / name)
        Clip.objects.filter(pk=clip.pk).update(media=name)
    before = sizes.item_version_sizes(item)
    assert len(set(before.values())) > 1
    assert any("differ in size" in p for p in study_problems(study=study))
    services.study_launch(study=study)  # pads before checking
    after = sizes.item_version_sizes(item)
    assert len(set(after.values())) == 1 and max(after.values()) >= max(before.values())
    for name in after:
        path = settings.MEDIA_ROOT / name
        info = ffmpeg.probe(path)  # raises on any error ffprobe reports
        assert abs(float(info["format"]["duration"]) - 2.0) < 0.05
        decoded = ffmpeg.extract_audio(path, tmp_path / "d.wav", sample_rate=16000)
        assert decoded.stat().st_size > 16000
    # Padding again is a no-op; a regenerated larger version raises the others to its size.
    assert sizes.item_versions_equalize(item) == 0


def test_launch_refuses_an_item_whose_versions_differ_in_size_once_it_cannot_pad(tmp_path):
    study = make_study(slug="nopad", n_items=1, with_checks=False)
    item = study.items.get()
    session = start_session(study, "N1")
    services.session_current_trial(session=session)  # a rater now has a trial on the item
    services.study_set_status(study=study, status=Study.Status.PAUSED)
    clip = Clip.objects.filter(item=item).first()
    path = clip.media.path
    original = open(path, "rb").read()
    try:
        sizes.pad_to(path, len(original) + 100)
        with pytest.raises(StudyNotReady, match="differ in size"):
            services.study_launch(study=study)
    finally:
        open(path, "wb").write(original)
