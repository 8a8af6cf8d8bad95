"""The suite's tiers. A test's markers say what it needs beyond Python (registered in
pyproject.toml); `./run check` runs what needs none of it, `./run test` everything.

Most markers follow from the fixtures a test uses, so a new test is put in the right tier by
what it asks for; a test that calls ffmpeg (or starts a server) itself says so with
`pytestmark = pytest.mark.media` (or `server`) at the top of its module.
"""

# fixture -> the marker it implies (the fixtures that make media, start servers, drive a
# browser or train models).
FIXTURE_MARKERS = {
    # ffmpeg or FluidSynth
    "media_library": "media",
    "stimuli_dataset": "media",
    "small_synth": "media",
    "tiny_dataset": "media",
    "soundfont": "media",
    # a real server process on a local port
    "live_server": "server",
    "s3_server": "server",
    "s3_storage": "server",
    "nginx": "server",
    # a real browser
    "page": "browser",
    "desktop": "browser",
    "open_browser": "browser",
    # the project's train command
    "debug_checkpoints": "training",
}
# What a browser or a training run needs besides: a browser test serves pages and media.
IMPLIED = {"browser": ("server", "media"), "training": ("media",)}


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        markers = {FIXTURE_MARKERS[name] for name in names if name in FIXTURE_MARKERS}
        markers |= {m.name for m in item.iter_markers() if m.name in IMPLIED}
        for marker in list(markers):
            markers.update(IMPLIED.get(marker, ()))
        for marker in sorted(markers):
            if item.get_closest_marker(marker) is None:
                item.add_marker(marker)


def pytest_configure(config):
    # In one process per core (pytest-xdist), each process gets its share of the cores for
    # torch, and so do the processes it starts: OpenMP threads that outnumber the cores spin
    # against each other and make model tests many times slower.
    import os

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        os.environ["OMP_NUM_THREADS"] = threads
        os.environ["MKL_NUM_THREADS"] = threads
        import torch

        torch.set_num_threads(int(threads))
