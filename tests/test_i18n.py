"""Russian first, English on request; money and dates the way each language writes them."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale

from portal.extensions import db
from portal.models import User
from portal.web.formatting import long_date, money

from .conftest import page_text

ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def spaces_normalised(text: str) -> str:
    """Babel groups digits with no-break spaces; compare them as plain spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def test_login_page_is_russian_by_default(client):
    response = client.get("/login")
    body = page_text(response)
    assert '<html lang="ru">' in body
    assert "Войти" in body
    assert "Вход в Планёрку" in body
    assert "Sign in" not in body


def test_anonymous_visitor_asking_for_english_gets_english(client):
    body = page_text(client.get("/login", headers=ENGLISH))
    assert '<html lang="en">' in body
    assert "Sign in to Planerka" in body
    assert "Вход в Планёрку" not in body


def test_unsupported_browser_language_falls_back_to_russian(client):
    body = page_text(client.get("/login", headers={"Accept-Language": "de-DE,fr;q=0.8"}))
    assert "Вход в Планёрку" in body


def test_anonymous_language_choice_is_kept_for_the_visit(client):
    response = client.post("/language", data={"lang": "en", "next": "/login"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert "Sign in to Planerka" in page_text(client.get("/login"))


def test_language_switch_saves_the_choice_in_the_profile(app, client, sign_in):
    user = sign_in(name="Анна Петрова")
    dashboard = page_text(client.get("/"))
    assert "Здравствуйте, Анна!" in dashboard
    assert "Команды" in dashboard

    response = client.post("/language", data={"lang": "en", "next": "/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    with app.app_context():
        assert db.session.get(User, user.id).locale == "en"

    dashboard = page_text(client.get("/"))
    assert '<html lang="en">' in dashboard
    assert "Hello, Анна!" in dashboard
    assert "Teams" in dashboard
    assert "Sign out" in dashboard


def test_profile_language_beats_the_browser_language(client, sign_in):
    sign_in(locale="ru")
    body = page_text(client.get("/", headers=ENGLISH))
    assert '<html lang="ru">' in body
    assert "Выйти" in body


def test_unknown_language_choice_changes_nothing(app, client, sign_in):
    user = sign_in()
    client.post("/language", data={"lang": "de"})
    with app.app_context():
        assert db.session.get(User, user.id).locale == "ru"


def test_team_manager_count_is_pluralised_in_russian(client, make, sign_in):
    team = make.team("Москва — промышленность")
    for _ in range(2):
        make.user(team=team)
    sign_in("lead", team=team)
    assert "2 менеджера по продажам" in page_text(client.get("/"))


@pytest.mark.parametrize(
    ("locale", "amount", "expected"),
    [
        ("ru", 1250000, "1 250 000 ₽"),
        ("ru", 1250.5, "1 250,50 ₽"),
        ("ru", 0, "0 ₽"),
        ("ru", None, "—"),
        ("en", 1250000, "1,250,000 ₽"),
        ("en", 1250.5, "1,250.50 ₽"),
    ],
)
def test_money_is_formatted_for_the_locale(app, locale, amount, expected):
    with app.test_request_context(), force_locale(locale):
        assert spaces_normalised(money(amount)) == expected


@pytest.mark.parametrize(
    ("locale", "expected"), [("ru", "27 ноября 2026"), ("en", "27 November 2026")]
)
def test_long_date_is_written_out_for_the_locale(app, locale, expected):
    with app.test_request_context(), force_locale(locale):
        assert long_date(date(2026, 11, 27)) == expected
