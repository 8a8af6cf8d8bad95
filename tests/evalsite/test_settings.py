"""Settings come from the environment and fail loudly on bad values (checked in a fresh process)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'debug': settings.DEBUG, 'engine': db['ENGINE'], 'name': str(db['NAME']), "
    "'hosts': settings.ALLOWED_HOSTS, 'media': str(settings.MEDIA_ROOT)}))"
)


def _settings(tmp_path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "MEDIA_ROOT", "DATA_DIR"}
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "evalsite.settings", "DATA_DIR": str(tmp_path)})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_local_defaults_are_debug_and_sqlite_under_the_data_folder(tmp_path):
    out = _settings(tmp_path)
    assert out.returncode == 0, out.stderr
    values = json.loads(out.stdout)
    assert values["debug"] is True
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "db.sqlite3")
    assert values["media"] == str(tmp_path / "media")
    assert "localhost" in values["hosts"]


def test_a_postgres_url_selects_postgresql(tmp_path):
    out = _settings(tmp_path, DATABASE_URL="postgres://u:p@db.example:5432/evals")
    assert out.returncode == 0, out.stderr
    values = json.loads(out.stdout)
    assert values["engine"] == "django.db.backends.postgresql" and values["name"] == "evals"


def test_an_empty_value_means_the_default(tmp_path):
    out = _settings(tmp_path, DATABASE_URL="", MEDIA_ROOT="", DEBUG="")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["debug"] is True


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEBUG": "0"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DATABASE_URL": "nosuchdb://x"}, "is not a usable database URL"),
        ({"PARTICIPANT_MAX_BODY_BYTES": "ten"}, "is not an integer"),
        ({"CSRF_COOKIE_SAMESITE": "None"}, "needs CSRF_COOKIE_SECURE=1"),
        ({"STORAGE_BACKEND": "s3"}, "STORAGE_BACKEND=s3 needs S3_BUCKET"),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND must be local or s3, not 'ftp'"),
        ({"SYNC_SUBMISSIONS_EVERY_MINUTES": "7"}, "must divide 60"),
    ],
)
def test_bad_values_stop_start_up_with_a_message_naming_them(tmp_path, env, message):
    out = _settings(tmp_path, **env)
    assert out.returncode != 0
    assert message in out.stderr


def test_debug_off_with_a_secret_key_and_hosts_starts(tmp_path):
    out = _settings(tmp_path, DEBUG="0", SECRET_KEY="x" * 50, ALLOWED_HOSTS="eval.example.org")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["hosts"] == ["eval.example.org"]


def test_the_production_settings_pass_the_deploy_check(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MEDIA_ROOT"}}
    env.update(
        DJANGO_SETTINGS_MODULE="evalsite.settings",
        DATA_DIR=str(tmp_path),
        DEBUG="0",
        SECRET_KEY="x" * 60 + "-not-a-real-key-but-long-and-random-enough-9f3k",
        ALLOWED_HOSTS="eval.example.org",
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_s3_storage_is_configured_from_the_environment(tmp_path):
    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        "from django.core.files.storage import storages; s = storages['default']; "
        "print(json.dumps({'cls': type(s).__name__, 'bucket': s.bucket_name, "
        "'endpoint': s.endpoint_url, 'expire': s.querystring_expire, 'acl': s.default_acl, "
        "'overwrite': s.file_overwrite, 'style': s.addressing_style}))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("S3_", "STORAGE"))},
        "DJANGO_SETTINGS_MODULE": "evalsite.settings",
        "DATA_DIR": str(tmp_path),
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": "study-stimuli",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "MEDIA_URL_EXPIRE_S": "300",
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "cls": "S3Storage",
        "bucket": "study-stimuli",
        "endpoint": "http://127.0.0.1:9000",
        "expire": 300,
        "acl": None,
        "overwrite": True,
        "style": "path",
    }
