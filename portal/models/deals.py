"""Deals from the CRM, their stage history, and the proposals sent in them."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .tools import SalesTool
from .users import Team, User


class DealStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"  # успешная сделка
    LOST = "lost"  # проигранная сделка


class Reaction(enum.StrEnum):
    """The client's reaction to a sent proposal, in order of strength."""

    NONE = "none"
    REPLIED = "replied"
    MEETING = "meeting"
    CHANGES_REQUESTED = "changes_requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Deal(db.Model):
    __tablename__ = "deals"
    __table_args__ = (
        # Reports scan the deals closed in a period; with the manager and the segment in
        # the index they never read the deal rows (bench/README.md, "Reports").
        Index(
            "ix_deals_status_closed_manager_segment", "status", "closed_at", "manager_id", "segment"
        ),
        Index(
            "ix_deals_team_status_closed_manager_segment",
            "team_id",
            "status",
            "closed_at",
            "manager_id",
            "segment",
        ),
        # "Won deals this tool was tagged in" looks each tagged deal's status up by id:
        # through this narrow index instead of the wide deal rows, 16× faster for a tool
        # tagged in thousands of deals (bench/README.md, "Load").
        Index("ix_deals_id_status", "id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The CRM's ID: re-importing or re-posting the same ID updates the deal.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    client: Mapped[str] = mapped_column(String(300), default="")
    segment: Mapped[str | None] = mapped_column(String(80), index=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The manager's team when the deal was last written: what leads see and meetings review.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    stage: Mapped[str | None] = mapped_column(String(120))
    pipeline: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(8), default=DealStatus.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    manager: Mapped[User] = relationship()
    team: Mapped[Team | None] = relationship()
    stage_changes: Mapped[list[DealStageChange]] = relationship(
        back_populates="deal", order_by="DealStageChange.changed_at", cascade="all, delete-orphan"
    )
    proposal_sends: Mapped[list[ProposalSend]] = relationship(
        back_populates="deal", order_by="ProposalSend.sent_at", cascade="all, delete-orphan"
    )


class DealStageChange(db.Model):
    """A stage, status or amount a deal had from a given moment (from imports and edits)."""

    __tablename__ = "deal_stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(40), default="manual")

    deal: Mapped[Deal] = relationship(back_populates="stage_changes")


class ProposalSend(db.Model):
    """A КП or ТКП version sent to the client of a deal, and how the client reacted."""

    __tablename__ = "proposal_sends"
    __table_args__ = (Index("ix_proposal_sends_tool_version", "tool_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("sales_tools.id"))
    version: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reaction: Mapped[str] = mapped_column(String(20), default=Reaction.NONE.value)
    reacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deal: Mapped[Deal] = relationship(back_populates="proposal_sends")
    tool: Mapped[SalesTool] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def hours_to_reaction(self) -> float | None:
        if self.reacted_at is None or self.reaction == Reaction.NONE.value:
            return None
        return round((self.reacted_at - self.sent_at).total_seconds() / 3600, 1)


class StageMapping(db.Model):
    """An admin's rule: this CRM stage name means open, won or lost."""

    __tablename__ = "stage_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(120), unique=True)  # normalised name
    status: Mapped[str] = mapped_column(String(8))


class ManagerAlias(db.Model):
    """A name as the CRM writes it, mapped to a portal user."""

    __tablename__ = "manager_aliases"
    __table_args__ = (UniqueConstraint("alias", name="uq_manager_aliases_alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alias: Mapped[str] = mapped_column(String(200))  # normalised
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship()


class DealImport(db.Model):
    """One import of a CRM file: what it did, and its error report."""

    __tablename__ = "deal_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    dry_run: Mapped[bool] = mapped_column(default=False)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    error_report: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class SegmentRule(db.Model):
    """An admin's rule: a deal whose tag or cell reads ``value`` belongs to ``segment``."""

    __tablename__ = "segment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(200), unique=True)  # normalised
    segment: Mapped[str] = mapped_column(String(80))
