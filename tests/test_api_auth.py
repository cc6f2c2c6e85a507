"""Bearer tokens for /api/v1, the OpenAPI document and the account commands."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from portal.auth import services as accounts
from portal.extensions import db
from portal.models import ApiToken, Team, User

from .conftest import page_text


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_api_error(response, status: int, code: str):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["fields"] == {}


def revoked_token(app, client, sign_in):
    user = sign_in()
    token = create_token_on_profile(client, "CRM")
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    response = client.post(f"/profile/tokens/{token_id}/revoke")
    assert response.status_code == 302
    return token


def deactivated_users_token(app, client, sign_in):
    user = sign_in()
    token = create_token_on_profile(client, "BI")
    with app.app_context():
        accounts.set_user_active(db.session.get(User, user.id), False)
    return token


BAD_CREDENTIALS = [
    pytest.param(lambda app, client, sign_in: {}, id="no-header"),
    pytest.param(lambda app, client, sign_in: {"Authorization": "Bearer "}, id="empty-bearer"),
    pytest.param(lambda app, client, sign_in: {"Authorization": "Basic YTpi"}, id="basic-auth"),
    pytest.param(lambda app, client, sign_in: bearer("plk_made-up-token"), id="bad-token"),
    pytest.param(lambda app, client, sign_in: bearer("x" * 5000), id="huge-token"),
    pytest.param(
        lambda app, client, sign_in: bearer(revoked_token(app, client, sign_in)), id="revoked"
    ),
    pytest.param(
        lambda app, client, sign_in: bearer(deactivated_users_token(app, client, sign_in)),
        id="deactivated-user",
    ),
]


@pytest.mark.parametrize("make_headers", BAD_CREDENTIALS)
def test_me_refuses_missing_or_bad_tokens(app, client, sign_in, make_headers):
    headers = make_headers(app, client, sign_in)
    api = app.test_client()  # no session cookie: the API sees only the header
    response = api.get("/api/v1/me", headers=headers)
    assert_api_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_describes_the_tokens_user(client, make):
    user = make.user(role="lead", team="Москва — промышленность", name="Алексей Морозов")
    response = client.get("/api/v1/me", headers=bearer(make.token(user)))
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("id", "email", "name", "role", "team")} == {
        "id": user.id,
        "email": user.email,
        "name": "Алексей Морозов",
        "role": "lead",
        "team": "Москва — промышленность",
    }


def test_me_without_team_says_null(client, make):
    user = make.user(role="head")
    assert client.get("/api/v1/me", headers=bearer(make.token(user))).get_json()["team"] is None


def test_api_writes_cyrillic_unescaped(client, make):
    user = make.user(name="Анна Петрова", team="Новая команда")
    raw = client.get("/api/v1/me", headers=bearer(make.token(user))).get_data()
    assert b"\\u04" not in raw
    assert "Анна Петрова".encode() in raw
    assert "Новая команда".encode() in raw


def test_session_cookie_does_not_open_the_api(client, sign_in):
    sign_in()
    assert_api_error(client.get("/api/v1/me"), 401, "unauthorized")


def create_token_on_profile(client, name: str) -> str:
    response = client.post("/profile/tokens", data={"tok-name": name})
    assert response.status_code == 201
    match = re.search(
        r'<code class="token-value" data-testid="new-token">([^<]+)</code>', page_text(response)
    )
    assert match, "the new token is not shown"
    return match.group(1)


def test_profile_token_is_shown_once_and_works(app, client, sign_in):
    user = sign_in()
    token = create_token_on_profile(client, "Выгрузка в CRM")
    assert token.startswith("plk_")

    again = page_text(client.get("/profile"))
    assert token not in again
    assert "Выгрузка в CRM" in again
    assert token[:10] in again  # the prefix, to tell tokens apart

    response = app.test_client().get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["email"] == user.email


def test_tokens_are_stored_only_as_hashes(app, client, sign_in):
    sign_in()
    token = create_token_on_profile(client, "BI")
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        stored = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert token not in stored
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_revoked_token_disappears_from_the_profile(app, client, sign_in):
    sign_in()
    create_token_on_profile(client, "Старый скрипт")
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    response = client.post(f"/profile/tokens/{token_id}/revoke", follow_redirects=True)
    body = page_text(response)
    assert "Токен отозван." in body
    assert "Старый скрипт" not in body


def test_nobody_can_revoke_another_users_token(app, client, make, sign_in):
    owner = make.user()
    token = make.token(owner)
    sign_in()
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    response = client.post(f"/profile/tokens/{token_id}/revoke", follow_redirects=True)
    assert "Такого токена нет." in page_text(response)
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_openapi_document_is_public_openapi_3(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "get" in document["paths"]["/me"]
    assert document["info"]["title"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_cli_create_user_makes_the_user_and_the_team(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "a@b.ru",
            "--name",
            "Анна Петрова",
            "--role",
            "lead",
            "--password",
            "0123456789",
            "--team",
            "Новая команда",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "a@b.ru"))
        assert (user.name, user.role, user.team.name, user.is_active) == (
            "Анна Петрова",
            "lead",
            "Новая команда",
            True,
        )


def test_cli_create_user_joins_an_existing_team(app, runner, make):
    make.team("Новая команда")
    result = runner.invoke(
        args=["create-user", "b@b.ru", "--name", "Борис", "--role", "manager",
              "--password", "0123456789", "--team", "новая КОМАНДА"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(select(Team.name)).all() == ["Новая команда"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "boss", "--password", "0123456789"], "'boss' is not one of"),
        (["--role", "lead", "--password", "012345678"], "at least 10 characters"),
    ],
    ids=["invalid-role", "short-password"],
)
def test_cli_create_user_refuses_invalid_input(app, runner, args, message):
    # The command line speaks English, like the rest of its output.
    result = runner.invoke(args=["create-user", "a@b.ru", "--name", "Анна Петрова", *args])
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalars(select(User)).all() == []


def test_cli_create_user_refuses_duplicate_email(runner, make):
    make.user(email="a@b.ru")
    result = runner.invoke(
        args=[
            "create-user",
            "A@B.RU",
            "--name",
            "Анна",
            "--role",
            "lead",
            "--password",
            "0123456789",
        ]
    )
    assert result.exit_code != 0
    assert "A user with this e-mail already exists." in result.output


def test_cli_create_token_prints_only_a_working_token(client, runner, make):
    user = make.user(email="bi@tehpromsnab.ru")
    result = runner.invoke(args=["create-token", "bi@tehpromsnab.ru"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert re.fullmatch(r"plk_[A-Za-z0-9_-]{40,}", token)
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["id"] == user.id


@pytest.mark.parametrize("active", [True, False], ids=["unknown", "deactivated"])
def test_cli_create_token_refuses_unknown_or_inactive_users(runner, make, active):
    email = "gone@tehpromsnab.ru"
    if not active:
        make.user(email=email, active=False)
    result = runner.invoke(args=["create-token", email])
    assert result.exit_code != 0
    assert email in result.output
