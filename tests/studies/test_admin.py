import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from studies.models import Clip, Item, Study
from tests.factories import make_study

pytestmark = [pytest.mark.django_db, pytest.mark.media]


def _inline(prefix, rows=()):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        if prefix == "systems":
            row = {"role": "generated", **row}  # the page's select starts there
        data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _study_form(**changes) -> dict:
    """What the study add form posts, filled in as a researcher would."""
    data = {
        "title": "Pilot",
        "slug": "pilot",
        "design": "best_of",
        "versions_per_trial": "0",
        "instructions": "Listen.",
        "consent_text": "OK?",
        "trials_per_session": "6",
        "check_trials_per_session": "0",
        "target_votes_per_item": "20",
        "lease_minutes": "30",
        "completion_code": "C0DE",
        "screenout_code": "SCR33N",
        "screenout_reward_cents": "20",
        "max_skipped_trials": "2",
        "qc_max_failed_checks": "1",
        "qc_min_trial_seconds": "0",
        "qc_max_same_slot_share": "1",
        "headphone_trials": "6",
        "headphone_min_correct": "4",
        "bonus_cents": "0",
        "player": "separate",
        "switch_heard_fraction": "1.0",
        "max_av_delay_ms": "0",
        "qc_min_heard_fraction": "0",
        "qc_max_hidden_seconds": "0",
    }
    data.update(changes)
    return data


def test_the_admin_needs_a_staff_login(client):
    response = client.get("/admin/studies/study/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_creating_a_study_in_the_admin_adds_the_default_criteria(admin_client):
    data = {
        **_study_form(qc_require_played_all="on", screening="on", bonus_cents="50"),
        **_inline("criteria"),
        **_inline(
            "systems",
            [{"key": "foley_music", "name": "Foley Music"}, {"key": "wavenet", "name": "WaveNet"}],
        ),
    }
    response = admin_client.post("/admin/studies/study/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    study = Study.objects.get(slug="pilot")
    assert (study.screenout_code, study.accept_local_arrivals) == ("SCR33N", False)
    assert list(study.criteria.values_list("key", flat=True)) == [
        "correctness",
        "noise",
        "synchronization",
        "overall",
    ]
    assert list(study.systems.values_list("key", flat=True)) == ["foley_music", "wavenet"]
    assert study.screening and study.bonus_cents == 50


def test_the_add_form_shows_the_default_criteria_and_saves_them_as_edited(admin_client):
    page = admin_client.get("/admin/studies/study/add/").content.decode()
    assert 'name="criteria-TOTAL_FORMS" value="4"' in page
    for key in ("correctness", "noise", "synchronization", "overall"):
        assert f'value="{key}"' in page
    assert "not counting the check trials" in page  # trials per session says what it counts
    data = {
        **_study_form(title="Edited", slug="edited"),
        # As the page sends them: one default edited, one left as shown, two removed.
        **_inline(
            "criteria",
            [
                {"key": "overall", "question": "Which do you like best?", "order": "0"},
                {
                    "key": "noise",
                    "question": "Which video's music has the least noise and distortion?",
                    "order": "1",
                },  # fmt: skip
            ],
        ),
        **_inline("systems", [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}]),
    }
    response = admin_client.post("/admin/studies/study/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    study = Study.objects.get(slug="edited")
    assert list(study.criteria.values_list("key", "question")) == [
        ("overall", "Which do you like best?"),
        ("noise", "Which video's music has the least noise and distortion?"),
    ]


def test_file_links_on_item_and_clip_pages_open_the_staff_media_view(admin_client):
    study = make_study(slug="links", launch=False, n_items=1)
    item = Item.objects.get(study=study)
    clip = item.clips.first()
    link = f"/staff/media/{clip.media.name}"
    page = admin_client.get(f"/admin/studies/item/{item.pk}/change/").content.decode()
    assert f'href="{link}"' in page and f'href="/media/{clip.media.name}"' not in page
    page = admin_client.get(f"/admin/studies/clip/{clip.pk}/change/").content.decode()
    assert f'href="{link}"' in page
    response = admin_client.get(link)
    assert response.status_code in (200, 302) and response.status_code != 404


def test_launch_action_reports_every_problem_and_keeps_the_study_draft(admin_client):
    study = make_study(slug="incomplete", launch=False, with_checks=False)
    Clip.objects.filter(item__key="item-1").delete()
    # (Three items: a warning to accept, then the problems.)
    action = {"action": "launch_accepting_warnings", "_selected_action": [study.pk]}
    response = admin_client.post("/admin/studies/study/", action, follow=True)
    text = "\n".join(_messages(response))
    assert "not launched, 4 problem(s)" in text
    assert text.count("'item-1' has no clip for system") == 4
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT


def test_launch_pause_close_actions(admin_client):
    study = make_study(slug="ready", launch=False, n_items=6)  # 2 items of each of 3 instruments
    response = admin_client.post(
        "/admin/studies/study/", {"action": "launch", "_selected_action": [study.pk]}, follow=True
    )
    said = _messages(response)
    assert "not launched, 1 warning(s) to confirm" in said[0]
    assert "fewer than 4 items (cello 2, piano 2, violin 2)" in said[1]
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT
    action = {"action": "launch_accepting_warnings", "_selected_action": [study.pk]}
    response = admin_client.post("/admin/studies/study/", action, follow=True)
    said = _messages(response)
    assert any("(accepted): categories with fewer than 4 items" in m for m in said)
    assert any("is live. Participant link" in m and "/s/ready/" in m for m in said)
    study.refresh_from_db()
    assert study.status == Study.Status.LIVE
    admin_client.post("/admin/studies/study/", {"action": "pause", "_selected_action": [study.pk]})
    study.refresh_from_db()
    assert study.status == Study.Status.PAUSED
    admin_client.post("/admin/studies/study/", {"action": "close", "_selected_action": [study.pk]})
    study.refresh_from_db()
    assert study.status == Study.Status.CLOSED


def test_study_page_shows_link_and_progress(admin_client):
    study = make_study(slug="prog")
    page = admin_client.get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert "/s/prog/" in page
    assert "Sessions started / completed" in page and "Valid votes: overall" in page
    listing = admin_client.get("/admin/studies/study/").content.decode()
    assert "prog" in listing


def test_uploading_a_clip_stores_it_under_a_random_name_reencoded_and_padded(
    admin_client, media_library, tmp_path
):
    import shutil

    from foley_models.render import ffmpeg

    study = make_study(slug="up", launch=False, with_checks=False, n_items=1)
    item = Item.objects.get(study=study)
    system = study.systems.first()
    Clip.objects.filter(item=item, system=system).delete()
    # The item's other clips get their own copies: padding must not touch the shared library.
    for k, other in enumerate(Clip.objects.filter(item=item)):
        name = f"clips/up-{k}.mp4"
        shutil.copy(media_library.root / other.media.name, media_library.root / name)
        Clip.objects.filter(pk=other.pk).update(media=name)
    aac = ffmpeg.run_ffmpeg(
        ["-i", str(media_library.root / media_library.clips[(0, 0)]), "-c:v", "copy"]
        + ["-c:a", "aac", "-b:a", "96k"],
        tmp_path / "upload.mp4",
    )
    video = aac.read_bytes()
    data = {
        "study": study.pk,
        "key": item.key,
        "category": item.category,
        "duration_s": "2.0",
        "layout": "body65",
        **_inline(
            "clips",
            [
                {
                    "system": str(system.pk),
                    "duration_s": "2.0",
                    "media": SimpleUploadedFile(
                        "foley_music_piano.mp4", video, content_type="video/mp4"
                    ),
                }
            ],
        ),
        **_inline("check_clips"),
    }
    data["clips-INITIAL_FORMS"] = "0"
    response = admin_client.post(f"/admin/studies/item/{item.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    clip = Clip.objects.get(item=item, system=system)
    assert "foley" not in clip.media.name and clip.media.name.endswith(".mp4")
    path = media_library.root / clip.media.name
    codecs = sorted(s["codec_name"] for s in ffmpeg.probe(path)["streams"])
    assert codecs == ["h264", "mp3"]  # the AAC audio was re-encoded like generated clips
    assert abs(clip.duration_s - 2.0) < 0.05
    from studies.stimuli.sizes import item_version_sizes

    assert len(set(item_version_sizes(item).values())) == 1  # and every version padded to one size


def test_adding_a_recruitment_publishes_and_review_actions_report(admin_client):
    from studies.models import Recruitment, RemoteAction

    study = make_study(slug="pub")
    data = {
        "study": study.pk,
        "recruiter": "local",
        "places": "5",
        "reward_cents": "300",
        "minutes": "12",
        "actions-TOTAL_FORMS": "0",
        "actions-INITIAL_FORMS": "0",
    }
    response = admin_client.post("/admin/studies/recruitment/add/", data, follow=True)
    assert "Published as local-" in " ".join(_messages(response))
    recruitment = Recruitment.objects.get()
    assert list(recruitment.actions.values_list("kind", "state")) == [
        ("create", "done"),
        ("publish", "done"),
    ]
    response = admin_client.post(
        "/admin/studies/study/",
        {"action": "review_dry_run", "_selected_action": [study.pk]},
        follow=True,
    )
    assert "dry run: nothing sent" in " ".join(_messages(response))
    assert RemoteAction.objects.count() == 2
    response = admin_client.post(
        "/admin/studies/study/",
        {"action": "pay_bonuses", "_selected_action": [study.pk]},
        follow=True,
    )
    assert "no bonus set" in " ".join(_messages(response))


def test_admin_login_is_rate_limited_against_password_guessing(client, settings, django_user_model):
    settings.ADMIN_LOGIN_FAILURES_ALLOWED = 3
    django_user_model.objects.create_superuser("boss", "boss@example.org", "right-password")
    login = "/admin/login/?next=/admin/"
    for _ in range(3):
        response = client.post(login, {"username": "boss", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    refused = client.post(login, {"username": "boss", "password": "right-password"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # Another address guessing the same user name is refused too; other users are not.
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert other.post(login, {"username": "BOSS", "password": "x"}).status_code == 429
    django_user_model.objects.create_superuser("ada", "ada@example.org", "pw-ada")
    assert other.post(login, {"username": "ada", "password": "pw-ada"}).status_code == 302


def test_a_design_gets_its_own_questions_on_the_add_form(admin_client):
    page = admin_client.get("/admin/studies/study/add/?design=rating").content.decode()
    assert "How well does the music fit what the musician is playing?" in page
    assert 'name="criteria-TOTAL_FORMS" value="4"' in page
    # The best-of questions left as pre-filled on a MUSHRA study become the design's own.
    from studies.models import DEFAULT_CRITERIA

    data = {
        **_study_form(title="Mushra", slug="mushra", design="mushra"),
        **_inline(
            "criteria",
            [
                {"key": key, "question": question, "order": str(n)}
                for n, (key, question) in enumerate(DEFAULT_CRITERIA)
            ],
        ),
        **_inline(
            "systems",
            [
                {"key": "orig", "name": "Original", "role": "reference"},
                {"key": "low", "name": "Anchor", "role": "anchor"},
                {"key": "fm", "name": "Foley Music", "role": "generated"},
            ],
        ),
    }
    response = admin_client.post("/admin/studies/study/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    study = Study.objects.get(slug="mushra")
    assert list(study.criteria.values_list("key", flat=True)) == ["overall"]
    assert study.instructions == "Listen."  # the researcher's own text stays
    assert dict(study.systems.values_list("key", "role")) == {
        "orig": "reference",
        "low": "anchor",
        "fm": "generated",
    }
