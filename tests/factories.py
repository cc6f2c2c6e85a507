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

    def deal(
        self,
        manager: User,
        status: str = "won",
        closed_at=None,
        title: str | None = None,
        client: str = "ООО «Северсталь-Логистик»",
        segment: str | None = "Логистика",
        amount=1_250_000,
        actor: User | None = None,
    ):
        """A deal of ``manager`` written through the deals service (closed now by default)."""
        from datetime import UTC, datetime, timedelta
        from decimal import Decimal

        from portal.deals import services as deals
        from portal.models import Deal

        if closed_at is None and status != "open":
            closed_at = datetime.now(UTC) - timedelta(hours=1)
        with self.app.app_context():
            owner = db.session.get(User, manager.id)
            writer = db.session.get(User, (actor or manager).id)
            deal, _created = deals.save_deal(
                writer,
                deals.DealInput(
                    title=title or f"Поставка компрессоров №{next(_counter)}",
                    client=client,
                    manager=owner,
                    status=status,
                    segment=segment,
                    amount=Decimal(amount) if amount is not None else None,
                    closed_at=closed_at,
                ),
            )
            deal_id = deal.id
        return self._get(Deal, deal_id)

    def send(self, deal, tool, version: int | None = None, reaction: str = "none", sent_at=None,
             reacted_at=None):  # fmt: skip
        """A КП/ТКП version sent in ``deal`` (by an admin, who may write any deal)."""
        from datetime import UTC, datetime, timedelta

        from portal.deals import services as deals
        from portal.models import Deal, ProposalSend

        sent_at = sent_at or datetime.now(UTC) - timedelta(days=3)
        admin = self.user(role="admin")
        with self.app.app_context():
            send = deals.record_proposal_send(
                db.session.get(User, admin.id), db.session.get(Deal, deal.id), tool.id,
                version, sent_at, reaction, reacted_at,
            )  # fmt: skip
            send_id = send.id
        return self._get(ProposalSend, send_id)

    def _get(self, model, pk):
        """A detached copy for reading ids and attributes in tests."""
        with self.app.app_context():
            obj = db.session.get(model, pk)
            db.session.expunge(obj)
            return obj
