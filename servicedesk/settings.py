"""ServiceDesk settings: one module, read from the environment.

Development defaults need no server at all (SQLite, Celery over kombu's filesystem
transport, console email). Production (DEBUG off) refuses to start without its secrets.
"""

from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()


def env_int(name: str, default: int) -> int:
    """A whole number from the environment; a bad value stops start-up naming the variable."""
    raw = env.str(name, default=str(default)).strip()
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got “{raw}”") from None


# Runtime files of the embedded default (SQLite database, broker folder, media).
VAR_DIR = Path(env.str("SERVICEDESK_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    # Development defaults must never reach production: fail loudly instead.
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not env.str(name, default="")]
    if missing:
        raise ImproperlyConfigured(
            "DEBUG is off, so these environment variables are required: " + ", ".join(missing)
        )
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "servicedesk.apps.ServiceDeskAdminConfig",  # django.contrib.admin with the program's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "django_filters",
    "django_htmx",
    "import_export",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "simple_history",
    "axes",
    # ServiceDesk: the project package, then one app per step of the recipe
    "servicedesk",
    "organization",
    "touchpoints",
    "gap_analysis",
    "standards",
    "training",
    "measurement",
    "consequences",
    "cases",
    "audits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the request into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "servicedesk.urls"

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
                "servicedesk.context_processors.role",
            ],
        },
    },
]

WSGI_APPLICATION = "servicedesk.wsgi.application"

# --- Database -------------------------------------------------------------------------
# SQLite by default; PostgreSQL (or any engine) through DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'servicedesk.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web server, a worker and beat share one file: WAL and immediate transactions
    # avoid "database is locked" under that load.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Cache ------------------------------------------------------------------------------
# Rate limits count in the default cache, so it must be one cache for every process and host:
# Redis on REDIS_URL whenever that is set. Local memory (each process counts on its own) is
# only the development default. CACHE_URL chooses another: redis://host:6379/1, locmem://,
# dummy:// (caches nothing, limits nothing), or any scheme django-environ knows.
_CACHE_SCHEME_ALIASES = {"locmem": "locmemcache", "dummy": "dummycache", "file": "filecache", "db": "dbcache"}
# memcache:// names a backend Django no longer has; pymemcache:// is its successor.
_CACHE_SCHEMES = set(environ.Env.CACHE_SCHEMES) - {"memcache"} | set(_CACHE_SCHEME_ALIASES)


def _without_password(url: str) -> str:
    """The URL fit for an error message: its password, if any, replaced by ***."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return url
    return url.replace(f":{password}@", ":***@", 1) if password else url


def env_cache(name: str, default: str, default_from: str) -> dict:
    """A cache from a URL in the environment (`name`, else `default`, read from the variable
    `default_from`); a bad URL stops start-up naming the variable it came from."""
    raw = env.str(name, default="").strip()
    if not raw:
        raw, name = default, default_from
    config, problem = None, None
    try:
        parts = urlsplit(raw)
        scheme = _CACHE_SCHEME_ALIASES.get(parts.scheme, parts.scheme)
        if parts.scheme not in _CACHE_SCHEMES:
            problem = f"unsupported scheme “{parts.scheme}”" if parts.scheme else "no scheme"
        elif scheme.startswith(("redis", "valkey")) and not (parts.hostname or parts.path.strip("/")):
            problem = "no host"
        else:
            config = environ.Env.cache_url_config(scheme + raw[len(parts.scheme) :])
    except (ValueError, ImproperlyConfigured) as exc:
        problem = str(exc)
    if config is None:
        raise ImproperlyConfigured(
            f"{name} must be a cache URL such as redis://host:6379/1 or locmem://, "
            f"got “{_without_password(raw)}” ({problem})"
        )
    # django-environ keeps the lower-case query names the Redis backend wants for its options,
    # which would hide ?key_prefix= and ?timeout= from Django itself.
    for option in ("key_prefix", "timeout", "version"):
        if option in config:
            config[option.upper()] = config.pop(option)
    if config["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # A Redis that stops answering costs a request two seconds, not a hung worker.
        config.setdefault("OPTIONS", {}).setdefault("socket_connect_timeout", 2)
        config["OPTIONS"].setdefault("socket_timeout", 2)
    config.setdefault("KEY_PREFIX", env.str("CACHE_KEY_PREFIX", default="").strip() or "servicedesk")
    return config


if _redis_url := env.str("REDIS_URL", default="").strip():
    CACHES = {"default": env_cache("CACHE_URL", _redis_url, "REDIS_URL")}
else:
    CACHES = {"default": env_cache("CACHE_URL", "locmem://servicedesk", "CACHE_URL")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Authentication / login protection ----------------------------------------------------
# django-axes counts failed sign-ins at /accounts/login/, /admin/login/ and /api/v1/token/ in the
# database, so every process and host sees one count. LOGIN_FAILURE_LIMIT failures for one user
# from one address lock that pair out for LOGIN_COOLOFF_MINUTES after the last of them: the same
# user elsewhere and other users at that address (an office behind one NAT) are not locked out,
# so a stranger cannot lock a colleague out of their own desk. Admin unlocks early (Users →
# "Unlock sign-in", or Axes → Access attempts).
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out pair is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
if LOGIN_FAILURE_LIMIT < 1 or LOGIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured(
        "LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be whole numbers ≥ 1, "
        f"got {LOGIN_FAILURE_LIMIT} and {LOGIN_COOLOFF_MINUTES}"
    )
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A successful sign-in forgets that user's earlier failures from that address.
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout do not extend it, so the time the lockout page names stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The client's address by the same rule as the feedback rate limit (FEEDBACK_TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "servicedesk.login_protection.client_address"
# A page for the browser, JSON for the API, both 429 with Retry-After.
AXES_LOCKOUT_CALLABLE = "servicedesk.login_protection.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# No banner at every start-up; failures and lockouts are still logged as warnings.
AXES_VERBOSE = False

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# Periods (days, weeks, months, quarters) are computed in the organisation's time zone;
# timestamps are stored in UTC.
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
# MEDIA_ROOT is served by no URL (whitenoise serves STATIC_ROOT only): audit photos stored there are
# handed out only by audits.photo_views, to users who may see the audit. Uploads are verified,
# re-encoded as JPEG without metadata and bounded in size.
AUDIT_PHOTO_MAX_BYTES = env_int("AUDIT_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
AUDIT_PHOTO_MAX_PIXELS = env_int("AUDIT_PHOTO_MAX_PIXELS", 40_000_000)  # a 40-megapixel photo at most
AUDIT_PHOTO_MAX_SIDE = env_int("AUDIT_PHOTO_MAX_SIDE", 2048)
AUDIT_PHOTOS_PER_ANSWER = env_int("AUDIT_PHOTOS_PER_ANSWER", 5)

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ServiceDesk <servicedesk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security (production) ------------------------------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# --- Celery ---------------------------------------------------------------------------
# Redis in production (REDIS_URL or CELERY_BROKER_URL); with neither, kombu's filesystem
# transport, which needs no server: worker and beat on one machine share one folder.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Every task runs under these limits (none has longer ones of its own): asked to stop after the soft one,
# killed after the hard one. The longest run, a full rebuild at a million observations, takes ~2 min.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 10 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 12 * 60)
# Redis gives a message that was delivered and not acknowledged within this many seconds to a
# worker again: that is how the task of a worker lost mid-run (acks_late) comes back. It must
# exceed the hard time limit, or a task still running would be delivered a second time.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 15 * 60)
# Seconds between a worker's sweeps for such messages (kombu's default, 10 s x a throttle of 10,
# would add up to 100 s to the visibility timeout).
CELERY_RESTORE_INTERVAL = env_int("CELERY_RESTORE_INTERVAL", 10)
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "Celery limits must grow: 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < "
        f"CELERY_VISIBILITY_TIMEOUT, got {CELERY_TASK_SOFT_TIME_LIMIT} < {CELERY_TASK_TIME_LIMIT} < "
        f"{CELERY_VISIBILITY_TIMEOUT} seconds"
    )
if CELERY_RESTORE_INTERVAL < 1:
    raise ImproperlyConfigured(
        f"CELERY_RESTORE_INTERVAL must be at least 1 second, got {CELERY_RESTORE_INTERVAL}"
    )
# With the broker (or the result store) down, enqueuing gives up within seconds instead of retrying
# for 20 or waiting forever: a refused connection fails at once, one that does not answer times out.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": CELERY_TASK_PUBLISH_RETRY_POLICY}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "sentinel://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "unacked_restore_interval": CELERY_RESTORE_INTERVAL,
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": CELERY_REDIS_SOCKET_CONNECT_TIMEOUT,
        # A publish on a connection the broker dropped silently fails instead of hanging.
        "socket_timeout": CELERY_REDIS_SOCKET_TIMEOUT,
    }
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Record each run's time at once, so the schedule's state in the database is always current.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True


def _minutes(name: str, default: int) -> timedelta:
    """An interval in minutes from the environment; a bad value stops start-up."""
    value = env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of minutes ≥ 1, got {value}")
    return timedelta(minutes=value)


# The one reviewed place for periodic work. Every entry expires so that missed runs are
# dropped instead of piling up behind a stopped worker.
HOUSEKEEPING_INTERVAL = _minutes("HOUSEKEEPING_INTERVAL_MINUTES", 15)
ROLLUP_INTERVAL = _minutes("ROLLUP_INTERVAL_MINUTES", 5)
# Evidence committed through any channel asks the worker for a rollup this many seconds later
# (`measurement.services.freshness`): a burst of commits in the window shares one run. 0 turns
# it off, leaving the beat run above as the only one.
ROLLUP_AFTER_COMMIT_SECONDS = env_int("ROLLUP_AFTER_COMMIT_SECONDS", 2)
if ROLLUP_AFTER_COMMIT_SECONDS < 0:
    raise ImproperlyConfigured(
        f"ROLLUP_AFTER_COMMIT_SECONDS must be 0 or more, got {ROLLUP_AFTER_COMMIT_SECONDS}"
    )
# Hour (0–23, local time) at which the daily reminder emails go out.
REMINDER_HOUR = env_int("REMINDER_HOUR", 7)
if not 0 <= REMINDER_HOUR <= 23:
    raise ImproperlyConfigured(f"REMINDER_HOUR must be an hour from 0 to 23, got {REMINDER_HOUR}")
# Case deadlines: warnings before them and escalations after them, every few minutes.
CASES_ESCALATION_INTERVAL = _minutes("CASES_ESCALATION_INTERVAL_MINUTES", 5)
# Cases looked at per escalation run, the soonest deadline first; the rest wait for the next run.
CASES_ESCALATION_BATCH = env_int("CASES_ESCALATION_BATCH", 500)
if CASES_ESCALATION_BATCH < 1:
    raise ImproperlyConfigured(f"CASES_ESCALATION_BATCH must be at least 1, got {CASES_ESCALATION_BATCH}")
CELERY_BEAT_SCHEDULE = {
    # Scorecards of the periods touched since the last run (today, this week, month, quarter).
    "measurement-rollup-scorecards": {
        "task": "measurement.tasks.rollup_scorecards",
        "schedule": ROLLUP_INTERVAL,
        "options": {"expires": ROLLUP_INTERVAL.total_seconds() * 0.9},
    },
    # Nightly full rebuild: closed periods come out exactly as a backfill would make them.
    "measurement-rebuild-scorecards": {
        "task": "measurement.tasks.rollup_scorecards",
        "schedule": crontab(hour=2, minute=30),
        "kwargs": {"full": True},
        "options": {"expires": 60 * 60},
    },
    "training-sync-assignments": {
        "task": "training.tasks.sync_assignments",
        "schedule": HOUSEKEEPING_INTERVAL,
        "options": {"expires": HOUSEKEEPING_INTERVAL.total_seconds() * 0.9},
    },
    "organization-prune-sessions": {
        "task": "organization.tasks.prune_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": 60 * 60},
    },
    # Daily reminder emails (one per person, never the same item twice), at REMINDER_HOUR local time.
    # Consequence rules on scorecards and deviations need no entry of their own: every rollup (the
    # nightly rebuild included) enqueues consequences.tasks.evaluate_rules through the
    # scorecards_rolled_up signal. SLA-breach rules have one as well (below).
    "training-send-reminders": {
        "task": "training.tasks.send_training_reminders",
        "schedule": crontab(hour=REMINDER_HOUR, minute=5),
        "options": {"expires": 4 * 60 * 60},
    },
    "standards-send-acknowledgement-reminders": {
        "task": "standards.tasks.send_acknowledgement_reminders",
        "schedule": crontab(hour=REMINDER_HOUR, minute=10),
        "options": {"expires": 4 * 60 * 60},
    },
    "consequences-notify-overdue": {
        "task": "consequences.tasks.notify_overdue_consequences",
        "schedule": crontab(hour=REMINDER_HOUR, minute=15),
        "options": {"expires": 4 * 60 * 60},
    },
    # Consequence rules on customer cases' SLA breaches: breaches come from the clock, not from a
    # rollup, so they are judged on their own schedule as well as after every rollup.
    "consequences-evaluate-sla-rules": {
        "task": "consequences.tasks.evaluate_sla_rules",
        "schedule": HOUSEKEEPING_INTERVAL,
        "options": {"expires": HOUSEKEEPING_INTERVAL.total_seconds() * 0.9},
    },
    # Warn case owners before an SLA deadline, escalate to their managers after it (once each).
    "cases-escalate": {
        "task": "cases.tasks.escalate_cases",
        "schedule": CASES_ESCALATION_INTERVAL,
        "options": {"expires": CASES_ESCALATION_INTERVAL.total_seconds() * 0.9},
    },
    # Audits: plan occurrences, open and close them on the clock, remind assignees, alert managers.
    "audits-plan": {
        "task": "audits.tasks.plan_audits",
        "schedule": HOUSEKEEPING_INTERVAL,
        "options": {"expires": HOUSEKEEPING_INTERVAL.total_seconds() * 0.9},
    },
}
# Audit planning: occurrences are planned this many days ahead, and (after a stopped worker, or
# for a schedule starting in the past) this many days back; reminders go this many hours before
# the due time.
AUDIT_PLAN_AHEAD_DAYS = env_int("AUDIT_PLAN_AHEAD_DAYS", 35)
AUDIT_PLAN_BACK_DAYS = env_int("AUDIT_PLAN_BACK_DAYS", 7)
AUDIT_REMINDER_HOURS = env_int("AUDIT_REMINDER_HOURS", 24)
for _name in ("AUDIT_PLAN_AHEAD_DAYS", "AUDIT_PLAN_BACK_DAYS", "AUDIT_REMINDER_HOURS"):
    if not 0 <= globals()[_name] <= 366:
        raise ImproperlyConfigured(f"{_name} must be a whole number from 0 to 366, got {globals()[_name]}")

# --- Measurement -----------------------------------------------------------------------
# An evaluation passes when its weighted score reaches this mark and no critical item failed.
EVALUATION_PASS_MARK = env_int("EVALUATION_PASS_MARK", 80)
# Clocks differ: evidence stamped a little in the future is accepted, more is refused.
INTAKE_FUTURE_TOLERANCE = timedelta(minutes=env_int("INTAKE_FUTURE_TOLERANCE_MINUTES", 10))


def env_date(name: str, default: str) -> date:
    """A date (YYYY-MM-DD) from the environment; a bad value stops start-up naming the variable."""
    raw = env.str(name, default=default).strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a date as YYYY-MM-DD, got “{raw}”") from None


# Nothing is dated before this day (observations, feedback, evaluations, completions): a year-1
# timestamp is a typo, and its local-time period would not even exist.
INTAKE_EARLIEST = env_date("INTAKE_EARLIEST", "2000-01-01")

# --- Dashboards ------------------------------------------------------------------------
# The dashboards open on the last DASHBOARD_ROLLING_DAYS days (summed from day scorecards), which
# always hold that much evidence, where a calendar month on its 2nd would hold a day or two.
DASHBOARD_ROLLING_DAYS = env_int("DASHBOARD_ROLLING_DAYS", 30)
# A location, team or person is named strong or weak only with at least this many observations in
# the period; below it the pages say "too little evidence" (n = 2 at 100 % is no peak).
MIN_EVIDENCE = env_int("MIN_EVIDENCE", 20)

# --- Public pages ----------------------------------------------------------------------
# The customer feedback form takes at most FEEDBACK_RATE_LIMIT submissions per client address
# in FEEDBACK_RATE_WINDOW_SECONDS, counted in the default cache (see Cache: shared on Redis).
FEEDBACK_RATE_LIMIT = env_int("FEEDBACK_RATE_LIMIT", 5)
FEEDBACK_RATE_WINDOW_SECONDS = env_int("FEEDBACK_RATE_WINDOW_SECONDS", 10 * 60)
# Reverse proxies in front of the app that append the client's address to X-Forwarded-For;
# 0 means the app is reached directly and REMOTE_ADDR is the client. The login lockout uses it too.
FEEDBACK_TRUSTED_PROXIES = env_int("FEEDBACK_TRUSTED_PROXIES", 0)

# --- Forms, API -----------------------------------------------------------------------
# Django's form templates, with select boxes written in Python (servicedesk/form_renderer.py).
FORM_RENDERER = "servicedesk.form_renderer.FormRenderer"
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# The largest request body, in bytes (over it: 413). Django's 2.5 MB would refuse a full API batch of
# 5,000 items with comments of a few hundred characters, which the API promises to take.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 16 * 1024 * 1024)

# API throttling (servicedesk/throttling.py): API_RATE_USER requests per signed-in user or token, and
# API_RATE_ANON requests without credentials per client address, as "<n>/<second|minute|hour|day>";
# counted in the default cache, so shared by every process when that is Redis. Over it: 429.
API_RATE_USER = env.str("API_RATE_USER", default="600/minute")
API_RATE_ANON = env.str("API_RATE_ANON", default="60/minute")
for _name, _rate in (("API_RATE_USER", API_RATE_USER), ("API_RATE_ANON", API_RATE_ANON)):
    _count, _, _period = _rate.partition("/")
    if not (_count.isdigit() and int(_count) > 0 and _period in {"second", "minute", "hour", "day"}):
        raise ImproperlyConfigured(
            f"{_name} must be a number of requests per second, minute, hour or day, e.g. 600/minute; got “{_rate}”"
        )
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        # Last: reached only by requests without credentials, which it throttles per address.
        "servicedesk.throttling.AnonymousAddressThrottle",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["servicedesk.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": API_RATE_USER, "anon": API_RATE_ANON},
    "DEFAULT_SCHEMA_CLASS": "servicedesk.api_schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "servicedesk.pagination.PageNumbers",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ServiceDesk API",
    "DESCRIPTION": (
        "Observations, evaluations, customer feedback and scorecards of the customer service program.\n\n"
        "Authenticate with `Authorization: Token <key>` (POST /api/v1/token/, or Django admin → Tokens). "
        "A POST body is one object or a list of up to 5,000, stored all or nothing: a 400 lists every bad "
        "item by index (from 0) and field. Resending the same external ids stores nothing twice (200). "
        "Managers and admins may post; every read shows only what the token's owner may see."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The address throttle is listed as an authentication class but authenticates nobody.
    "AUTHENTICATION_WHITELIST": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Tag operations by resource (observations, feedback, …) rather than by "v1".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Swagger UI is vendored in static/vendor/swagger-ui/ (the /api/docs/ page works offline); the
    # online validator badge is off, it would call a third-party host.
    "SWAGGER_UI_DIST": f"/{STATIC_URL.strip('/')}/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"/{STATIC_URL.strip('/')}/vendor/swagger-ui/favicon-32x32.png",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Two choice sets share the field name "channel": name their schema components.
    "ENUM_NAME_OVERRIDES": {
        "TouchpointChannelEnum": "touchpoints.models.Channel",
        "FeedbackChannelEnum": "measurement.models.FeedbackChannel",
        # Case statuses appear in cases, their events and the transition body; origins twice.
        "CaseStatusEnum": "cases.models.CaseStatus",
        "CaseOriginEnum": "cases.models.CaseOrigin",
        "ComplaintOriginEnum": "cases.api.API_ORIGINS",
    },
}

IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# Imports are all-or-nothing: one bad row rolls back the whole file.
IMPORT_EXPORT_IMPORT_IGNORE_BLANK_LINES = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own console handler would print every message a second time through the root.
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
