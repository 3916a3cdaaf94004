"""Settings, read from the environment (see the README's table).

With nothing set the system runs embedded: SQLite, a filesystem Celery broker and a local-memory
cache, so a newcomer needs no server. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY and
FIELD_ENCRYPTION_KEYS; it is safe by default (DEBUG off, secure cookies, HSTS behind a flag).
"""

import os
import secrets
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from thorbis.env import Env, blank

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # embedded database, broker folders, uploaded files

# A variable set to "" counts as unset; a malformed one stops start-up naming it (thorbis/env.py).
env = Env()
environ.Env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _machine_secret_key() -> str:
    """A random key generated once per machine and kept in var/secret_key (mode 600).

    So `python manage.py ...` works with nothing set, yet no key is ever hard-coded. Anything
    running on more than one machine must set SECRET_KEY (and FIELD_ENCRYPTION_KEYS) explicitly.
    """
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _machine_secret_key()
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# Credentials at rest: the first key encrypts, every key decrypts (rotation: prepend the new key,
# run `manage.py rotate_credentials`, then drop the old one). Kept apart from SECRET_KEY so
# rotating session signing never strands stored vendor credentials.
FIELD_ENCRYPTION_KEYS = [k for k in env.list("FIELD_ENCRYPTION_KEYS", default=[SECRET_KEY]) if k]
if not FIELD_ENCRYPTION_KEYS:  # e.g. "," : no key at all would fail only at the first credential
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS holds no key: give one or unset it.")
SALT_KEY = env.list("FIELD_ENCRYPTION_SALT", default=["thorbis-credentials"])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL])

INSTALLED_APPS = [
    # The back office first, so its admin templates (dashboard, task navigation) win; its
    # AdminConfig replaces django.contrib.admin's to make our site the default `admin.site`.
    "apps.backoffice",
    "apps.backoffice.apps.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    # third party
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "phonenumber_field",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # ours
    "apps.core",
    "apps.integrations",
    "apps.accounting",
    "apps.comms",
    "apps.payments",
    "apps.routing",
    "apps.diagnostics",
    "apps.monitoring",
]

MIDDLEWARE = [
    # Stripe's webhooks skip the browser-facing stack below (payments benchmark: docs/payments.md).
    "apps.payments.webhooks.middleware.StripeWebhookMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Office users read and type times in their business's zone (apps/core/timezones.py).
    "apps.core.timezones.BusinessTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
]

ROOT_URLCONF = "thorbis.urls"
WSGI_APPLICATION = "thorbis.wsgi.application"
ASGI_APPLICATION = "thorbis.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'thorbis.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL plus a busy timeout lets web, worker and beat share the embedded database. IMMEDIATE
    # transactions take the write lock up front: a deferred one that reads, then writes after
    # another process wrote, fails at once with "database is locked" instead of waiting.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/admin/"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# Staff accounts are provisioned by an administrator, never self-registered.
ACCOUNT_ADAPTER = "apps.core.auth.NoSignupAccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Failed sign-ins: allauth's per-address limit only. Its per-account part ("5/300s/key") would
# let a stranger keep a technician locked out from everywhere; our lockout, which spares
# addresses that have not failed, replaces it (apps/core/services/sign_in.py).
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip"}

LANGUAGE_CODE = "en-us"
# Stored and exchanged in UTC; shown and typed in the business's zone (apps/core/timezones.py).
# Platform superusers, who belong to no business, see UTC.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Datetimes print with their zone's abbreviation: "Dec. 8, 2026, 8:00 AM MST".
FORMAT_MODULE_PATH = ["thorbis.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="US")
PHONENUMBER_DB_FORMAT = "E164"

# --- Cache, broker and Celery -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

BROKER_DIR = VAR_DIR / "broker"
# "localhost" only spares kombu's "No hostname was supplied" warning: the folder is the broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost//")


def filesystem_broker_options(broker_dir: Path) -> dict:
    """Kombu's filesystem transport: web, worker and beat share a folder, no server needed.

    Every folder is named, under var/broker/: kombu puts the fanout tables it keeps for the
    worker's remote control, mingle and gossip in `control_folder`, which defaults to ./control
    in whatever directory the process started from (the repository root under `make run`).
    """
    folders = {name: broker_dir / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)  # kombu creates none of them itself
    return {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }


if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(BROKER_DIR)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes every database connection after each task unless told to reuse it, and a new
# PostgreSQL connection costs more than a small task itself (docs/comms.md, benchmark). Broken or
# over-age connections are still dropped before each task (thorbis/celery.py).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=200)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per kind of work, so a slow vendor never delays an emergency text.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "apps.comms.*": {"queue": "urgent"},
    "apps.integrations.tasks.inbound_event_process_task": {"queue": "urgent"},
    "apps.accounting.*": {"queue": "sync"},
    "apps.payments.*": {"queue": "sync"},
    "apps.integrations.tasks.connection_sync_task": {"queue": "sync"},
    "apps.monitoring.*": {"queue": "bulk"},
    "apps.routing.*": {"queue": "bulk"},
    "apps.diagnostics.*": {"queue": "bulk"},
}

# --- Integrations -------------------------------------------------------------------------------
INTEGRATIONS_HTTP_CONNECT_TIMEOUT = env.float("INTEGRATIONS_HTTP_CONNECT_TIMEOUT", default=5.0)
INTEGRATIONS_HTTP_READ_TIMEOUT = env.float("INTEGRATIONS_HTTP_READ_TIMEOUT", default=30.0)

# --- Routing ------------------------------------------------------------------------------------
ROUTING_POLICY = env.json("ROUTING_POLICY", default={})  # overrides of the planner's weights
ROUTING_MATRIX_CACHE_SECONDS = env.int("ROUTING_MATRIX_CACHE_SECONDS", default=6 * 3600)
ROUTING_TILE_URL = env.str("ROUTING_TILE_URL", default="")

# --- Payments -----------------------------------------------------------------------------------
PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS = env.list(
    "PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS", default=[]
)

# --- Proxies ------------------------------------------------------------------------------------
# How many proxies of ours stand in front of the app. Only then is X-Forwarded-For read, and only
# the address our outermost proxy wrote (the NUM_PROXIES-th from the right); with 0 the header is
# ignored everywhere: API throttles, sign-in lockouts, allauth's limits, the /metrics allow-list.
NUM_PROXIES = env.int(
    "NUM_PROXIES", default=1 if env.bool("BEHIND_TLS_PROXY", default=False) else 0
)
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must be 0 or more.")
ALLAUTH_TRUSTED_PROXY_COUNT = NUM_PROXIES
# Request logs bind the address by the same rule (apps/core/apps.py), not django-ipware's.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.api.permissions.IsBusinessMember"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "apps.core.api.filtering.BusinessFilterBackend",  # choices scoped to the business
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.ApiAutoSchema",  # documents error answers
    "EXCEPTION_HANDLER": "apps.core.api.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,  # money leaves as exact strings, never floats
    # 0, never None: DRF reads None as "trust every X-Forwarded-For", so a client could throttle
    # under a new made-up address on every request (apps/core/net.py has the rule).
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Thorbis Integrations Hub API",
    "DESCRIPTION": "Technician mobile app API. Every object is scoped to the caller's business.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Security (production defaults; DEBUG relaxes cookies for http://127.0.0.1) ---------------
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)  # the flag: set e.g. 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every page (django-csp). Scripts only from our own static files (or
# an inline script carrying the request's nonce, `{{ request.csp_nonce }}`): no inline code, no
# eval, nothing from another host. Inline *styles* stay allowed: the admin's widgets and our SVG
# charts use style attributes, which a nonce cannot cover. Images may be data: URIs (Swagger's
# icons, the MFA QR code) and the route plot's map tiles.
_TILE_ORIGIN = "/".join(ROUTING_TILE_URL.split("/")[:3]) if "://" in ROUTING_TILE_URL else ""
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", *([_TILE_ORIGIN] if _TILE_ORIGIN else [])],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        # Redoc (/api/redoc/) builds its search worker from a blob: of its own script.
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}
SESSION_COOKIE_HTTPONLY = True

# --- Logging: structured (structlog), secrets never logged ------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
import structlog  # noqa: E402  (configured here so every process logs the same way)

from apps.integrations.redaction import redact_url_tokens  # noqa: E402  (no Django imports)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "structlog.stdlib.ProcessorFormatter",
            "processor": structlog.processors.JSONRenderer(),
        },
        "console": {
            "()": "structlog.stdlib.ProcessorFormatter",
            # Tracebacks without local variables: those hold request bodies and credentials.
            "processor": structlog.dev.ConsoleRenderer(
                colors=False,
                exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
            ),
        },
    },
    "handlers": {"default": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["default"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_url_tokens,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)

DEMO_ADMIN_USERNAME = env.str("DEMO_ADMIN_USERNAME", default="admin")
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="thorbis-demo")

# --- Email (django-anymail; issue 4) -------------------------------------------------------------
# Any anymail ESP, e.g. EMAIL_BACKEND=anymail.backends.postmark.EmailBackend with
# ANYMAIL_POSTMARK_SERVER_TOKEN. The embedded default prints mail to the console.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@thorbis.localhost")
# Every ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"] (tokens, api_url, WEBHOOK_SECRET as
# "user:pass" for the tracking webhooks at /webhooks/anymail/<esp>/tracking/).
ANYMAIL = {
    k.removeprefix("ANYMAIL_"): v
    for k, v in os.environ.items()
    if k.startswith("ANYMAIL_") and not blank(v)
}
# Comms hooks (dotted paths): ETA from routing, payment links from payments. Empty: built-ins.
COMMS_ETA_PROVIDER = env.str("COMMS_ETA_PROVIDER", default="")
COMMS_PAYMENT_LINK_PROVIDER = env.str("COMMS_PAYMENT_LINK_PROVIDER", default="")
