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

    def tool(
        self,
        owner: User,
        title: str = "Скрипт холодного звонка",
        body: str = "Менеджер: Добрый день! Звоню по поводу компрессоров.",
        kind: str = "script",
        status: str = "approved",
        tags=(),
        segments=(),
        summary: str = "",
    ):
        from portal.kb import services as kb
        from portal.models import Role, SalesTool

        with self.app.app_context():
            author = db.session.get(User, owner.id)
            data = kb.ToolInput(
                kind=kind, title=title, body=body, summary=summary,
                tags=list(tags), segments=list(segments),
            )  # fmt: skip
            if status != "draft" and author.role == Role.MANAGER.value:
                # a manager's tool approved by someone with the right to approve
                tool = kb.create_tool(author, data)
                approver = self.user(role="lead")
                kb.set_tool_status(db.session.get(User, approver.id), tool, status)
            else:
                data.status = status
                tool = kb.create_tool(author, data)
            tool_id = tool.id
        return self._get(SalesTool, tool_id)

    def _get(self, model, pk):
        """A detached copy for reading ids and attributes in tests."""
        with self.app.app_context():
            obj = db.session.get(model, pk)
            db.session.expunge(obj)
            return obj
