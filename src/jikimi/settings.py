"""Django settings, all from the environment.

JIKIMI_HOME   folder for the SQLite database, key file and evidence store (default ./var)
DATABASE_URL  postgres://… switches to PostgreSQL
JIKIMI_KEYS   the key ring as JSON (else JIKIMI_HOME/keys.json)
JIKIMI_DEBUG  "1" turns debug on (never in production)
JIKIMI_DEMO   "1" marks a demo install: the login page lists the demo accounts
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from jikimi.core.db import sqlite_database

BASE_DIR = Path(__file__).resolve().parent
JIKIMI_HOME = Path(os.environ.get("JIKIMI_HOME", "var")).resolve()
DEBUG = os.environ.get("JIKIMI_DEBUG") == "1"
DEMO = os.environ.get("JIKIMI_DEMO") == "1"
TESTING = os.environ.get("JIKIMI_TESTING") == "1"


def _secret_key() -> str:
    """The Django secret comes from the environment or from a file beside the keys.

    It signs sessions and CSRF tokens; it is not used for field encryption (the key ring is).
    """
    if key := os.environ.get("JIKIMI_SECRET_KEY"):
        return key
    path = JIKIMI_HOME / "secret_key"
    if path.exists():
        return path.read_text().strip()
    # Before `jikimi init` (e.g. `jikimi estimate` with no home): a per-process secret, so
    # nothing signed can outlive the process.
    import secrets

    return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("JIKIMI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("JIKIMI_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files for the API documentation page (/api/docs/), served from here.
    "drf_spectacular_sidecar",
    "jikimi.core",
    "jikimi.accounts",
    "jikimi.audit",
    "jikimi.people",
    "jikimi.notify",
    "jikimi.alerts",
    "jikimi.checkins",
    "jikimi.linkage",
    "jikimi.incidents",
    "jikimi.cases",
    "jikimi.estimates",
    "jikimi.reports",
    "jikimi.api",
    "jikimi.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "jikimi.accounts.middleware.RequireVerifiedStaffMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Service errors a view lets through become the 404/403/400 page (one mapping).
    "jikimi.core.errors.ServiceErrorMiddleware",
]

ROOT_URLCONF = "jikimi.urls"
WSGI_APPLICATION = "jikimi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# --- Database: SQLite in JIKIMI_HOME unless DATABASE_URL says otherwise ---------------------
if os.environ.get("DATABASE_URL"):
    # No health checks: on PostgreSQL each is a round trip per request; a broken connection
    # fails one request and Django drops it.
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    # WAL, IMMEDIATE transactions, a busy timeout and synchronous=FULL: the rules for several
    # processes on one file are in jikimi.core.db.
    # (django-stubs' DBConfig type lacks some keys of SQLite's options)
    DATABASES = {"default": sqlite_database(JIKIMI_HOME / "jikimi.sqlite3")}  # type: ignore[dict-item]
if name := os.environ.get("JIKIMI_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": name}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
if TESTING:
    # Argon2 at full cost makes a test suite with hundreds of logins crawl; the hasher is
    # the same, only cheaper, and production never sets JIKIMI_TESTING.
    PASSWORD_HASHERS = ["jikimi.accounts.hashers.FastArgon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "people:list"

# Lock-out and re-authentication (see accounts.services)
JIKIMI_LOCKOUT_ATTEMPTS = 5
JIKIMI_LOCKOUT_MINUTES = 15
JIKIMI_REAUTH_MINUTES = 10

# --- Evidence uploads (incidents.evidence) ------------------------------------------------
# The largest evidence file accepted (a long video); `filestore.put` streams it in chunks.
JIKIMI_EVIDENCE_MAX_BYTES = int(os.environ.get("JIKIMI_EVIDENCE_MAX_BYTES", str(2 * 1024**3)))
# An uploaded file above 2.5 MB goes to a temporary file, never into memory (a 500 MB video
# is read from disk in chunks). These are Django's defaults, stated because evidence relies
# on them; DATA_UPLOAD_MAX_MEMORY_SIZE counts the form's fields, not its files.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Internationalisation: Korean first, English too ------------------------------------
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Seoul"
USE_TZ = True

STATIC_URL = "/static/"
# Project-wide assets (stylesheet, vendored htmx and the Korean web font) live outside the apps.
STATICFILES_DIRS = [BASE_DIR / "static"]
# Static files are served from the apps by WhiteNoise's finders; a production install behind a
# proxy may `collectstatic` into JIKIMI_STATIC_ROOT instead.
STATIC_ROOT = os.environ.get("JIKIMI_STATIC_ROOT") or None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security headers and cookies -------------------------------------------------------
# django.utils.csp.CSP's values, written out: importing it (django.utils.html, django.conf,
# asyncio) for two words made reading the settings cost every command a tenth of a second.
_SELF, _NONE = "'self'", "'none'"
SECURE_CSP = {
    "default-src": [_SELF],
    "script-src": [_SELF],
    "style-src": [_SELF],
    "img-src": [_SELF, "data:"],
    "font-src": [_SELF],
    "connect-src": [_SELF],
    "object-src": [_NONE],
    "base-uri": [_NONE],
    "frame-ancestors": [_NONE],
    "form-action": [_SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": with no-referrer Chromium sends `Origin: null` on form
# POSTs and Django's CSRF check refuses them. Other sites still learn nothing.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
# No script reads the CSRF cookie: forms carry {% csrf_token %} and htmx sends the token from
# base.html's hx-headers. HttpOnly keeps an injected script from reading it too.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Behind TLS (production) cookies are Secure; the embedded server on 127.0.0.1 is plain HTTP.
_https = os.environ.get("JIKIMI_HTTPS", "0") == "1"
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https
SECURE_HSTS_SECONDS = 31536000 if _https else 0
if _https:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies whose X-Forwarded-For is believed (jikimi.core.net.client_ip), e.g.
# "127.0.0.1,10.0.0.0/8". Empty: the connecting address is the client.
JIKIMI_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("JIKIMI_TRUSTED_PROXIES", "").split(",") if p.strip()
]

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "jikimi.api.auth.HashedTokenAuthentication",
        "jikimi.api.auth.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        # After authentication: a body that is not a JSON object is a 400 in every view.
        "jikimi.api.parsers.BodyIsAnObject",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "jikimi.api.parsers.ObjectJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "jikimi.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Jikimi API",
    "DESCRIPTION": "Check-ins, people, cases, linkage and estimates for the protection of "
    "North Korean defectors.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies apart from responses: what the server sets (ids, times) is not asked for.
    "COMPONENT_SPLIT_REQUEST": True,
    # The API's documented body is JSON (the form parsers stay for the browsable pages).
    "PARSER_WHITELIST": ["jikimi.api.parsers.ObjectJSONParser"],
    # An enrolment's status is one enum wherever an enrolment is answered.
    "ENUM_NAME_OVERRIDES": {
        "EnrolmentStatusEnum": "jikimi.checkins.models.EnrolmentStatus",
        "CaseKindEnum": "jikimi.cases.models.CaseKind",
    },
    # The error answers every view gives (jikimi.api.schema), after the enum components.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "jikimi.api.schema.add_error_responses",
    ],
    # The schema is public (drf-spectacular's default) and, like every API view, refuses a
    # body that is not a JSON object.
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny",
        "jikimi.api.parsers.BodyIsAnObject",
    ],
}

# --- E-mail (the notify app's SMTP channel) ---------------------------------------------
# Our own setting, read only by notify.channels.email (Django's EMAIL_* settings are
# deprecated in 6.1 and Django's mailer is not used: the channel sets its own Message-ID).
JIKIMI_SMTP = {
    "host": os.environ.get("JIKIMI_SMTP_HOST", "127.0.0.1"),
    "port": int(os.environ.get("JIKIMI_SMTP_PORT", "25")),
    "username": os.environ.get("JIKIMI_SMTP_USER", ""),
    "password": os.environ.get("JIKIMI_SMTP_PASSWORD", ""),
    "starttls": os.environ.get("JIKIMI_SMTP_TLS") == "1",
}
DEFAULT_FROM_EMAIL = os.environ.get("JIKIMI_FROM_EMAIL", "jikimi@localhost")
JIKIMI_BASE_URL = os.environ.get("JIKIMI_BASE_URL", "http://127.0.0.1:8000")

# No personal data in logs: only our own messages, which carry public codes, never names.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "jikimi": {"level": "INFO"},
        # Request logging would write URLs with search terms; keep it to errors.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
