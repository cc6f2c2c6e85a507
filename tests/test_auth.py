"""Signing in and out, sessions, passwords and login throttling."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import User, UserSession

from .conftest import AuthActions, csrf_from_page, page_text
from .factories import DEFAULT_PASSWORD

WRONG_CREDENTIALS = "Неверный e-mail или пароль."
TOO_MANY_ATTEMPTS = "Слишком много неудачных попыток. Подождите несколько минут и попробуйте снова."
SESSION_COOKIE = "planerka_session"
REMEMBER_COOKIE = "planerka_remember"


def login_error(response) -> str | None:
    match = re.search(r'<p class="form-error" role="alert">(.*?)</p>', page_text(response))
    return match.group(1) if match else None


def assert_signed_out(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def sessions_of(app, user) -> list[UserSession]:
    with app.app_context():
        rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def test_login_redirects_to_dashboard(client, make, auth):
    user = make.user(name="Анна Петрова")
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Здравствуйте, Анна!" in page_text(client.get("/"))


def test_login_accepts_email_in_any_case_and_with_spaces(client, make, auth):
    user = make.user(email="irina@tehpromsnab.ru")
    response = auth.login("  Irina@TehPromSnab.RU ")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert user.email == "irina@tehpromsnab.ru"


def test_wrong_password_and_unknown_email_get_the_same_message(client, make, auth):
    user = make.user()
    wrong_password = auth.login(user.email, "not-the-password")
    unknown_email = auth.login("nobody@tehpromsnab.ru", DEFAULT_PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert login_error(wrong_password) == login_error(unknown_email) == WRONG_CREDENTIALS
    assert_signed_out(client)


def test_inactive_user_cannot_log_in(client, make, auth):
    user = make.user(active=False)
    response = auth.login(user.email)
    assert response.status_code == 401
    assert login_error(response) == WRONG_CREDENTIALS
    assert_signed_out(client)


def test_login_page_never_echoes_the_password(make, auth):
    user = make.user()
    response = auth.login(user.email, "my-secret-guess-123")
    assert "my-secret-guess-123" not in response.get_data(as_text=True)


def test_login_starts_a_fresh_server_side_session(app, client, make, auth):
    user = make.user()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    cookie_before = client.get_cookie(SESSION_COOKIE).value

    auth.login(user.email)

    assert client.get_cookie(SESSION_COOKIE).value != cookie_before
    with client.session_transaction() as session:
        assert "planted" not in session
        session_token = session["_user_id"]
    [row] = sessions_of(app, user)
    assert row.token_hash == hashlib.sha256(session_token.encode()).hexdigest()
    assert row.revoked_at is None
    assert session_token not in (row.token_hash, str(user.id))


def test_each_login_gets_a_new_session_token(app, client, make, auth):
    user = make.user()
    auth.login(user.email)
    with client.session_transaction() as session:
        first = session["_user_id"]
    auth.logout()
    auth.login(user.email)
    with client.session_transaction() as session:
        second = session["_user_id"]
    assert first != second
    assert len(sessions_of(app, user)) == 2


def test_logout_redirects_to_login_with_a_notice(client, sign_in):
    sign_in()
    response = client.post("/logout", follow_redirects=True)
    assert response.request.path == "/login"
    assert "Вы вышли из системы." in page_text(response)
    assert_signed_out(client)


def test_logout_makes_a_copied_session_cookie_worthless(app, client, auth, sign_in):
    sign_in()
    stolen = client.get_cookie(SESSION_COOKIE).value
    auth.logout()

    other_browser = app.test_client()
    other_browser.set_cookie(SESSION_COOKIE, stolen)
    assert_signed_out(other_browser)


def test_remember_cookie_signs_in_a_new_browser_session(app, client, make, auth):
    user = make.user()
    auth.login(user.email, remember="y")
    remembered = client.get_cookie(REMEMBER_COOKIE)
    assert remembered is not None

    next_morning = app.test_client()
    next_morning.set_cookie(REMEMBER_COOKIE, remembered.value)
    assert next_morning.get("/").status_code == 200


def test_logout_clears_the_remember_cookie(client, make, auth):
    user = make.user()
    auth.login(user.email, remember="y")
    assert client.get_cookie(REMEMBER_COOKIE) is not None
    auth.logout()
    assert client.get_cookie(REMEMBER_COOKIE) is None


def test_remember_cookie_replayed_after_logout_does_not_sign_in(app, client, make, auth):
    user = make.user()
    auth.login(user.email, remember="y")
    remembered = client.get_cookie(REMEMBER_COOKIE).value
    auth.logout()

    replay = app.test_client()
    replay.set_cookie(REMEMBER_COOKIE, remembered)
    assert_signed_out(replay)


UNSAFE_NEXT = [
    "//evil.com",
    "///evil.com",
    "https://evil.com",
    "http://evil.com/profile",
    "/\\evil.com",
    "\\/evil.com",
    "\\\\evil.com",
    "/\t/evil.com",
    "javascript:alert(1)",
    "evil.com",
    " //evil.com",
    "/\r\nLocation: https://evil.com",
]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_login_ignores_unsafe_next(client, make, auth, target):
    user = make.user()
    response = auth.login(user.email, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "query",
    [
        "%2F%2Fevil.com",
        "https%3A%2F%2Fevil.com",
        "%2F%5Cevil.com",
        "/%0d%0aLocation:x",
        "/%09/evil.com",
        "javascript:alert(1)",
    ],
)
def test_login_link_with_unsafe_next_lands_on_dashboard(client, make, auth, query):
    user = make.user()
    page = client.get(f"/login?next={query}").get_data(as_text=True)
    next_value = re.search(r'name="next" type="hidden" value="([^"]*)"', page).group(1)
    assert next_value == ""
    response = auth.login(user.email, next=next_value)
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/profile", "/admin/users?q=%D0%B0"])
def test_login_honours_same_site_next(client, make, auth, target):
    user = make.user()
    response = auth.login(user.email, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_login_link_from_a_protected_page_returns_there(client, make, auth):
    user = make.user()
    to_login = client.get("/profile")
    assert to_login.headers["Location"] == "/login?next=/profile"
    page = client.get(to_login.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/profile"' in page
    assert auth.login(user.email, next="/profile").headers["Location"] == "/profile"


def test_signed_in_user_visiting_login_with_unsafe_next_goes_home(client, sign_in):
    sign_in()
    response = client.get("/login?next=//evil.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_too_many_failures_lock_out_even_the_right_password(client, make, auth):
    user = make.user()
    for _ in range(5):
        assert auth.login(user.email, "wrong-password").status_code == 401
    response = auth.login(user.email)
    assert response.status_code == 429
    assert login_error(response) == TOO_MANY_ATTEMPTS
    assert_signed_out(client)


def test_throttling_applies_to_unknown_emails_with_the_same_message(client, auth):
    for _ in range(5):
        assert auth.login("ghost@tehpromsnab.ru", "wrong-password").status_code == 401
    response = auth.login("ghost@tehpromsnab.ru", "wrong-password")
    assert response.status_code == 429
    assert login_error(response) == TOO_MANY_ATTEMPTS


def test_throttling_one_email_leaves_others_alone(client, make, auth):
    victim, colleague = make.user(), make.user()
    for _ in range(5):
        auth.login(victim.email, "wrong-password")
    assert auth.login(colleague.email).status_code == 302


def change_password(client, current, new, confirm=None):
    return client.post(
        "/profile/password",
        data={
            "pw-current_password": current,
            "pw-new_password": new,
            "pw-confirm_password": new if confirm is None else confirm,
        },
    )


def can_log_in(app, email, password) -> bool:
    return AuthActions(app.test_client()).login(email, password).status_code == 302


@pytest.mark.parametrize(
    ("new_password", "accepted"),
    [("123456789", False), ("абвгдежзи", False), ("1234567890", True)],
    ids=["9-digits", "9-cyrillic", "10-digits"],
)
def test_new_password_needs_at_least_ten_characters(app, client, sign_in, new_password, accepted):
    user = sign_in()
    response = change_password(client, DEFAULT_PASSWORD, new_password)
    if accepted:
        assert response.status_code == 302
        assert can_log_in(app, user.email, new_password)
    else:
        assert response.status_code == 422
        assert "Пароль должен быть не короче 10 символов." in page_text(response)
        assert can_log_in(app, user.email, DEFAULT_PASSWORD)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong-current-pw", "new-password-ok", None, "Текущий пароль указан неверно."),
        (DEFAULT_PASSWORD, "new-password-ok", "new-password-no", "Новые пароли не совпадают."),
    ],
    ids=["wrong-current", "confirmation-differs"],
)
def test_change_password_refuses_invalid_input(
    app, client, sign_in, current, new, confirm, message
):
    user = sign_in()
    response = change_password(client, current, new, confirm)
    assert response.status_code == 422
    assert message in page_text(response)
    assert can_log_in(app, user.email, DEFAULT_PASSWORD)


def test_change_password_signs_out_other_sessions_but_keeps_this_one(app, client, sign_in):
    user = sign_in()
    laptop = app.test_client()
    assert AuthActions(laptop).login(user.email).status_code == 302

    response = change_password(client, DEFAULT_PASSWORD, "brand-new-password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/profile"
    profile = client.get("/profile")
    assert profile.status_code == 200
    assert "Пароль изменён. Остальные сеансы завершены." in page_text(profile)

    assert client.get("/").status_code == 200
    assert_signed_out(laptop)
    assert not can_log_in(app, user.email, DEFAULT_PASSWORD)
    assert can_log_in(app, user.email, "brand-new-password")


def test_passwords_are_stored_as_scrypt_hashes(app, make):
    user = make.user(password="Пароль-для-проверки")
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("scrypt:")
    assert "Пароль-для-проверки" not in stored


def test_deactivating_a_user_ends_their_open_session(app, client, make, sign_in):
    sign_in("admin")
    user = make.user()
    their_browser = app.test_client()
    AuthActions(their_browser).login(user.email)
    assert their_browser.get("/").status_code == 200

    response = client.post(f"/admin/users/{user.id}/deactivate")
    assert response.status_code == 303

    assert_signed_out(their_browser)
    assert all(row.revoked_at is not None for row in sessions_of(app, user))


def test_session_idle_for_too_long_expires(app, client, sign_in):
    from datetime import timedelta

    from portal.models.base import utcnow

    user = sign_in()
    with app.app_context():
        for row in db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
            row.last_seen_at = utcnow() - timedelta(days=15)
        db.session.commit()
    assert_signed_out(client)


def test_login_form_keeps_csrf_token_in_page(client):
    assert csrf_from_page(client.get("/login").get_data(as_text=True))
