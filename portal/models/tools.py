"""The knowledge base: sales tools, their versions, tags, segments and attachments."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .users import User


class ToolKind(enum.StrEnum):
    SCRIPT = "script"  # скрипт звонка
    TECHNIQUE = "technique"  # техника / приём продаж
    OBJECTION = "objection"  # отработка возражений
    PROPOSAL = "proposal"  # КП
    TECH_PROPOSAL = "tech_proposal"  # ТКП
    TEMPLATE = "template"  # шаблон письма
    CASE = "case"  # кейс
    CHECKLIST = "checklist"  # чек-лист
    OTHER = "other"


PROPOSAL_KINDS = frozenset({ToolKind.PROPOSAL, ToolKind.TECH_PROPOSAL})


class ToolStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    ARCHIVED = "archived"


tool_tags = Table(
    "tool_tags",
    db.metadata,
    Column("tool_id", ForeignKey("sales_tools.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # By tag with the tool in the index: "related tools" and tag filters read no table rows.
    Index("ix_tool_tags_tag_tool", "tag_id", "tool_id"),
)

tool_segments = Table(
    "tool_segments",
    db.metadata,
    Column("tool_id", ForeignKey("sales_tools.id", ondelete="CASCADE"), primary_key=True),
    Column("segment_id", ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_tool_segments_segment_tool", "segment_id", "tool_id"),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class Segment(db.Model):
    """A client segment (клиентская группа): «Производство», «Ритейл», «HoReCa»…"""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class SalesTool(db.Model):
    """Anything a manager uses to sell; title and body are versioned in ToolVersion."""

    __tablename__ = "sales_tools"
    __table_args__ = (
        Index("ix_sales_tools_status_kind", "status", "kind"),
        Index("ix_sales_tools_updated_at", "updated_at"),
        Index("ix_sales_tools_origin", "origin_meeting_id", "origin_deal_id"),
        # Covers the typeahead's title scan, so it reads this index and not the bodies.
        Index("ix_sales_tools_title_scan", "title", "status", "owner_id", "updated_at"),
        # The dashboard's "new tools approved" by week.
        Index("ix_sales_tools_approved_at", "approved_at"),
        # Covers the home page's counts (approved, drafts, overdue for review) as a manager sees them.
        Index("ix_sales_tools_status_review_owner", "status", "review_by", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=ToolStatus.DRAFT.value)
    # The number of the current ToolVersion; also the optimistic-lock token of edits.
    version: Mapped[int] = mapped_column(Integer, default=1)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    review_by: Mapped[date | None] = mapped_column(Date)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A draft captured at a planning meeting: the meeting and the deal it came from.
    origin_meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL")
    )
    origin_deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    tags: Mapped[list[Tag]] = relationship(secondary=tool_tags, order_by=Tag.name)
    segments: Mapped[list[Segment]] = relationship(secondary=tool_segments, order_by=Segment.name)
    versions: Mapped[list[ToolVersion]] = relationship(
        back_populates="tool", order_by="ToolVersion.number", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="tool", order_by="Attachment.created_at", cascade="all, delete-orphan"
    )

    @property
    def is_proposal(self) -> bool:
        return self.kind in PROPOSAL_KINDS

    def __repr__(self) -> str:
        return f"<SalesTool {self.id} {self.kind} v{self.version} {self.title!r}>"


class ToolVersion(db.Model):
    """Title and body as they were at version ``number`` (КП v3 is a ToolVersion)."""

    __tablename__ = "tool_versions"
    __table_args__ = (UniqueConstraint("tool_id", "number", name="uq_tool_versions_tool_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("sales_tools.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    change_note: Mapped[str] = mapped_column(String(1000), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tool: Mapped[SalesTool] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship()


class Attachment(db.Model):
    """A file kept beside a tool, stored under a generated name outside static/."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(
        ForeignKey("sales_tools.id", ondelete="CASCADE"), index=True
    )
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    extracted_text: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tool: Mapped[SalesTool] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User | None] = relationship()


class SearchOutbox(db.Model):
    """Index changes written in the same transaction as the data they follow."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class SearchSynonym(db.Model):
    """A group of words that mean the same to a sales team (КП = коммерческое предложение)."""

    __tablename__ = "search_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[str] = mapped_column(String(500))  # comma-separated group


class SearchQueryLog(db.Model):
    """What people searched for and how much they found: the content gaps."""

    __tablename__ = "search_queries"
    __table_args__ = (Index("ix_search_queries_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    normalized: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    results: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ToolEditProposal(db.Model):
    """A manager's suggested edit of a tool they may not change directly.

    A lead, head or admin accepts it (it becomes the next version) or rejects it.
    """

    __tablename__ = "tool_edit_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(
        ForeignKey("sales_tools.id", ondelete="CASCADE"), index=True
    )
    base_version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    change_note: Mapped[str] = mapped_column(String(1000), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(12), default="open")  # open|accepted|rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tool: Mapped[SalesTool] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
