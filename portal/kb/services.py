"""The knowledge base: creating, versioning, approving and finding sales tools."""

from __future__ import annotations

import difflib
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select, union

from ..activity import activity_log
from ..extensions import db
from ..faults import checkpoint
from ..models import (
    Attachment,
    SalesTool,
    Segment,
    Tag,
    ToolKind,
    ToolStatus,
    ToolVersion,
    User,
)
from ..models.base import utcnow
from ..models.tools import tool_segments, tool_tags
from ..policy import can, tool_scope
from ..search.service import record_tool_change
from ..web.markdown import markdown_problem
from ..web.plain_text import clean_line, clean_multiline

KINDS = [k.value for k in ToolKind]
STATUSES = [s.value for s in ToolStatus]
KIND_LABELS = {
    "script": _l("Call script"),
    "technique": _l("Technique"),
    "objection": _l("Objection handling"),
    "proposal": _l("Commercial proposal (КП)"),
    "tech_proposal": _l("Technical-commercial proposal (ТКП)"),
    "template": _l("E-mail template"),
    "case": _l("Case study"),
    "checklist": _l("Checklist"),
    "other": _l("Other"),
}
STATUS_LABELS = {
    "draft": _l("Draft"),
    "approved": _l("Approved"),
    "archived": _l("Archived"),
}
DEFAULT_REVIEW_DAYS = 180
MAX_TAGS = 20


class ToolError(ValueError):
    """Invalid input for a tool; ``fields`` maps field names to reasons."""

    def __init__(self, fields: dict[str, object]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class PermissionDenied(Exception):
    """The user may not do this to this tool."""


class StaleVersion(Exception):
    """The edit was based on an older version than the current one."""

    def __init__(self, tool: SalesTool, base_version: int):
        super().__init__(f"tool {tool.id} is at v{tool.version}, edit based on v{base_version}")
        self.tool = tool
        self.base_version = base_version


@dataclass
class ToolInput:
    """Cleaned values of a create or edit, from a form or the API."""

    kind: str
    title: str
    body: str
    summary: str = ""
    tags: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    status: str | None = None
    review_by: date | None = None
    change_note: str = ""


def clean_names(values, limit: int = MAX_TAGS, max_len: int = 60) -> list[str]:
    """Tags or segments from a list or a comma-separated string: trimmed, unique, in order."""
    if isinstance(values, str):
        values = values.split(",")
    seen: dict[str, str] = {}
    for value in values or []:
        name = " ".join(clean_line(str(value)).split())[:max_len]
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())[:limit]


def validate_tool_input(data: ToolInput, *, require_note: bool = False) -> None:
    data.title, data.summary = clean_line(data.title), clean_line(data.summary)
    data.change_note = clean_multiline(data.change_note)
    errors: dict[str, object] = {}
    if data.kind not in KINDS:
        errors["kind"] = _l("Choose one of the tool kinds.")
    if not data.title.strip():
        errors["title"] = _l("Give the tool a title.")
    elif len(data.title) > 200:
        errors["title"] = _l("Keep the title under 200 characters.")
    if len(data.summary) > 500:
        errors["summary"] = _l("Keep the summary under 500 characters.")
    if (problem := markdown_problem(data.body)) is not None:
        errors["body"] = problem
    if data.status is not None and data.status not in STATUSES:
        errors["status"] = _l("Status must be draft, approved or archived.")
    if require_note and not data.change_note.strip():
        errors["change_note"] = _l("Say what changed and why.")
    if len(data.change_note) > 1000:
        errors["change_note"] = _l("Keep the note under 1,000 characters.")
    if errors:
        raise ToolError(errors)


def _tags(names: list[str]) -> list[Tag]:
    return _named(Tag, [n.lower() for n in names])


def _segments(names: list[str]) -> list[Segment]:
    return _named(Segment, names)


def _named(model, names: list[str]):
    if not names:
        return []
    existing = {
        row.name.lower(): row
        for row in db.session.scalars(
            select(model).where(func.lower(model.name).in_([n.lower() for n in names]))
        )
    }
    result = []
    for name in names:
        row = existing.get(name.lower())
        if row is None:
            row = model(name=name)
            db.session.add(row)
            existing[name.lower()] = row
        result.append(row)
    return result


def _check_status_change(user: User, new_status: str | None, tool: SalesTool | None) -> None:
    current = tool.status if tool else ToolStatus.DRAFT.value
    if new_status is None or new_status == current:
        return
    action = "tool.archive" if new_status == ToolStatus.ARCHIVED.value else "tool.approve"
    if not can(user, action, tool):
        raise PermissionDenied(action)


def create_tool(
    author: User,
    data: ToolInput,
    *,
    origin_meeting_id: int | None = None,
    origin_deal_id: int | None = None,
) -> SalesTool:
    """Create a tool at version 1. Managers create drafts; staff may create approved ones.

    A draft captured at a planning meeting names the meeting and deal it came from.
    """
    data.title, data.summary = data.title.strip(), data.summary.strip()
    validate_tool_input(data)
    status = data.status or ToolStatus.DRAFT.value
    _check_status_change(author, status, None)
    now = utcnow()
    tool = SalesTool(
        kind=data.kind,
        title=data.title,
        summary=data.summary,
        body=data.body,
        status=status,
        version=1,
        owner=author,
        review_by=data.review_by or (now.date() + timedelta(days=DEFAULT_REVIEW_DAYS)),
        created_at=now,
        updated_at=now,
        origin_meeting_id=origin_meeting_id,
        origin_deal_id=origin_deal_id,
    )
    if status == ToolStatus.APPROVED.value:
        tool.approved_by, tool.approved_at = author, now
    tool.tags = _tags(data.tags)
    tool.segments = _segments(data.segments)
    tool.versions.append(
        ToolVersion(
            number=1,
            title=data.title,
            body=data.body,
            change_note=data.change_note.strip() or str(_l("First version")),
            author=author,
            created_at=now,
        )
    )
    db.session.add(tool)
    db.session.flush()
    record_tool_change(tool.id)
    db.session.flush()
    checkpoint("tool.before_commit")
    db.session.commit()
    return tool


def update_tool(
    editor: User, tool: SalesTool, data: ToolInput, base_version: int | None
) -> tuple[SalesTool, bool]:
    """Save an edit; a changed title or body becomes version N+1 with a required note.

    ``base_version`` is the version the editor started from: an older one raises
    StaleVersion and nothing is written. Returns the tool and whether a version was made.
    """
    if not can(editor, "tool.edit", tool):
        raise PermissionDenied("tool.edit")
    data.title, data.summary = data.title.strip(), data.summary.strip()
    content_changed = data.title != tool.title or data.body != tool.body
    validate_tool_input(data, require_note=content_changed)
    _check_status_change(editor, data.status, tool)
    # Lock the row for the check-and-write (a no-op on SQLite, whose writes serialise).
    current = db.session.scalar(
        select(SalesTool.version).where(SalesTool.id == tool.id).with_for_update()
    )
    if base_version is not None and base_version != current:
        db.session.rollback()
        raise StaleVersion(tool, base_version)
    now = utcnow()
    if content_changed:
        tool.version = current + 1
        tool.versions.append(
            ToolVersion(
                number=tool.version,
                title=data.title,
                body=data.body,
                change_note=data.change_note.strip(),
                author=editor,
                created_at=now,
            )
        )
        tool.title, tool.body = data.title, data.body
    tool.kind = data.kind
    tool.summary = data.summary
    tool.tags = _tags(data.tags)
    tool.segments = _segments(data.segments)
    if data.review_by is not None:
        tool.review_by = data.review_by
    if data.status is not None and data.status != tool.status:
        _apply_status(editor, tool, data.status, now)
    tool.updated_at = now
    record_tool_change(tool.id)
    db.session.flush()
    checkpoint("tool.before_commit")
    db.session.commit()
    return tool, content_changed


def _apply_status(user: User, tool: SalesTool, status: str, now) -> None:
    tool.status = status
    if status == ToolStatus.APPROVED.value:
        tool.approved_by, tool.approved_at = user, now


def set_tool_status(user: User, tool: SalesTool, status: str) -> SalesTool:
    """Approve, archive or return a tool to draft (leads, heads and admins)."""
    if status not in STATUSES:
        raise ToolError({"status": _l("Status must be draft, approved or archived.")})
    _check_status_change(user, status, tool)
    if status == ToolStatus.DRAFT.value and not can(user, "tool.approve", tool):
        raise PermissionDenied("tool.approve")
    _apply_status(user, tool, status, utcnow())
    tool.updated_at = utcnow()
    record_tool_change(tool.id)
    db.session.commit()
    return tool


def get_tool_for(user: User, tool_id: int) -> SalesTool | None:
    """The tool if ``user`` may see it; None otherwise (so it reads as "not found")."""
    tool = db.session.get(SalesTool, tool_id)
    if tool is None or not can(user, "tool.view", tool):
        return None
    return tool


def get_version(tool: SalesTool, number: int) -> ToolVersion | None:
    return db.session.scalar(
        select(ToolVersion).where(ToolVersion.tool_id == tool.id, ToolVersion.number == number)
    )


def record_view(tool: SalesTool) -> None:
    """Count a view, for the "nobody has looked at this for months" list: written in the
    request, or behind it in production (portal/activity.py)."""
    activity_log().record_view(tool.id)


def view_count(tool: SalesTool) -> int:
    """The tool's views, those this process has not written yet included."""
    return tool.view_count + activity_log().pending_views(tool.id)


def needs_review(tool: SalesTool, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return (
        tool.status != ToolStatus.ARCHIVED.value
        and tool.review_by is not None
        and (tool.review_by < today)
    )


def uses_in_won_deals(tool_ids: list[int]) -> dict[int, int]:
    """How many won deals each tool was tagged in at planning meetings: {tool_id: deals}."""
    from ..meetings.services import won_deal_counts

    return won_deal_counts(tool_ids)


# --- the library -----------------------------------------------------------------

SORTS = {
    "updated": SalesTool.updated_at.desc(),
    "title": func.lower(SalesTool.title).asc(),
    "views": SalesTool.view_count.desc(),
    "least_viewed": SalesTool.view_count.asc(),
    "review_by": SalesTool.review_by.asc(),
    "created": SalesTool.created_at.desc(),
}


@dataclass
class LibraryFilter:
    kind: str = ""
    tag: str = ""
    segment: str = ""
    status: str = ""
    owner_id: int | None = None
    needs_review: bool = False
    not_viewed_days: int | None = None
    sort: str = "updated"
    page: int = 1
    per_page: int = 25


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_tools(user: User, flt: LibraryFilter) -> Page:
    """Tools the user may see, filtered and sorted; counted in SQL."""
    query = tool_scope(user)
    if flt.kind:
        query = query.where(SalesTool.kind == flt.kind)
    if flt.status:
        query = query.where(SalesTool.status == flt.status)
    elif not flt.needs_review:
        query = query.where(SalesTool.status != ToolStatus.ARCHIVED.value)
    if flt.tag:
        query = query.where(
            SalesTool.id.in_(
                select(tool_tags.c.tool_id)
                .join(Tag, Tag.id == tool_tags.c.tag_id)
                .where(func.lower(Tag.name) == flt.tag.lower())
            )
        )
    if flt.segment:
        query = query.where(
            SalesTool.id.in_(
                select(tool_segments.c.tool_id)
                .join(Segment, Segment.id == tool_segments.c.segment_id)
                .where(func.lower(Segment.name) == flt.segment.lower())
            )
        )
    if flt.owner_id:
        query = query.where(SalesTool.owner_id == flt.owner_id)
    today = utcnow().date()
    if flt.needs_review:
        query = query.where(
            SalesTool.review_by < today, SalesTool.status != ToolStatus.ARCHIVED.value
        )
    if flt.not_viewed_days:
        cutoff = utcnow() - timedelta(days=flt.not_viewed_days)
        query = query.where(
            or_(SalesTool.last_viewed_at.is_(None), SalesTool.last_viewed_at < cutoff)
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    order = SORTS.get(flt.sort, SORTS["updated"])
    page = max(1, flt.page)
    items = list(
        db.session.scalars(
            query.order_by(order, SalesTool.id.desc())
            .limit(flt.per_page)
            .offset((page - 1) * flt.per_page)
        )
    )
    return Page(items, total, page, flt.per_page)


def all_tags() -> list[str]:
    return list(db.session.scalars(select(Tag.name).order_by(Tag.name)))


def all_segments() -> list[str]:
    return list(db.session.scalars(select(Segment.name).order_by(Segment.name)))


def tool_owners() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.id.in_(select(SalesTool.owner_id))).order_by(User.name)
        )
    )


def related_tools(user: User, tool: SalesTool, limit: int = 5) -> list[SalesTool]:
    """Tools sharing the most tags and segments with ``tool`` that the user may see.

    Ranked by how many of the tool's tags and segments they share, then approved before
    drafts, then the most recently updated. With ``RELATED_TOOLS_CACHE_SECONDS`` > 0 (the
    production profile) each worker keeps two rankings per tool for that long (a sidebar of
    suggestions may lag a tool's new tags by a minute): staff's, of every tool, and the
    published one, of every tool but drafts, with each tool's shared count. A manager sees
    published tools and their own drafts, so their answer is the published ranking merged
    with their own drafts' counts (one small query): the same as ranking for them. A kept
    ranking is read back through the user's scope, so a tool archived since drops out at once.
    """
    seconds = current_app.config.get("RELATED_TOOLS_CACHE_SECONDS", 0)
    if not seconds or not (tool.tags or tool.segments):
        return _related_ranking(tool_scope(user), tool, limit)
    cache = current_app.extensions.setdefault("related_tools_cache", RelatedToolsCache())
    staff = can(user, "tool.approve")
    key = (tool.id, limit, "staff" if staff else "published")
    ranked = cache.get(key, seconds)
    if ranked is None:
        if staff:
            found = _related_ranking(select(SalesTool), tool, limit)
            cache.put(key, [(t.id, 0) for t in found])
            return found
        found = _related_ranking(
            select(SalesTool).where(SalesTool.status != ToolStatus.DRAFT.value), tool, limit
        )
        ranked = list(_shared_counts(tool, [t.id for t in found]).items())
        cache.put(key, ranked)
    shared = dict(ranked)
    if not staff:  # their own drafts, counted now
        own = db.session.scalars(
            select(SalesTool.id).where(
                SalesTool.owner_id == user.id,
                SalesTool.status == ToolStatus.DRAFT.value,
                SalesTool.id != tool.id,
            )
        ).all()  # ids first: counting then probes each draft's few rows
        if own:
            shared |= _shared_counts(tool, own)
    if not shared:
        return []
    order = {tool_id: i for i, (tool_id, _) in enumerate(ranked)}
    visible = db.session.scalars(
        tool_scope(user).where(
            SalesTool.id.in_(list(shared)), SalesTool.status != ToolStatus.ARCHIVED.value
        )
    )
    if staff:  # staff's ranking is the answer as it was kept
        return sorted(visible, key=lambda t: order[t.id])
    return sorted(
        visible, key=lambda t: (-shared[t.id], t.status, -t.updated_at.timestamp(), t.id)
    )[:limit]


def _shared_counts(tool: SalesTool, among) -> dict[int, int]:
    """{tool id: tags and segments it shares with ``tool``} for the tool ids ``among`` that
    share any."""
    tag_ids, segment_ids = [t.id for t in tool.tags], [s.id for s in tool.segments]
    by_tag = select(tool_tags.c.tool_id.label("tool_id")).where(
        tool_tags.c.tag_id.in_(tag_ids), tool_tags.c.tool_id.in_(among)
    )
    by_segment = select(tool_segments.c.tool_id).where(
        tool_segments.c.segment_id.in_(segment_ids), tool_segments.c.tool_id.in_(among)
    )
    overlap = by_tag.union_all(by_segment).subquery()
    return dict(
        db.session.execute(
            select(overlap.c.tool_id, func.count()).group_by(overlap.c.tool_id)
        ).all()
    )


class RelatedToolsCache:
    """Per app and worker process: (tool id, limit, "staff" | "published") → (when, [(tool id,
    shared count)]) best first; bounded, thread-safe."""

    MAX_ENTRIES = 10_000

    def __init__(self):
        self._lock = threading.Lock()
        self._ranked: dict[tuple, tuple[float, list[tuple[int, int]]]] = {}

    def get(self, key: tuple, seconds: float) -> list[tuple[int, int]] | None:
        kept = self._ranked.get(key)
        if kept is None or time.monotonic() - kept[0] > seconds:
            return None
        return kept[1]

    def put(self, key: tuple, ranked: list[tuple[int, int]]) -> None:
        with self._lock:
            if len(self._ranked) >= self.MAX_ENTRIES:
                self._ranked.clear()
            self._ranked[key] = (time.monotonic(), ranked)


def _related_ranking(visible: Select, tool: SalesTool, limit: int) -> list[SalesTool]:
    """The ranking among ``visible`` (a SELECT of SalesTool), computed now.

    A tag or segment is shared by thousands of tools, so counting the overlap of every one
    of them costs 15–30 ms; most tools have ``limit`` neighbours that share *everything*
    (or all but one), which a chain of primary-key probes finds in about a millisecond. The
    full count runs only when those are too few; the result is the same either way.
    """
    parts = [(tool_tags, tool_tags.c.tag_id, t.id) for t in tool.tags] + [
        (tool_segments, tool_segments.c.segment_id, s.id) for s in tool.segments
    ]
    if not parts:
        return []
    visible = visible.where(SalesTool.id != tool.id, SalesTool.status != ToolStatus.ARCHIVED.value)
    # Everything shared: the highest score there is, so the order is status, then updated.
    found = list(
        db.session.scalars(
            visible.where(SalesTool.id.in_(_sharing_all(parts)))
            .order_by(SalesTool.status.asc(), SalesTool.updated_at.desc())
            .limit(limit)
        )
    )
    if len(found) == limit:
        return found
    # All but one shared: when there are enough of those, no other tool can rank above them.
    if len(parts) > 1:
        candidates = [_sharing_all(parts[:i] + parts[i + 1 :]) for i in range(len(parts))]
        found = _ranked_by_overlap(visible, parts, limit, union(*candidates))
        if len(found) == limit:
            return found
    return _ranked_by_overlap(visible, parts, limit)


def _sharing_all(parts) -> Select:
    """Ids of the tools having every (table, column, id) of ``parts``: one probe per part."""
    (first, first_column, first_id), rest = parts[0], parts[1:]
    query = select(first.c.tool_id).where(first_column == first_id)
    for table, column, value in rest:
        other = table.alias()
        query = query.join(
            other,
            and_(other.c.tool_id == first.c.tool_id, other.c[column.name] == value),
        )
    return query


def _ranked_by_overlap(visible: Select, parts, limit: int, among=None) -> list[SalesTool]:
    tag_ids = [value for table, _, value in parts if table is tool_tags]
    segment_ids = [value for table, _, value in parts if table is tool_segments]
    by_tag = select(tool_tags.c.tool_id.label("tool_id")).where(tool_tags.c.tag_id.in_(tag_ids))
    by_segment = select(tool_segments.c.tool_id).where(tool_segments.c.segment_id.in_(segment_ids))
    if among is not None:
        among = among.subquery()
        by_tag = by_tag.where(tool_tags.c.tool_id.in_(select(among.c.tool_id)))
        by_segment = by_segment.where(tool_segments.c.tool_id.in_(select(among.c.tool_id)))
    overlap = by_tag.union_all(by_segment).subquery()
    scores = (
        select(overlap.c.tool_id, func.count().label("shared"))
        .group_by(overlap.c.tool_id)
        .subquery()
    )
    return list(
        db.session.scalars(
            visible.join(scores, scores.c.tool_id == SalesTool.id)
            .order_by(scores.c.shared.desc(), SalesTool.status.asc(), SalesTool.updated_at.desc())
            .limit(limit)
        )
    )


# --- versions and diffs ----------------------------------------------------------


@dataclass
class DiffRow:
    kind: str  # equal | changed | added | removed
    left_no: int | None
    left: list[tuple[str, bool]]  # (text, highlighted)
    right_no: int | None
    right: list[tuple[str, bool]]


_WORDS = re.compile(r"\s+|[^\s]+")


def _intraline(a: str, b: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    wa, wb = _WORDS.findall(a), _WORDS.findall(b)
    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(("".join(wa[i1:i2]), False))
            right.append(("".join(wb[j1:j2]), False))
        else:
            if i2 > i1:
                left.append(("".join(wa[i1:i2]), True))
            if j2 > j1:
                right.append(("".join(wb[j1:j2]), True))
    return left, right


def diff_versions(old: ToolVersion, new: ToolVersion) -> list[DiffRow]:
    """A side-by-side, line-by-line diff with changed words marked."""
    a = [f"# {old.title}", ""] + old.body.splitlines()
    b = [f"# {new.title}", ""] + new.body.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                rows.append(
                    DiffRow("equal", i1 + k + 1, [(a[i1 + k], False)], j1 + k + 1,
                            [(b[j1 + k], False)])
                )  # fmt: skip
        elif op == "replace":
            for k in range(max(i2 - i1, j2 - j1)):
                left = a[i1 + k] if i1 + k < i2 else None
                right = b[j1 + k] if j1 + k < j2 else None
                if left is not None and right is not None:
                    lparts, rparts = _intraline(left, right)
                    rows.append(DiffRow("changed", i1 + k + 1, lparts, j1 + k + 1, rparts))
                elif left is not None:
                    rows.append(DiffRow("removed", i1 + k + 1, [(left, True)], None, []))
                else:
                    rows.append(DiffRow("added", None, [], j1 + k + 1, [(right, True)]))
        elif op == "delete":
            for k in range(i1, i2):
                rows.append(DiffRow("removed", k + 1, [(a[k], True)], None, []))
        elif op == "insert":
            for k in range(j1, j2):
                rows.append(DiffRow("added", None, [], k + 1, [(b[k], True)]))
    return rows


# --- attachments ---------------------------------------------------------------


def get_attachment_for(user: User, attachment_id: int) -> Attachment | None:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not can(user, "tool.view", attachment.tool):
        return None
    return attachment


def tool_counts_by_kind(user: User) -> dict[str, int]:
    visible = tool_scope(user).where(SalesTool.status != ToolStatus.ARCHIVED.value).subquery()
    rows = db.session.execute(select(visible.c.kind, func.count()).group_by(visible.c.kind))
    return dict(rows.all())


def stale_tools(user: User, days: int = 90, limit: int = 20) -> list[SalesTool]:
    """Approved tools nobody has opened for ``days`` days — candidates to refresh or archive."""
    cutoff = utcnow() - timedelta(days=days)
    query = tool_scope(user).where(
        SalesTool.status == ToolStatus.APPROVED.value,
        or_(SalesTool.last_viewed_at.is_(None), SalesTool.last_viewed_at < cutoff),
        and_(SalesTool.created_at < cutoff),
    )
    return list(db.session.scalars(query.order_by(SalesTool.last_viewed_at.asc()).limit(limit)))


# --- proposed edits ---------------------------------------------------------------


def propose_edit(author: User, tool: SalesTool, data: ToolInput, base_version: int):
    """Store a manager's edit for a lead to accept; the tool itself is unchanged."""
    from ..models import ToolEditProposal

    if not can(author, "tool.propose_edit", tool):
        raise PermissionDenied("tool.propose_edit")
    data.title = data.title.strip()
    data.kind = tool.kind
    validate_tool_input(data, require_note=True)
    if data.title == tool.title and data.body == tool.body:
        raise ToolError({"body": _l("Nothing changed: edit the title or the text.")})
    proposal = ToolEditProposal(
        tool=tool,
        base_version=base_version,
        title=data.title,
        body=data.body,
        change_note=data.change_note.strip(),
        author=author,
    )
    db.session.add(proposal)
    db.session.commit()
    return proposal


def open_proposals(tool: SalesTool) -> list:
    from ..models import ToolEditProposal

    return list(
        db.session.scalars(
            select(ToolEditProposal)
            .where(ToolEditProposal.tool_id == tool.id, ToolEditProposal.state == "open")
            .order_by(ToolEditProposal.created_at)
        )
    )


def get_proposal(tool: SalesTool, proposal_id: int):
    from ..models import ToolEditProposal

    proposal = db.session.get(ToolEditProposal, proposal_id)
    return proposal if proposal is not None and proposal.tool_id == tool.id else None


def decide_proposal(user: User, proposal, accept: bool) -> None:
    """Accept (as the next version, credited to its author's note) or reject an edit."""
    if not can(user, "tool.approve", proposal.tool):
        raise PermissionDenied("tool.approve")
    if proposal.state != "open":
        return
    tool = proposal.tool
    if accept:
        author = proposal.author.name if proposal.author else "—"
        data = ToolInput(
            kind=tool.kind,
            title=proposal.title,
            body=proposal.body,
            summary=tool.summary,
            tags=[t.name for t in tool.tags],
            segments=[s.name for s in tool.segments],
            change_note=f"{proposal.change_note} ({author})",
        )
        update_tool(user, tool, data, base_version=proposal.base_version)
    proposal.state = "accepted" if accept else "rejected"
    proposal.decided_by, proposal.decided_at = user, utcnow()
    db.session.commit()
