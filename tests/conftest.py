"""Fixtures: a real SQLite file and the real app for every test."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from portal import create_app
from portal.extensions import db

from .factories import DEFAULT_PASSWORD, Factory

HTMX = {"HX-Request": "true"}


class CsrfClient(FlaskClient):
    """A test client that sends the CSRF header itself, like htmx does in the browser.

    Pass ``csrf=False`` to send a state-changing request without a token.
    """

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        """The signed token Flask-WTF expects for this client's session."""
        import secrets

        app = self.application
        with self.session_transaction() as session:
            raw = session.get("csrf_token")
            if raw is None:
                raw = session["csrf_token"] = secrets.token_hex(20)
        serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
        return serializer.dumps(raw)


def make_test_app(tmp_path, **config):
    """The app on a fresh database file and search index under ``tmp_path``."""
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'planerka-test.db'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "search_index"),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "IMPORTS_DIR": str(tmp_path / "imports"),
            **config,
        }
    )
    app.test_client_class = CsrfClient
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def app(tmp_path):
    app = make_test_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def fast_passwords(monkeypatch):
    """Cheap password hashes for modules that make many people and sign them in (scrypt is
    slow on purpose): ``pytestmark = pytest.mark.usefixtures("fast_passwords")``."""
    from werkzeug.security import generate_password_hash

    from portal.auth import services as accounts

    monkeypatch.setattr(
        accounts,
        "generate_password_hash",
        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"),
    )


@pytest.fixture
def client(app) -> CsrfClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factory:
    """Factory functions: ``make.user(role="lead", team="Москва")``, ``make.token(user)``."""
    return Factory(app)


class AuthActions:
    def __init__(self, client: CsrfClient):
        self.client = client

    def login(self, email: str, password: str = DEFAULT_PASSWORD, **extra):
        return self.client.post("/login", data={"email": email, "password": password, **extra})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def sign_in(make, auth):
    """Make a user of ``role`` and sign ``client`` in as them: ``sign_in("admin")``."""

    def sign_in(role: str = "manager", **kwargs):
        user = make.user(role=role, **kwargs)
        response = auth.login(user.email)
        assert response.status_code == 302, "sign-in failed"
        return user

    return sign_in


def page_text(response) -> str:
    """The body as a person reads it: HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def csrf_from_page(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)
