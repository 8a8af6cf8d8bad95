"""The one settings module; every value can come from the environment (see .env.example)."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from evalsite.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "huey.contrib.djhuey",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "studies",
]

MIDDLEWARE = [
    "studies.middleware.MalformedRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "evalsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "evalsite.wsgi.application"
ASGI_APPLICATION = "evalsite.asgi.application"


def _database_from_env() -> dict:
    default_url = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
    url = env_str("DATABASE_URL", default_url)
    try:
        # Persistent connections in production (one per worker, checked before reuse): a new
        # PostgreSQL connection per request costs several milliseconds.
        config = dj_database_url.parse(
            url,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 0 if DEBUG else 60, minimum=0),
            conn_health_checks=True,
        )
    except Exception as exc:  # dj_database_url raises several types for a malformed URL
        raise ImproperlyConfigured(
            f"DATABASE_URL={url!r} is not a usable database URL: {exc}"
        ) from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE transactions take the write lock up front, so concurrent answers queue
        # behind each other instead of failing with "database is locked" on lock upgrade.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
        # Tests use a file (not :memory:) so that threads see one database.
        config["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    return config


DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))

# Stimuli and uploads. Never served under a public URL: participants get media only through
# per-session opaque URLs (studies.views.participant_media), staff through the admin.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
MEDIA_URL = "/media-not-public/"
# Production: Django only authorises a media request and hands the file to nginx under this
# internal prefix (X-Accel-Redirect; see deploy/nginx/foley-eval.conf), so no stimulus byte
# goes through a Python worker. Empty (the default, and with DEBUG): Django serves the bytes.
MEDIA_ACCEL_REDIRECT = env_str("MEDIA_ACCEL_REDIRECT", "")
if MEDIA_ACCEL_REDIRECT and not (
    MEDIA_ACCEL_REDIRECT.startswith("/") and MEDIA_ACCEL_REDIRECT.endswith("/")
):
    raise ImproperlyConfigured("MEDIA_ACCEL_REDIRECT must start and end with '/', e.g. /_media/")

# Where stimuli are stored: "local" (MEDIA_ROOT, the default) or "s3", an S3-compatible bucket
# through django-storages (AWS S3, MinIO, Ceph, R2, ...). Keys are random; participants and staff
# get presigned URLs valid for MEDIA_URL_EXPIRE_S, so media bytes never pass through Django.
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
MEDIA_URL_EXPIRE_S = env_int("MEDIA_URL_EXPIRE_S", 600, minimum=10)
if STORAGE_BACKEND == "s3":
    if not env_str("S3_BUCKET", ""):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET (the bucket's name)")
    _endpoint = env_str("S3_ENDPOINT_URL", "") or None
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": env_str("S3_BUCKET", ""),
                "endpoint_url": _endpoint,
                "region_name": env_str("S3_REGION", "") or None,
                # Empty: boto3's usual chain (AWS_ACCESS_KEY_ID..., a profile, an instance role).
                "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
                "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
                "location": env_str("S3_PREFIX", ""),
                "querystring_auth": True,
                "querystring_expire": MEDIA_URL_EXPIRE_S,
                "signature_version": "s3v4",
                # Self-hosted servers (MinIO, moto) want path-style addressing.
                "addressing_style": "path" if _endpoint else None,
                "file_overwrite": True,  # names are random; a rewrite (padding) keeps its name
                "default_acl": None,  # private: objects are only reachable through signed URLs
                "object_parameters": {},  # no metadata on any object
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
elif STORAGE_BACKEND != "local":
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be local or s3, not {STORAGE_BACKEND!r}")

# Where the admin looks for checkpoints to register (every *.pt below it) and where training
# runs started from the admin write; where it looks for datasets (folders with index.csv).
MODELS_DIR = Path(env_str("MODELS_DIR", str(DATA_DIR / "models"))).resolve()
DATASETS_DIR = Path(env_str("DATASETS_DIR", str(DATA_DIR / "datasets"))).resolve()
# A background job that has made no progress for this long counts as lost (its worker killed)
# and no longer blocks the next job of its study.
BACKGROUND_JOB_STALE_MINUTES = env_int("BACKGROUND_JOB_STALE_MINUTES", 30, minimum=1)

# Where a generation worker keeps checkpoints it fetched from the object store by sha256.
CHECKPOINT_CACHE_DIR = Path(env_str("CHECKPOINT_CACHE_DIR", str(DATA_DIR / "checkpoint-cache")))

# Session creation limits (429 past them): per client address per hour, per study per minute.
PARTICIPANT_SESSIONS_PER_ADDRESS_PER_HOUR = env_int(
    "PARTICIPANT_SESSIONS_PER_ADDRESS_PER_HOUR", 30, minimum=1
)
PARTICIPANT_SESSIONS_PER_STUDY_PER_MINUTE = env_int(
    "PARTICIPANT_SESSIONS_PER_STUDY_PER_MINUTE", 120, minimum=1
)
# The largest participant request body we accept (answers, playback events).
PARTICIPANT_MAX_BODY_BYTES = env_int("PARTICIPANT_MAX_BODY_BYTES", 16_384, minimum=1024)
# Uploaded stimuli can be large; form fields stay small.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Where the study is reachable from the crowd, used in printed links (e.g. https://eval.example.org).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Prolific's API token (Workspace settings -> API tokens); only needed to publish on Prolific.
# MTurk uses boto3's usual credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile).
PROLIFIC_API_TOKEN = env_str("PROLIFIC_API_TOKEN", "")

# Cookies: set these when the site runs behind HTTPS (required for crowd platforms).
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# MTurk shows the study in an iframe; a cross-site iframe needs SameSite=None (HTTPS only).
CSRF_COOKIE_SAMESITE = env_str("CSRF_COOKIE_SAMESITE", "Lax")
if CSRF_COOKIE_SAMESITE not in {"Lax", "Strict", "None"}:
    raise ImproperlyConfigured("CSRF_COOKIE_SAMESITE must be Lax, Strict or None")
if CSRF_COOKIE_SAMESITE == "None" and not CSRF_COOKIE_SECURE:
    raise ImproperlyConfigured("CSRF_COOKIE_SAMESITE=None needs CSRF_COOKIE_SECURE=1 (HTTPS)")
# No page is shown in a frame of this site; participant pages may be framed by the sites below.
X_FRAME_OPTIONS = "DENY"
# HTTPS only in production: redirect plain HTTP (behind a proxy, it must set X-Forwarded-Proto,
# see BEHIND_HTTPS_PROXY) and tell browsers to insist on HTTPS (HSTS) for a year.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
# The `preload` flag only allows submitting the domain to browsers' preload list; it enrols
# nothing by itself. Turn both off if subdomains of the study's domain serve plain HTTP.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Failed admin logins allowed per client address (and per user name) in 15 minutes.
ADMIN_LOGIN_FAILURES_ALLOWED = env_int("ADMIN_LOGIN_FAILURES_ALLOWED", 5, minimum=1)
# Origins allowed to show participant pages in an iframe (MTurk's ExternalQuestion does), e.g.
# "https://www.mturk.com https://workersandbox.mturk.com". Empty: no framing by other sites.
PARTICIPANT_FRAME_ANCESTORS = env_str("PARTICIPANT_FRAME_ANCESTORS", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_HTTPS_PROXY", False) else None
)

# Stimuli: every clip's soundtrack is brought to this rate, integrated loudness (ITU-R BS.1770,
# LUFS) and true-peak ceiling (dBTP) before it is muxed with the video.
STIMULUS_SAMPLE_RATE = env_int("STIMULUS_SAMPLE_RATE", 44100, minimum=8000)
STIMULUS_LOUDNESS_LUFS = env_float("STIMULUS_LOUDNESS_LUFS", -23.0)
STIMULUS_TRUE_PEAK_DBTP = env_float("STIMULUS_TRUE_PEAK_DBTP", -1.0)
if not (-60 < STIMULUS_LOUDNESS_LUFS < 0 and -20 < STIMULUS_TRUE_PEAK_DBTP <= 0):
    raise ImproperlyConfigured(
        "STIMULUS_LOUDNESS_LUFS must be in (-60, 0) and STIMULUS_TRUE_PEAK_DBTP in (-20, 0]"
    )

# Background jobs (clip generation): huey. The default needs no server: a SQLite queue under
# DATA_DIR, consumed by `manage.py run_huey` (./run demo starts one). In production set
# HUEY_REDIS_URL (and install the "redis" extra) to use Redis instead.
HUEY_REDIS_URL = env_str("HUEY_REDIS_URL", "")
if HUEY_REDIS_URL:
    HUEY = {
        "name": "foleyeval",
        "huey_class": "huey.RedisHuey",
        "url": HUEY_REDIS_URL,
        "immediate": False,
        "consumer": {"workers": 1, "worker_type": "thread"},
    }
else:
    HUEY_SQLITE_PATH = Path(env_str("HUEY_SQLITE_PATH", str(DATA_DIR / "huey.sqlite3")))
    HUEY_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    HUEY = {
        "name": "foleyeval",
        "huey_class": "huey.SqliteHuey",
        "filename": str(HUEY_SQLITE_PATH),
        "immediate": False,
        "consumer": {"workers": 1, "worker_type": "thread"},
    }

# The worker (run_huey) reads every live study's submissions this often and releases the items
# of returned and timed-out participants (manage.py sync_submissions does it by hand).
SYNC_SUBMISSIONS_EVERY_MINUTES = env_int("SYNC_SUBMISSIONS_EVERY_MINUTES", 5, minimum=1)
if 60 % SYNC_SUBMISSIONS_EVERY_MINUTES:
    raise ImproperlyConfigured("SYNC_SUBMISSIONS_EVERY_MINUTES must divide 60 (1, 2, 5, 10, ...)")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
