"""The weekly planning meeting (планёрка): its agenda, deal reviews and action items."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .deals import Deal
from .tools import SalesTool
from .users import Team, User


class MeetingStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class MeetingKind(enum.StrEnum):
    WEEKLY = "weekly"  # the team's планёрка of an ISO week; one per team and week
    ADHOC = "adhoc"  # an extra meeting, as many as needed


class Meeting(db.Model):
    __tablename__ = "meetings"
    __table_args__ = (
        # One weekly meeting per team and week; ad-hoc meetings leave weekly_week NULL.
        UniqueConstraint("team_id", "weekly_week", name="uq_meetings_team_weekly_week"),
        Index("ix_meetings_team_week", "team_id", "week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week, "2026-W48"
    weekly_week: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8), default=MeetingKind.WEEKLY.value)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(8), default=MeetingStatus.OPEN.value)
    minutes_per_deal: Mapped[int] = mapped_column(Integer, default=3)
    # The deal on the shared screen, and since when: followers and the timer use it.
    current_deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    current_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every change, so followers can ask "anything new since revision N?".
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[Team] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    items: Mapped[list[MeetingItem]] = relationship(
        back_populates="meeting",
        order_by="MeetingItem.position",
        cascade="all, delete-orphan",
        foreign_keys="MeetingItem.meeting_id",
    )
    reviews: Mapped[list[DealReview]] = relationship(
        back_populates="meeting", order_by="DealReview.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status == MeetingStatus.OPEN.value


class MeetingItem(db.Model):
    """A deal on the meeting's agenda, in the order the lead wants to walk through them."""

    __tablename__ = "meeting_items"
    __table_args__ = (
        UniqueConstraint("meeting_id", "deal_id", name="uq_meeting_items_meeting_deal"),
        Index("ix_meeting_items_deal", "deal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    suggested: Mapped[bool] = mapped_column(Boolean, default=False)  # put there by the portal
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="items", foreign_keys=[meeting_id])
    deal: Mapped[Deal] = relationship()


class DealReview(db.Model):
    """Разбор сделки: what worked in one deal, told at one meeting."""

    __tablename__ = "deal_reviews"
    __table_args__ = (
        UniqueConstraint("meeting_id", "deal_id", name="uq_deal_reviews_meeting_deal"),
        Index("ix_deal_reviews_deal", "deal_id"),
        # The dashboard counts reviews by the week they were held.
        Index("ix_deal_reviews_created_at", "created_at", "deal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    key_tool_id: Mapped[int | None] = mapped_column(ForeignKey("sales_tools.id"))
    lesson: Mapped[str] = mapped_column(Text, default="")
    # Optimistic lock: a save names the version it was based on; a stale one is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Who has the lesson open in an editor, until when (closing waits for them).
    editing_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    editing_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="reviews")
    deal: Mapped[Deal] = relationship()
    key_tool: Mapped[SalesTool | None] = relationship()
    editing_by: Mapped[User | None] = relationship(foreign_keys=[editing_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    tools: Mapped[list[ReviewTool]] = relationship(
        back_populates="review", order_by="ReviewTool.id", cascade="all, delete-orphan"
    )
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="review", order_by="ActionItem.id"
    )


class ReviewTool(db.Model):
    """A sales tool tagged in a review, optionally with the version that was used.

    ``deal_id`` repeats the review's deal so that usage reports join one table less.
    """

    __tablename__ = "review_tools"
    __table_args__ = (
        UniqueConstraint("review_id", "tool_id", name="uq_review_tools_review_tool"),
        Index("ix_review_tools_tool_deal", "tool_id", "deal_id"),
        Index("ix_review_tools_deal", "deal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("deal_reviews.id", ondelete="CASCADE"))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    tool_id: Mapped[int] = mapped_column(ForeignKey("sales_tools.id"))
    version: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[DealReview] = relationship(back_populates="tools")
    tool: Mapped[SalesTool] = relationship()


class ActionItem(db.Model):
    """Something to do after a meeting; open ones come back at the team's next meeting."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_team_done", "team_id", "done"),
        Index("ix_action_items_review", "review_id"),
        Index("ix_action_items_owner_done", "owner_id", "done"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("deal_reviews.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_in_meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship(foreign_keys=[meeting_id])
    review: Mapped[DealReview | None] = relationship(back_populates="action_items")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
