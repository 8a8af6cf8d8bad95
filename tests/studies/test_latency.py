"""The latency check: the estimate from tap times, and the screening step around it (stored on
the session, required before the sound checks are scored, a rater above the threshold screened
out when the study says so)."""

import numpy as np
import pytest

from studies import latency
from studies.models import Session
from tests.factories import make_study
from tests.studies.test_screening import _device, _form, _hear_all, _start

pytestmark = pytest.mark.media


def _taps(delay_ms, *, seed=0, lag_ms=-20.0, jitter_ms=15.0, n=8, period=750.0):
    rng = np.random.default_rng(seed)
    flashes = [1000.0 + period * k for k in range(n)]
    beeps = [20_000.0 + period * k for k in range(n)]
    visual = [t + lag_ms + rng.normal(0, jitter_ms) for t in flashes]
    audio = [t + delay_ms + lag_ms + rng.normal(0, jitter_ms) for t in beeps]
    return {"flashes": flashes, "visual_taps": visual, "beeps": beeps, "audio_taps": audio}


@pytest.mark.parametrize("delay", [0, 150, 300])
def test_the_estimate_recovers_the_delay_from_steady_taps(delay):
    result = latency.estimate(**_taps(delay, seed=delay))
    assert abs(result.delay_ms - delay) < 20
    assert result.visual_taps == result.audio_taps == 6  # the first two are the lead-in


def test_missing_or_unsteady_taps_are_refused_with_the_reason():
    taps = _taps(100)
    with pytest.raises(latency.LatencyError, match="too few taps along with the beeps"):
        latency.estimate(**{**taps, "audio_taps": taps["audio_taps"][:4]})
    uneven = [t + (100 if k % 2 else -100) for k, t in enumerate(taps["flashes"])]
    with pytest.raises(latency.LatencyError, match="too uneven"):
        latency.estimate(**{**taps, "visual_taps": uneven})
    with pytest.raises(latency.LatencyError, match="too few flashes"):
        latency.estimate(**{**taps, "flashes": taps["flashes"][:3]})


def _encoded(taps):
    return {k: ",".join(f"{v:.1f}" for v in values) for k, values in taps.items()}


@pytest.fixture
def screening_out_study(db):
    """Screening with the latency check; raters above 200 ms are screened out."""
    return make_study(
        slug="lat", with_checks=False, trials_per_session=1, screening=True, latency_check=True,
        max_av_delay_ms=200, latency_screen_out=True,
    )  # fmt: skip


def test_the_check_is_stored_required_and_can_screen_out(client, screening_out_study):
    study = screening_out_study
    url, session = _start(client, study)
    assert client.post(url + "screen/latency", _encoded(_taps(250))).status_code == 409
    _device(client, url)
    page = client.get(url).content.decode()
    assert 'id="latency-check"' in page
    _hear_all(session)
    response = client.post(url + "screen", _form(session))
    assert response.status_code == 409 and b"sound delay check" in response.content
    bad = client.post(url + "screen/latency", {"flashes": "1,x"})
    assert bad.status_code == 400 and "must be numbers" in bad.json()["error"]
    few = client.post(url + "screen/latency", _encoded({**_taps(250), "audio_taps": []}))
    assert few.status_code == 400 and "too few taps" in few.json()["error"]
    late = client.post(url + "screen/latency", _encoded(_taps(250))).json()
    assert late["too_late"] and 230 <= late["delay_ms"] <= 270
    session.refresh_from_db()
    assert session.screening["latency_runs"] == 2 and 230 <= session.av_delay_ms <= 270
    client.post(url + "screen", _form(session))
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENED_OUT
    assert "Bluetooth" in " ".join(session.screening["result"]["reasons"])


def test_a_rater_who_redoes_the_check_with_wired_headphones_goes_on(client, screening_out_study):
    url, session = _start(client, screening_out_study)
    _device(client, url)
    _hear_all(session)
    assert client.post(url + "screen/latency", _encoded(_taps(280))).json()["too_late"]
    assert not client.post(url + "screen/latency", _encoded(_taps(20, seed=3))).json()["too_late"]
    client.post(url + "screen", _form(session))
    session.refresh_from_db()
    assert session.status == Session.Status.ACTIVE and session.av_delay_ms < 60
