"""Factory functions that make real rows through the real services."""

from __future__ import annotations

import itertools

from portal.auth import services as accounts
from portal.extensions import db
from portal.models import Team, User

DEFAULT_PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


class Factory:
    def __init__(self, app):
        self.app = app

    def team(self, name: str | None = None) -> Team:
        with self.app.app_context():
            team = accounts.get_or_create_team(name or f"Команда {next(_counter)}")
            db.session.commit()
            team_id = team.id
        return self._get(Team, team_id)

    def user(
        self,
        role: str = "manager",
        team: str | Team | None = None,
        email: str | None = None,
        name: str | None = None,
        password: str = DEFAULT_PASSWORD,
        locale: str = "ru",
        active: bool = True,
    ) -> User:
        n = next(_counter)
        team_name = team.name if isinstance(team, Team) else team
        with self.app.app_context():
            user = accounts.create_user(
                email or f"user{n}@tehpromsnab.ru",
                name or f"Пользователь {n}",
                role,
                password,
                team_name=team_name,
                locale=locale,
            )
            if not active:
                accounts.set_user_active(user, False)
            user_id = user.id
        return self._get(User, user_id)

    def token(self, user: User, name: str = "тест") -> str:
        with self.app.app_context():
            _, secret = accounts.create_api_token(db.session.get(User, user.id), name)
        return secret

    def _get(self, model, pk):
        """A detached copy for reading ids and attributes in tests."""
        with self.app.app_context():
            obj = db.session.get(model, pk)
            db.session.expunge(obj)
            return obj
