"""Administration of users and teams: who may enter, forms, validation and the htmx list."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Team, User

from .conftest import HTMX, AuthActions, page_text

ADMIN_PAGES = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users/new"),
    ("GET", "/admin/teams"),
    ("GET", "/admin/users/{target}"),
    ("GET", "/admin/teams/{team}"),
    ("POST", "/admin/users/{target}/deactivate"),
]
PAGE_IDS = [f"{method} {path}" for method, path in ADMIN_PAGES]


@pytest.fixture
def target(make):
    """Somebody to look at, edit and deactivate."""
    return make.user(role="manager", team="Москва — промышленность", name="Дмитрий Козлов")


def open_page(client, method, path, target):
    url = path.format(target=target.id, team=target.team_id)
    return client.open(url, method=method)


def get_user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


@pytest.mark.parametrize("role", ["manager", "lead", "head"])
@pytest.mark.parametrize(("method", "path"), ADMIN_PAGES, ids=PAGE_IDS)
def test_admin_pages_are_forbidden_to_other_roles(app, client, sign_in, target, role, method, path):
    sign_in(role, team="Москва — промышленность")
    response = open_page(client, method, path, target)
    assert response.status_code == 403
    assert "У вас нет доступа к этой странице" in page_text(response)
    assert get_user(app, target.id).is_active


@pytest.mark.parametrize(("method", "path"), ADMIN_PAGES, ids=PAGE_IDS)
def test_admin_pages_send_anonymous_visitors_to_login(app, client, target, method, path):
    response = open_page(client, method, path, target)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert get_user(app, target.id).is_active


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [(method, path, 303 if method == "POST" else 200) for method, path in ADMIN_PAGES],
    ids=PAGE_IDS,
)
def test_admin_pages_open_for_admin(client, sign_in, target, method, path, status):
    sign_in("admin")
    assert open_page(client, method, path, target).status_code == status


def new_user_form(**overrides) -> dict:
    form = {
        "name": "Анна Петрова",
        "email": "a.petrova@tehpromsnab.ru",
        "role": "manager",
        "team_id": "0",
        "locale": "ru",
        "password": "0123456789",
    }
    form.update(overrides)
    return form


def test_admin_creates_a_user_who_can_sign_in(app, client, make, sign_in):
    sign_in("admin")
    team = make.team("Екатеринбург — ритейл и логистика")
    response = client.post(
        "/admin/users/new", data=new_user_form(role="lead", team_id=str(team.id))
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    listing = page_text(client.get("/admin/users"))
    assert "Пользователь «Анна Петрова» создан." in listing
    assert "a.petrova@tehpromsnab.ru" in listing

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "a.petrova@tehpromsnab.ru"))
        assert (user.name, user.role, user.team.name) == (
            "Анна Петрова",
            "lead",
            "Екатеринбург — ритейл и логистика",
        )
    newcomer = AuthActions(app.test_client())
    assert newcomer.login("a.petrova@tehpromsnab.ru", "0123456789").status_code == 302


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": "012345678"}, "Пароль должен быть не короче 10 символов."),
        ({"password": ""}, "Пароль должен быть не короче 10 символов."),
        ({"email": "not-an-email"}, "Введите корректный адрес e-mail."),
        ({"email": "anna@localhost"}, "Введите корректный адрес e-mail."),
        ({"email": "taken@tehpromsnab.ru"}, "Пользователь с таким e-mail уже есть."),
        ({"email": "TAKEN@tehpromsnab.ru"}, "Пользователь с таким e-mail уже есть."),
        ({"name": "   "}, "Обязательное поле."),
    ],
    ids=[
        "short-password",
        "no-password",
        "bad-email",
        "email-without-domain-dot",
        "duplicate-email",
        "duplicate-email-other-case",
        "blank-name",
    ],
)
def test_new_user_form_rejects_invalid_values(app, client, make, sign_in, overrides, message):
    make.user(email="taken@tehpromsnab.ru")
    sign_in("admin")
    before = user_count(app)
    response = client.post("/admin/users/new", data=new_user_form(**overrides))
    assert response.status_code == 422
    assert message in page_text(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert user_count(app) == before


def test_admin_edits_a_user(app, client, make, sign_in, target):
    sign_in("admin")
    team = make.team("Новая команда")
    response = client.post(
        f"/admin/users/{target.id}",
        data=new_user_form(
            name="Дмитрий Козлов-Старший",
            email="d.kozlov@tehpromsnab.ru",
            role="lead",
            team_id=str(team.id),
            locale="en",
            password="",
        ),
    )
    assert response.status_code == 302
    assert "Изменения для «Дмитрий Козлов-Старший» сохранены." in page_text(
        client.get("/admin/users")
    )
    edited = get_user(app, target.id)
    assert (edited.name, edited.email, edited.role, edited.team_id, edited.locale) == (
        "Дмитрий Козлов-Старший",
        "d.kozlov@tehpromsnab.ru",
        "lead",
        team.id,
        "en",
    )


def test_edit_form_shows_the_current_values(client, sign_in, target):
    sign_in("admin")
    page = page_text(client.get(f"/admin/users/{target.id}"))
    assert f'value="{target.email}"' in page
    assert f'<option selected value="{target.team_id}">Москва — промышленность</option>' in page


def test_edit_with_duplicate_email_is_refused(app, client, make, sign_in, target):
    other = make.user(email="busy@tehpromsnab.ru")
    sign_in("admin")
    response = client.post(
        f"/admin/users/{target.id}",
        data=new_user_form(name=target.name, email=other.email, team_id=str(target.team_id)),
    )
    assert response.status_code == 422
    assert "Пользователь с таким e-mail уже есть." in page_text(response)
    assert get_user(app, target.id).email == target.email


def test_admin_deactivates_and_activates_a_user(app, client, sign_in, target):
    sign_in("admin")
    response = client.post(f"/admin/users/{target.id}/deactivate")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/users"
    assert "Дмитрий Козлов деактивирован(а), все сеансы завершены." in page_text(
        client.get("/admin/users")
    )
    assert not get_user(app, target.id).is_active
    assert get_user(app, target.id).deactivated_at is not None
    assert AuthActions(app.test_client()).login(target.email).status_code == 401

    response = client.post(f"/admin/users/{target.id}/activate")
    assert response.status_code == 303
    assert get_user(app, target.id).is_active
    assert AuthActions(app.test_client()).login(target.email).status_code == 302


def test_admin_cannot_deactivate_themselves(app, client, sign_in):
    admin = sign_in("admin")
    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "Нельзя деактивировать самого себя." in page_text(response)
    assert get_user(app, admin.id).is_active
    assert client.get("/admin/users").status_code == 200


def test_deactivated_users_are_hidden_unless_asked_for(client, make, sign_in):
    sign_in("admin")
    make.user(name="Ушедший Сотрудник", active=False)
    assert "Ушедший Сотрудник" not in page_text(client.get("/admin/users"))
    assert "Ушедший Сотрудник" in page_text(client.get("/admin/users?inactive=1"))


def team_names(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Team.name).order_by(Team.name)))


def test_admin_creates_a_team(app, client, sign_in):
    sign_in("admin")
    response = client.post("/admin/teams", data={"name": "  Казань   — опт "})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/teams"
    page = page_text(client.get("/admin/teams"))
    assert "Команда «Казань — опт» создана." in page
    assert team_names(app) == ["Казань — опт"]


def test_admin_renames_a_team(app, client, make, sign_in):
    sign_in("admin")
    team = make.team("Казань")
    response = client.post(
        f"/admin/teams/{team.id}", data={"name": "Казань — опт", "is_active": "y"}
    )
    assert response.status_code == 303
    assert "Команда «Казань — опт» сохранена." in page_text(client.get("/admin/teams"))
    assert team_names(app) == ["Казань — опт"]


@pytest.mark.parametrize(
    "name", ["Москва", "москва", " МОСКВА "], ids=["same", "lower-case", "upper-case-padded"]
)
def test_duplicate_team_name_is_refused(app, client, make, sign_in, name):
    make.team("Москва")
    sign_in("admin")
    response = client.post("/admin/teams", data={"name": name})
    assert response.status_code == 422
    assert "Команда с таким названием уже есть." in page_text(response)
    assert team_names(app) == ["Москва"]


def test_renaming_a_team_to_a_taken_name_is_refused(app, client, make, sign_in):
    make.team("Москва")
    kazan = make.team("Казань")
    sign_in("admin")
    response = client.post(f"/admin/teams/{kazan.id}", data={"name": "МОСКВА", "is_active": "y"})
    assert response.status_code == 422
    assert "Команда с таким названием уже есть." in page_text(response)
    assert team_names(app) == ["Казань", "Москва"]


USER_ROWS = {**HTMX, "HX-Target": "user-rows"}


def test_user_search_for_htmx_returns_only_the_rows(client, make, sign_in):
    sign_in("admin")
    make.user(name="Ольга Кузнецова")
    make.user(name="Павел Новиков")
    response = client.get("/admin/users?q=кузн", headers=USER_ROWS)
    assert response.status_code == 200
    body = page_text(response)
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="user-rows">')
    assert "Ольга Кузнецова" in body
    assert "Павел Новиков" not in body


def test_user_search_without_htmx_returns_the_full_page(client, make, sign_in):
    sign_in("admin")
    make.user(name="Ольга Кузнецова")
    make.user(name="Павел Новиков")
    response = client.get("/admin/users?q=кузн")
    assert response.status_code == 200
    body = page_text(response)
    assert "<html" in body
    assert '<div id="user-rows">' in body
    assert 'value="кузн"' in body
    assert "Ольга Кузнецова" in body
    assert "Павел Новиков" not in body


def test_htmx_request_for_another_target_gets_the_full_page(client, sign_in):
    sign_in("admin")
    response = client.get("/admin/users", headers={**HTMX, "HX-Target": "content"})
    assert "<html" in response.get_data(as_text=True)


def test_user_search_finds_by_email(client, make, sign_in):
    sign_in("admin")
    make.user(name="Ольга Кузнецова", email="o.kuznetsova@tehpromsnab.ru")
    body = page_text(client.get("/admin/users?q=O.KUZ", headers=USER_ROWS))
    assert "Ольга Кузнецова" in body


@pytest.mark.parametrize("headers", [{}, USER_ROWS], ids=["full-page", "fragment"])
def test_user_list_varies_on_hx_request(client, sign_in, headers):
    sign_in("admin")
    response = client.get("/admin/users", headers=headers)
    assert "HX-Request" in response.vary


@pytest.mark.parametrize("typed", ["%", "_"])
def test_user_search_treats_wildcards_as_text(client, make, sign_in, typed):
    sign_in("admin")
    make.user(name="Ольга Кузнецова", email="o.kuznetsova@tehpromsnab.ru")
    body = page_text(client.get(f"/admin/users?q={typed}", headers=USER_ROWS))
    assert "Ольга Кузнецова" not in body
