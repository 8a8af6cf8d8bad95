"""The shipped nginx configuration: it passes `nginx -t`, and a real nginx in front of the app
serves a protected clip that Django authorised (X-Accel-Redirect), range requests included,
with headers that tell the versions of an item apart in nothing."""

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx" / "foley-eval.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        not Path(NGINX).exists(), reason="nginx is not installed (Debian: apt-get install nginx)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp: Path, *, port: int, upstream: str, media: Path, static: Path) -> Path:
    """The shipped site file with this test's paths and ports, inside a minimal main file."""
    site = SHIPPED.read_text()
    site = site.replace("server 127.0.0.1:8000;", f"server {upstream};")
    site = site.replace("/srv/foley-eval/var/media/", f"{media}/")
    site = site.replace("/srv/foley-eval/var/static/", f"{static}/")
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    site = site.replace("listen [::]:80;", "")
    (tmp / "site.conf").write_text(site)
    temp = "".join(
        f"{name}_temp_path {tmp}/{name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # The test's files sit in root's private temporary folders: workers run as the test's user.
    import getpass

    main = f"""
user {getpass.getuser()};
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    {temp}
    include {tmp}/site.conf;
}}
"""
    (tmp / "nginx.conf").write_text(main)
    return tmp / "nginx.conf"


def test_the_shipped_configuration_passes_nginx_t(tmp_path):
    conf = _config(
        tmp_path, port=_free_port(), upstream="127.0.0.1:9", media=tmp_path, static=tmp_path
    )
    out = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "syntax is ok" in out.stderr


@pytest.fixture
def nginx(tmp_path, live_server, settings, media_library):
    settings.MEDIA_ACCEL_REDIRECT = "/_protected_media/"
    settings.BEHIND_HTTPS_PROXY = True
    port = _free_port()
    upstream = live_server.url.split("//", 1)[1]
    static = tmp_path / "static"
    static.mkdir()
    conf = _config(tmp_path, port=port, upstream=upstream, media=media_library.root, static=static)
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.skip(f"nginx could not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.05)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_nginx_serves_an_authorised_clip_with_ranges_and_nothing_that_names_it(
    nginx, media_library
):
    from studies.models import TrialSlot
    from tests.factories import make_study

    study = make_study(slug="nginx", n_items=1, trials_per_session=1, with_checks=False)
    browser = requests.Session()
    page = browser.get(f"{nginx}/s/{study.slug}/", params={"code": "NGX1"}, timeout=30)
    url = page.url
    csrf = browser.cookies["csrftoken"]
    page = browser.post(url + "consent", data={"consent": "yes", "csrfmiddlewaretoken": csrf})
    sources = re.findall(r'<video[^>]* src="([^"]+)"', page.text)
    assert len(sources) == 4
    headers = []
    for src in sources:
        token = src.rsplit("/", 1)[1]
        path = media_library.root / TrialSlot.objects.get(token=token).clip.media.name
        data = path.read_bytes()
        ranged = browser.get(nginx + src, headers={"Range": "bytes=100-1099"}, timeout=30)
        assert ranged.status_code == 206
        assert ranged.content == data[100:1100]
        assert ranged.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
        whole = browser.get(nginx + src, timeout=30)
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["Content-Type"] == "video/mp4"
        for leak in ("X-Accel-Redirect", "ETag", "Content-Disposition"):
            assert leak not in whole.headers
        assert whole.headers.get("Server") == "nginx"  # no version
        headers.append({k: v for k, v in whole.headers.items() if k not in ("Date",)})
    # The four versions' responses are identical, header for header.
    assert all(h == headers[0] for h in headers)
    # The internal location cannot be asked for directly, and another browser gets nothing.
    name = TrialSlot.objects.first().clip.media.name
    assert requests.get(f"{nginx}/_protected_media/{name}", timeout=30).status_code == 404
    assert requests.get(nginx + sources[0], timeout=30).status_code == 403
