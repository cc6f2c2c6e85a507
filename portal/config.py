"""Configuration read from the environment.

``PLANERKA_ENV`` picks the profile: ``production`` (refuses to start without a real
``SECRET_KEY``), ``development`` (the default, used by ``make run``) or ``testing``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = BASE_DIR / "instance"

# Keys that must never protect a real installation: empty, the examples in our docs,
# and the usual placeholders people paste from tutorials.
WEAK_SECRET_KEYS = {"", "dev", "change-me", "changeme", "secret", "development", "planerka"}
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a safe, usable configuration."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _development_secret_key() -> str:
    """A per-install random key kept in ``instance/`` so sessions survive restarts."""
    key_file = INSTANCE_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


class Config:
    ENV_NAME = "development"
    TESTING = False
    SECRET_KEY: str | None = None

    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'planerka.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 5000)

    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR", str(BASE_DIR / "search_index"))

    ATTACHMENTS_DIR = os.environ.get("ATTACHMENTS_DIR", str(INSTANCE_DIR / "attachments"))
    ATTACHMENT_MAX_BYTES = _env_int("ATTACHMENT_MAX_MB", 20) * 1024 * 1024
    EXTRACT_TIMEOUT_SECONDS = _env_int("EXTRACT_TIMEOUT_SECONDS", 20)
    EXTRACT_MEMORY_MB = _env_int("EXTRACT_MEMORY_MB", 512)
    # A little above the attachment limit so an oversize file gets our own message.
    MAX_CONTENT_LENGTH = (
        (max(_env_int("ATTACHMENT_MAX_MB", 20), _env_int("IMPORT_MAX_MB", 50)) + 1) * 1024 * 1024
    )
    IMPORTS_DIR = os.environ.get("IMPORTS_DIR", str(INSTANCE_DIR / "imports"))
    IMPORT_MAX_BYTES = _env_int("IMPORT_MAX_MB", 50) * 1024 * 1024
    SEARCH_WRITER_TIMEOUT = float(os.environ.get("SEARCH_WRITER_TIMEOUT", "5"))
    # Background jobs (portal/jobs): progress and output files live in JOBS_DIR, by default
    # next to IMPORTS_DIR; a running job whose heartbeat is older than JOB_STALE_SECONDS was
    # killed with its worker and is queued again (or failed after JOB_MAX_ATTEMPTS).
    JOBS_DIR = os.environ.get("JOBS_DIR") or None
    JOB_API_WAIT_SECONDS = float(os.environ.get("JOB_API_WAIT_SECONDS", "20"))
    JOB_WEB_WAIT_SECONDS = float(os.environ.get("JOB_WEB_WAIT_SECONDS", "2"))
    JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "5"))
    JOB_STALE_SECONDS = float(os.environ.get("JOB_STALE_SECONDS", "60"))
    JOB_MAX_ATTEMPTS = _env_int("JOB_MAX_ATTEMPTS", 2)
    JOB_OUTPUT_KEEP_SECONDS = _env_int("JOB_OUTPUT_KEEP_SECONDS", 24 * 3600)

    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("PLANERKA_TIMEZONE", "Europe/Moscow")
    LANGUAGES = ("ru", "en")

    WTF_CSRF_ENABLED = True
    WTF_CSRF_HEADERS = ["X-CSRFToken", "X-CSRF-Token"]
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    SESSION_COOKIE_NAME = "planerka_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_NAME = "planerka_remember"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 14
    SESSION_IDLE_DAYS = 14

    # Tool views and the search query log: 0 writes each in its request; N > 0 writes them
    # behind, once every N seconds per worker process (portal/activity.py).
    ACTIVITY_FLUSH_SECONDS = float(os.environ.get("ACTIVITY_FLUSH_SECONDS", "0"))
    # Related tools on a tool page: 0 ranks them on every view; N > 0 keeps each tool's
    # ranking for N seconds per worker process (portal/kb/services.py related_tools).
    RELATED_TOOLS_CACHE_SECONDS = float(os.environ.get("RELATED_TOOLS_CACHE_SECONDS", "0"))

    # Load shedding, per worker process (portal/web/load_shedding.py); 0 turns it off.
    LOAD_SHED_MAX_IN_FLIGHT = _env_int("LOAD_SHED_MAX_IN_FLIGHT", 3)
    LOAD_SHED_WAIT_MS = _env_int("LOAD_SHED_WAIT_MS", 200)
    LOAD_SHED_MAX_WAITING = _env_int("LOAD_SHED_MAX_WAITING", 8)
    LOAD_SHED_RETRY_AFTER = _env_int("LOAD_SHED_RETRY_AFTER", 2)

    PASSWORD_MIN_LENGTH = 10
    LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_FAILURE_WINDOW_SECONDS = _env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)

    @classmethod
    def finalize(cls, mapping: dict) -> None:
        """Fill values that depend on the profile; raise ConfigError when unsafe."""
        key = os.environ.get("SECRET_KEY", "")
        mapping["SECRET_KEY"] = key or _development_secret_key()


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class ProductionConfig(Config):
    ENV_NAME = "production"
    ACTIVITY_FLUSH_SECONDS = float(os.environ.get("ACTIVITY_FLUSH_SECONDS", "1"))
    RELATED_TOOLS_CACHE_SECONDS = float(os.environ.get("RELATED_TOOLS_CACHE_SECONDS", "60"))
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    @classmethod
    def finalize(cls, mapping: dict) -> None:
        key = os.environ.get("SECRET_KEY", "")
        if key.strip().lower() in WEAK_SECRET_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters in production, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        mapping["SECRET_KEY"] = key


class TestConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = "sqlite://"  # tests pass a real file path
    # Off: Flask's test client does not close unbuffered responses, which is when a slot is
    # given back. tests/test_load_shedding.py turns it on against a real server.
    LOAD_SHED_MAX_IN_FLIGHT = 0
    LOGIN_MAX_FAILURES = 5

    @classmethod
    def finalize(cls, mapping: dict) -> None:
        mapping.setdefault("SECRET_KEY", cls.SECRET_KEY)


PROFILES: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestConfig,
}


def load_config(env_name: str | None = None) -> dict:
    """Return the settings of the profile named by ``PLANERKA_ENV`` as a plain dict."""
    env_name = (env_name or os.environ.get("PLANERKA_ENV") or "development").strip().lower()
    if env_name not in PROFILES:
        raise ConfigError(f"PLANERKA_ENV must be one of {', '.join(PROFILES)}, not {env_name!r}.")
    profile = PROFILES[env_name]
    mapping = {k: getattr(profile, k) for k in dir(profile) if k.isupper()}
    profile.finalize(mapping)
    return mapping
