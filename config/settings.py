"""Inkstone settings. Everything that varies by deployment comes from the environment."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_list, env_number

BASE_DIR = Path(__file__).resolve().parent.parent


# Django core

# Interface language: LANGUAGE_CODE for everyone, or, with negotiation on, each
# reader's browser language when it is one we ship.
LANGUAGE_NEGOTIATION = env_bool("LANGUAGE_NEGOTIATION")

DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off."
        )
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "markdownx",
    "simple_history",
    "axes",
    "csp",
    "accounts",
    "blog",
]

MIDDLEWARE = [
    "config.health.ProbeMiddleware",
    "config.middleware.RequestLogMiddleware",
    # Ahead of the rest, so a cached page keeps every header they add.
    "blog.page_cache.PageCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    *(["django.middleware.locale.LocaleMiddleware"] if LANGUAGE_NEGOTIATION else []),
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.LazyMessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "blog.context_processors.site",
            ],
        },
    },
]

# No SQLite path: PostgreSQL is the only database. `make run`/`make test` export a
# DATABASE_URL for an embedded server when none is set (see config/localenv.py).
try:
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ.get(
                "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/inkstone"
            ),
            conn_max_age=env_number("DATABASE_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
except (ValueError, dj_database_url.ParseError) as error:
    raise ImproperlyConfigured(f"DATABASE_URL: {error}") from None
RETRY_AFTER_SECONDS = 5
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured(
        "Inkstone runs on PostgreSQL only; DATABASE_URL must be postgres://"
    )
if not DATABASES["default"]["NAME"]:
    raise ImproperlyConfigured(
        "DATABASE_URL names no database: postgres://USER:PASSWORD@HOST:PORT/NAME"
    )
# Django's backend with a health check that skips the round trip while the socket
# shows the server has not closed the connection.
DATABASES["default"]["ENGINE"] = "config.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_number(
    "DATABASE_CONNECT_TIMEOUT", 3, minimum=1
)
# Django turns psycopg's prepared statements off; the ORM binds parameters on the
# client and never prepares, so this only lets the reader statements be prepared
# (blog.views.PREPARED_STATEMENTS; blog.apps sizes psycopg's statement cache for
# them and has PostgreSQL keep one plan for each). Off for a pooler that cannot keep
# them (PgBouncer before 1.22, or without max_prepared_statements).
if env_bool("DATABASE_PREPARED_STATEMENTS", True):
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5

# Local memory by default; Redis (shared by every replica) when CACHE_URL or REDIS_URL
# is a redis:// URL. Short socket timeouts: a dead Redis must cost milliseconds.
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL", "")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"CACHE_URL/REDIS_URL={CACHE_URL!r}: must start with redis://, rediss:// or "
        "unix://, or be unset for each process's own memory"
    )
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "inkstone",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "config.bounded_cache.BoundedLocMemCache",
            "OPTIONS": {
                "MAX_ENTRIES": 5000,
                "MAX_BYTES": env_number("CACHE_MAX_MB", 48, minimum=1) << 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Uploaded media on S3-compatible object storage (AWS, MinIO, R2, ...) when a bucket
# is configured, so that every replica sees every upload.
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            "custom_domain": os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
            "location": os.environ.get("AWS_LOCATION", "media"),
            # Public, immutable objects: uploads get random names and never change.
            "querystring_auth": False,
            "default_acl": None,
            "file_overwrite": False,
            "object_parameters": {
                "CacheControl": "public, max-age=31536000, immutable"
            },
        },
    }

# Cookies are Secure unless explicitly turned off for plain-HTTP local use.
SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_HSTS_SECONDS = env_number("DJANGO_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD")
# Preloading is a hard-to-undo commitment an operator opts into, not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT")
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL={os.environ['LOG_LEVEL']!r}: use DEBUG, INFO, WARNING, ERROR or "
        "CRITICAL"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.middleware.JsonFormatter"}},
    "filters": {
        "outage": {"()": "config.middleware.OutageLogFilter"},
        "suspicious": {"()": "config.middleware.SuspiciousRequestFilter"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["outage", "suspicious"],
        }
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Our request log replaces Django's per-request warnings for 404s.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}

# Third party

ADMIN_URL = os.environ.get("DJANGO_ADMIN_URL", "admin/").strip("/") + "/"
# Where a login without a (safe) "next" goes: there is no /accounts/profile/.
LOGIN_REDIRECT_URL = "admin:index"

AXES_FAILURE_LIMIT = env_number("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_number("AXES_COOLOFF_HOURS", 1.0, kind=float)
# Lock the IP address that keeps failing, whatever the username: locked by username,
# anyone could keep any author out by failing five times an hour from anywhere.
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind N trusted proxies (nginx in the compose file: 1), the client address is the
# N-th from the right in X-Forwarded-For; with none, only REMOTE_ADDR is believed.
TRUSTED_PROXY_COUNT = env_number("AXES_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_SENSITIVE_PARAMETERS = ["password"]

# Uploads served from object storage or a CDN are images from another origin.
if AWS_STORAGE_BUCKET_NAME:
    _endpoint = urlsplit(os.environ.get("AWS_S3_ENDPOINT_URL", ""))
    if os.environ.get("AWS_S3_CUSTOM_DOMAIN"):
        MEDIA_ORIGINS = [f"https://{os.environ['AWS_S3_CUSTOM_DOMAIN']}"]
    elif _endpoint.netloc:
        MEDIA_ORIGINS = [f"{_endpoint.scheme}://{_endpoint.netloc}"]
    else:
        MEDIA_ORIGINS = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"]
else:
    MEDIA_ORIGINS = []

# No per-request nonces: responses stay byte-identical, so they can be cached and
# revalidated with ETags. Every script and style is a static file. Sent by
# config.middleware.SecurityHeadersMiddleware, built once from this setting
# (django-csp's nonces and per-view decorators are not used).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *MEDIA_ORIGINS],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)

# The site's icon where browsers, feed readers and crawlers look for it without a
# <link> (/favicon.ico: the admin's pages, Feedly, search engines) and a phone's
# home-screen icon (/apple-touch-icon.png). Pages carry the same drawing inline.
WHITENOISE_ROOT = BASE_DIR / "static" / "icons"

MARKDOWNX_MARKDOWNIFY_FUNCTION = "blog.markdown.markdownify"
MARKDOWNX_URLS_PATH = f"/{ADMIN_URL}markdownx/markdownify/"
MARKDOWNX_UPLOAD_URLS_PATH = f"/{ADMIN_URL}markdownx/upload/"
MARKDOWNX_SERVER_CALL_LATENCY = 300

# Inkstone

SITE_NAME = os.environ.get("SITE_NAME", "Inkstone")
SITE_TAGLINE = os.environ.get(
    "SITE_TAGLINE", "Notes on machine learning, code and math"
)
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")) or not urlsplit(SITE_URL).netloc:
    raise ImproperlyConfigured(
        f"SITE_URL={SITE_URL!r}: the address readers use, such as "
        "https://blog.example.com (feeds and sitemaps link to it)"
    )
POSTS_PER_PAGE = env_number("POSTS_PER_PAGE", 10, minimum=1)

INKSTONE_UPLOAD_MAX_BYTES = env_number("UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
INKSTONE_UPLOAD_MAX_PIXELS = env_number("UPLOAD_MAX_PIXELS", 40_000_000, minimum=1)
# Form fields (a long post in Chinese is 3 bytes a character) may total 8 MB; larger
# request bodies are refused before any view reads them.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

PAGE_CACHE_ENABLED = env_bool("PAGE_CACHE_ENABLED", True)
PAGE_CACHE_ALIAS = "default"
PAGE_CACHE_SECONDS = env_number("PAGE_CACHE_SECONDS", 600, minimum=1)
# Each process LISTENs for content changes (one more connection a worker) and trusts
# the content version it last read until PostgreSQL tells it of a committed change
# (blog.change_listener). Off for a pooler that cannot LISTEN (PgBouncer in
# transaction mode); then, and while the listener is down, a process trusts the
# version for PAGE_CACHE_TOKEN_TTL seconds before asking again.
PAGE_CACHE_LISTEN = env_bool("PAGE_CACHE_LISTEN", True)
PAGE_CACHE_TOKEN_TTL = env_number("PAGE_CACHE_TOKEN_TTL", 1.0, kind=float)
# What browsers and shared caches (nginx, a CDN) are told. Browsers revalidate every
# time (a cheap 304); shared caches may keep a page for s-maxage seconds.
PAGE_CACHE_MAX_AGE = env_number("PAGE_CACHE_MAX_AGE", 0)
PAGE_CACHE_S_MAXAGE = env_number("PAGE_CACHE_S_MAXAGE", 10)
PAGE_CACHE_STALE_WHILE_REVALIDATE = env_number("PAGE_CACHE_SWR", 60)
PAGE_CACHE_EXCLUDED_PREFIXES = (
    f"/{ADMIN_URL}",
    "/healthz",
    "/readyz",
    MEDIA_URL,
    f"/{STATIC_URL}",
)
# Serve uploads from the app itself (fine for one container; put a proxy or object
# storage in front when scaling out).
SERVE_MEDIA = env_bool("SERVE_MEDIA", not AWS_STORAGE_BUCKET_NAME)

SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(dsn=SENTRY_DSN, send_default_pii=False, traces_sample_rate=0.0)
