"""Planerka: which sales tools win deals, found at the weekly planning meeting."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from .config import load_config
from .database import init_database
from .extensions import babel, csrf, db, htmx, login_manager, migrate
from .translations_build import compile_stale_catalogs
from .web.errors import init_errors
from .web.formatting import init_formatting
from .web.load_shedding import init_load_shedding
from .web.request_log import init_request_log
from .web.security import init_security


class BoundedIntConverter(IntegerConverter):
    """Ids beyond the database's 64-bit integers match as 0, which no row has: a 404.

    Refusing them in the converter instead (``max=``) makes werkzeug answer a PUT or PATCH
    with 405 ("only GET here") rather than 404."""

    def to_python(self, value: str):
        if len(value) > 18 and int(value) > 2**63 - 1:
            return 0
        return super().to_python(value)


MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def select_locale() -> str | None:
    """Profile language for signed-in users; session choice or Accept-Language otherwise."""
    if not has_request_context():  # CLI commands: the default locale
        return None
    if current_user and current_user.is_authenticated:
        return current_user.locale or "ru"
    chosen = session.get("lang")
    if chosen in ("ru", "en"):
        return chosen
    return request.accept_languages.best_match(["ru", "en"], default="ru")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    env_name = (test_config or {}).get("ENV_NAME")
    app.config.from_mapping(load_config(env_name))
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False  # Cyrillic as it is, per API.md
    # Ids beyond a 64-bit integer cannot exist; such URLs are a plain 404, not a crash.
    app.url_map.converters["int"] = BoundedIntConverter
    app.json.sort_keys = False

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    compile_stale_catalogs()
    init_database(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _init_login(app)

    init_security(app)
    init_errors(app)
    init_formatting(app)
    _register_blueprints(app)
    _register_template_globals(app)

    from .activity import init_activity
    from .cli import register_cli
    from .ops.cli import register_ops_cli
    from .search import init_search, register_search_cli

    init_search(app)
    init_activity(app)
    register_cli(app)
    register_ops_cli(app)
    register_search_cli(app)
    # WSGI wrappers last: the request log outermost, so it sees shed requests too.
    init_load_shedding(app)
    init_request_log(app)
    return app


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from .auth.services import load_session_user
    from .web.errors import render_error

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_token: str):
        return load_session_user(session_token, app.config["SESSION_IDLE_DAYS"])

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for

        from .web.htmx import is_htmx

        if is_htmx() or request.path.startswith("/api/"):
            return render_error(401)
        nxt = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=nxt))


def _register_blueprints(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .deals import bp as deals_bp
    from .kb import bp as kb_bp
    from .main import bp as main_bp
    from .meetings import bp as meetings_bp
    from .reports import bp as reports_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(kb_bp)
    app.register_blueprint(deals_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    from .jobs import bp as jobs_bp

    app.register_blueprint(jobs_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # bearer tokens only: no ambient cookie credentials to forge


def _register_template_globals(app: Flask) -> None:
    from .policy import can

    @app.context_processor
    def inject_globals():
        return {
            "can": lambda action, obj=None: can(current_user, action, obj),
            "current_locale": str(get_locale() or "ru"),
        }
