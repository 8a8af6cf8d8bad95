"""A researcher runs a study from the admin in a real Chromium: the study page and its
dashboard fit the screen, items are imported and a system trained as background jobs whose
pages update themselves, and a running generation job is cancelled from its page.

A worker thread of this process stands for `manage.py run_huey`: it takes the jobs the pages
queued from a queue of this test's own."""

import os
import threading
from pathlib import Path

import pytest
from django.db import connection
from huey.contrib.djhuey import HUEY
from huey.storage import SqliteStorage

from studies.models import BackgroundJob, Checkpoint, Clip, GenerationJob, Item, TrainingRun
from studies.services.rater_simulation import simulate_raters
from tests.browser.conftest import needs_chromium
from tests.factories import SYSTEM_KEYS, make_study
from tests.studies.stimuli.conftest import make_generation_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]
PASSWORD = "a-long-admin-password"
# The deepest elements that reach past the right edge of the window (what makes a page scroll).
WIDEST = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => !Array.from(e.children).some(
      c => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 8)
  .map(e => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


@pytest.fixture
def queue(tmp_path, monkeypatch):
    storage = SqliteStorage(name="browser", filename=str(tmp_path / "queue.sqlite3"))
    monkeypatch.setattr(HUEY, "storage", storage)
    return HUEY


@pytest.fixture
def admin_page(page, live_server, django_user_model):
    django_user_model.objects.create_superuser("researcher", "r@example.org", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("researcher")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Site administration").wait_for()
    return page


def _worker(huey) -> threading.Thread:
    """Run every queued message, and what they queue, in a thread (as run_huey would)."""

    def work():
        try:
            while (task := huey.dequeue()) is not None:
                huey.execute(task)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _screenshot(page, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a page was drawn, not a blank
    return path


def test_the_study_page_and_its_dashboard_fit_desktop_and_phone(admin_page, live_server, tmp_path):
    page = admin_page
    study = make_study(slug="dash", n_items=4, trials_per_session=4, target_votes_per_item=3)
    preferences = {SYSTEM_KEYS[s]: w for s, w in enumerate((4.0, 2.0, 1.0, 1.0))}
    simulate_raters(study=study, participants=5, preferences=preferences, seed=2)
    study.sessions.update(simulated=False)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for width, height, name in ((1280, 900, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
        dashboard = page.locator("#study-dashboard")
        dashboard.wait_for()
        assert dashboard.locator("svg").count() >= 2  # over time, heatmap
        box = dashboard.bounding_box()
        assert box["width"] <= width  # the charts scale to the screen
        for svg in dashboard.locator("svg").all():
            assert svg.bounding_box()["width"] <= width
        _screenshot(page, f"study-dashboard-{name}.png", tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    systems = page.locator("#systems-group")
    assert systems.bounding_box()["width"] <= 1280  # was 2,242 px as a table
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(WIDEST)
    assert overflow <= 1, wide
    page.get_by_role("link", name="Show interim shares").click()
    page.get_by_text("optional stopping").first.wait_for()
    assert not errors, errors


def test_import_items_and_train_a_system_as_jobs_whose_pages_update(
    admin_page, live_server, queue, stimuli_dataset, settings, tmp_path
):
    page = admin_page
    settings.DATASETS_DIR = stimuli_dataset.parent
    settings.MODELS_DIR = tmp_path / "models"
    settings.MEDIA_ROOT = tmp_path / "media"
    study = make_study(slug="fromadmin", n_items=0, launch=False)
    # The study page links to the import, which arrives with the study chosen.
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    page.get_by_role("link", name="Import items").click()
    page.get_by_label("Dataset found").select_option(str(stimuli_dataset))
    page.get_by_label("Per category").fill("1")
    page.get_by_label("Duration s").fill("2")
    page.get_by_role("button", name="Save and continue editing").click()
    status = page.locator("#job-status")
    status.get_by_text("Queued").wait_for()
    assert page.get_by_role("button", name="Cancel job").is_visible()
    worker = _worker(queue)
    # The page asks for its status and reloads itself when the job ends.
    page.locator("#job-status[data-active='0']").wait_for(timeout=60_000)
    worker.join(60)
    assert "Done" in status.inner_text() and "2 items in fromadmin" in status.inner_text()
    assert Item.objects.filter(study=study).count() == 2
    assert not page.get_by_role("button", name="Cancel job").is_visible()

    page.goto(f"{live_server.url}/admin/studies/trainingrun/add/")
    page.get_by_label("System").select_option("wavenet")
    page.get_by_label("Dataset found").select_option(str(stimuli_dataset))
    page.get_by_label("Preset").select_option("debug")
    page.get_by_label("Device").fill("cpu")
    page.get_by_label("Max steps").fill("3")
    page.get_by_label("Val every").fill("3")
    page.get_by_label("Assign to").select_option(label=f"{study.slug}: {study.systems.first().key}")
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator("#job-status").wait_for()
    worker = _worker(queue)
    page.locator("#job-status[data-active='0']").wait_for(timeout=120_000)
    worker.join(60)
    run = TrainingRun.objects.get()
    assert run.status == BackgroundJob.Status.DONE, run.message
    assert "registered" in page.locator("#job-status").inner_text()
    study.systems.first().refresh_from_db()
    assert study.systems.first().checkpoint == Checkpoint.objects.get() == run.checkpoint
    _screenshot(page, "training-run-done.png", tmp_path)


def test_a_running_generation_job_is_cancelled_from_its_page(
    admin_page, live_server, queue, stimuli_dataset, debug_checkpoints, settings, tmp_path,
    monkeypatch,
):  # fmt: skip
    from studies.stimuli import generation

    page = admin_page
    settings.MEDIA_ROOT = tmp_path / "media"
    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="gencancel")
    # The worker makes one clip, then waits inside the second until the test lets it go on.
    real_store, stored, go_on = generation._store, [], threading.Event()

    def store(*args, **kwargs):
        stored.append(1)
        if len(stored) == 2:
            go_on.wait(60)
        return real_store(*args, **kwargs)

    monkeypatch.setattr(generation, "_store", store)
    page.goto(f"{live_server.url}/admin/studies/generationjob/add/?study={study.pk}")
    page.get_by_label("Device").fill("cpu")
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator("#job-status").wait_for()
    worker = _worker(queue)
    status = page.locator("#job-status")
    status.get_by_text("1 of 10").wait_for(timeout=60_000)  # the page updated itself
    assert "ETA" in status.inner_text()
    assert "Name of" in status.inner_text()  # per-system rows
    _screenshot(page, "generation-job-running.png", tmp_path)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel job").click()
    page.get_by_text("cancelled: its worker stops at the next unit of work").wait_for()
    go_on.set()
    worker.join(60)
    assert not worker.is_alive()
    job = GenerationJob.objects.get()
    assert job.status == BackgroundJob.Status.CANCELLED
    assert Clip.objects.count() == 2  # the one it was making is finished and kept; no more
    page.reload()
    assert "Cancelled" in page.locator("#job-status").inner_text()
    assert not page.get_by_role("button", name="Cancel job").is_visible()
