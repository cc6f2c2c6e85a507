"""Configuration profiles, the SQLite engine settings and the migrations."""

from __future__ import annotations

import logging
import secrets

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from portal import create_app
from portal.config import ConfigError
from portal.extensions import db


def test_testing_profile_creates_app(app):
    assert app.config["TESTING"] is True
    assert app.config["ENV_NAME"] == "testing"
    assert app.config["SECRET_KEY"]
    assert app.test_client().get("/healthz").status_code == 200


def _production_app(tmp_path, monkeypatch, secret_key: str | None):
    if secret_key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret_key)
    return create_app(
        {
            "ENV_NAME": "production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.db'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "search_index"),
        }
    )


@pytest.mark.parametrize(
    "secret_key",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("change-me", id="change-me"),
        pytest.param("change-me".ljust(40), id="change-me-padded-to-length"),
        pytest.param(" " * 48, id="only-spaces"),
        pytest.param(secrets.token_urlsafe(48)[:31], id="short-31-chars"),
    ],
)
def test_production_refuses_to_start_without_real_secret_key(tmp_path, monkeypatch, secret_key):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        _production_app(tmp_path, monkeypatch, secret_key)


def test_production_starts_with_random_secret_key(tmp_path, monkeypatch):
    key = secrets.token_urlsafe(36)
    assert len(key) == 48
    app = _production_app(tmp_path, monkeypatch, key)
    assert app.config["ENV_NAME"] == "production"
    assert app.config["TESTING"] is False
    assert app.config["SECRET_KEY"] == key


@pytest.mark.parametrize("env_name", ["staging", "prod", "PRODUCTION-ish"])
def test_unknown_planerka_env_is_refused(monkeypatch, env_name):
    monkeypatch.setenv("PLANERKA_ENV", env_name)
    with pytest.raises(ConfigError, match="PLANERKA_ENV"):
        create_app()


def test_sqlite_file_database_uses_wal_foreign_keys_and_busy_timeout(app):
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() > 0


@pytest.fixture
def unmigrated_app(tmp_path):
    """An app whose database file has never seen ``create_all``."""
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'migrated.db'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "search_index"),
        }
    )
    # Alembic's env.py runs logging.fileConfig, which replaces the root handlers and
    # disables every logger that already exists; put them back for the next tests.
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_disabled = {
        name: logger.disabled
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield app
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, disabled in saved_disabled.items():
        logging.getLogger(name).disabled = disabled
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_migrations_build_the_schema_the_models_describe(unmigrated_app):
    with unmigrated_app.app_context():
        assert inspect(db.engine).get_table_names() == []
        flask_migrate.upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "teams", "user_sessions", "api_tokens", "login_attempts"} <= tables

        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == [], "models and migrations differ: run `flask db migrate`"

        # The same check `flask db check` runs; Flask-Migrate exits(1) on differences.
        try:
            flask_migrate.check()
        except SystemExit as exit_:
            pytest.fail(f"flask db check found differences (exit {exit_.code})")
