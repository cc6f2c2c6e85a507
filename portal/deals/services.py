"""Deals: created by hand or the API, imported from CRM files, and proposals sent in them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, or_, select, update

from ..database import LIKE_ESCAPE, contains_pattern
from ..extensions import db
from ..faults import checkpoint
from ..models import (
    PROPOSAL_KINDS,
    Deal,
    DealImport,
    DealStageChange,
    DealStatus,
    ManagerAlias,
    ProposalSend,
    Reaction,
    SalesTool,
    SegmentRule,
    StageMapping,
    ToolVersion,
    User,
)
from ..models.base import utcnow
from ..policy import can, deal_owner_scope, deal_scope
from ..web.plain_text import clean_line

STATUSES = [s.value for s in DealStatus]
REACTIONS = [r.value for r in Reaction]
REACTION_LABELS = {
    "none": _l("No reaction yet"),
    "replied": _l("Replied"),
    "meeting": _l("Meeting agreed"),
    "changes_requested": _l("Asked for changes"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
}
DEAL_STATUS_LABELS = {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}
IMPORT_CHUNK = 500
# Fields whose change makes an imported deal "updated" rather than "unchanged".
COMPARED = ("title", "client", "segment", "manager_id", "team_id", "amount", "currency",
            "stage", "pipeline", "status", "created_at", "closed_at")  # fmt: skip


class DealError(ValueError):
    def __init__(self, fields: dict[str, object], status: int = 422):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields
        self.status = status


class PermissionDenied(Exception):
    pass


def normalize_name(value: str | None) -> str:
    return " ".join((value or "").replace("\u00a0", " ").split()).casefold().replace("ё", "е")


def local_to_utc(value: datetime | None, timezone: str) -> datetime | None:
    """CRM files write local wall-clock time; we keep UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


# --- managers -----------------------------------------------------------------------


class ManagerDirectory:
    """Finds portal users by e-mail, full name or a saved alias (ё = е, any case)."""

    def __init__(self):
        users = list(db.session.scalars(select(User)))
        self.by_email = {u.email.lower(): u for u in users}
        self.by_name: dict[str, User] = {}
        for user in users:
            key = normalize_name(user.name)
            # "Фамилия Имя" is how amoCRM often writes people.
            self.by_name.setdefault(key, user)
            self.by_name.setdefault(" ".join(reversed(key.split())), user)
        for alias in db.session.scalars(select(ManagerAlias)):
            self.by_name[alias.alias] = alias.user

    def find(self, raw: str | None) -> User | None:
        if not raw:
            return None
        raw = raw.strip()
        if "@" in raw:
            return self.by_email.get(raw.lower())
        return self.by_name.get(normalize_name(raw))


def map_manager_alias(alias: str, user: User) -> None:
    key = normalize_name(alias)
    row = db.session.scalar(select(ManagerAlias).where(ManagerAlias.alias == key))
    if row is None:
        db.session.add(ManagerAlias(alias=key, user=user))
    else:
        row.user = user
    db.session.commit()


# --- deals ---------------------------------------------------------------------------


@dataclass
class DealInput:
    title: str
    client: str
    manager: User
    status: str
    external_id: str | None = None
    segment: str | None = None
    amount: Decimal | None = None
    currency: str = "RUB"
    stage: str | None = None
    pipeline: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None


def validate_deal(data: DealInput) -> None:
    errors: dict[str, object] = {}
    if not clean_line(data.title):
        errors["title"] = _l("Give the deal a title.")
    if data.status not in STATUSES:
        errors["status"] = _l("Status must be open, won or lost.")
    if data.amount is not None and (data.amount < 0 or data.amount > Decimal("1e13")):
        errors["amount"] = _l("The amount must be between 0 and 10 trillion.")
    currency = data.currency or ""
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        errors["currency"] = _l("Currency is a three-letter code such as RUB.")
    if data.closed_at and data.created_at and data.closed_at < data.created_at:
        errors["closed_at"] = _l("A deal cannot close before it was created.")
    if errors:
        raise DealError(errors)


def _deal_values(data: DealInput) -> dict:
    closed_at = data.closed_at
    if closed_at is None and data.status != DealStatus.OPEN.value:
        closed_at = utcnow()
    return {
        "external_id": clean_line(str(data.external_id))[:64] or None if data.external_id else None,
        "title": clean_line(data.title)[:300],
        "client": clean_line(data.client)[:300],
        "segment": clean_line(data.segment)[:80] or None,
        "manager_id": data.manager.id,
        "team_id": data.manager.team_id,
        "amount": data.amount.quantize(Decimal("0.01")) if data.amount is not None else None,
        "currency": data.currency.upper(),
        "stage": clean_line(data.stage)[:120] or None,
        "pipeline": clean_line(data.pipeline)[:120] or None,
        "status": data.status,
        "created_at": data.created_at,  # None: keep what the deal has (or now, for a new one)
        "closed_at": closed_at if data.status != DealStatus.OPEN.value else data.closed_at,
    }


def save_deal(actor: User, data: DealInput, deal: Deal | None = None) -> tuple[Deal, bool]:
    """Create a deal, or update ``deal`` (or the one with the same external_id).

    Returns the deal and whether it was created. Managers write only their own deals,
    leads their team's.
    """
    validate_deal(data)
    if not can(actor, "deal.create"):
        raise PermissionDenied()
    values = _deal_values(data)
    if deal is None and values["external_id"]:
        deal = db.session.scalar(select(Deal).where(Deal.external_id == values["external_id"]))
    probe = Deal(manager_id=data.manager.id, team_id=data.manager.team_id)
    if not can(actor, "deal.edit", probe) or (
        deal is not None and not can(actor, "deal.edit", deal)
    ):
        raise PermissionDenied()
    created = deal is None
    if values["created_at"] is None:
        closed = values["closed_at"]
        values["created_at"] = (
            deal.created_at if deal is not None else min(utcnow(), closed or utcnow())
        )
    if values["closed_at"] is not None and values["closed_at"] < values["created_at"]:
        raise DealError({"closed_at": _l("A deal cannot close before it was created.")})
    if created:
        deal = Deal(source="manual", **values)
        db.session.add(deal)
    else:
        if values["external_id"] is None:
            values.pop("external_id")
        stage_changed = (deal.stage, deal.status, deal.amount) != (
            values["stage"], values["status"], values["amount"])  # fmt: skip
        for key, value in values.items():
            setattr(deal, key, value)
        if not stage_changed:
            deal.updated_at = utcnow()
            db.session.commit()
            return deal, False
    deal.updated_at = utcnow()
    deal.stage_changes.append(
        DealStageChange(stage=deal.stage, status=deal.status, amount=deal.amount, source="manual")
    )
    db.session.commit()
    return deal, created


def get_deal_for(user: User, deal_id: int) -> Deal | None:
    deal = db.session.get(Deal, deal_id)
    return deal if deal is not None and can(user, "deal.view", deal) else None


@dataclass
class DealFilter:
    status: str = ""
    manager_id: int | None = None
    manager_email: str = ""
    team_id: int | None = None
    segment: str = ""
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    q: str = ""
    sort: str = "closed"
    page: int = 1
    per_page: int = 50


DEAL_SORTS = {
    "closed": (Deal.closed_at.desc().nulls_last(), Deal.id.desc()),
    "created": (Deal.created_at.desc(), Deal.id.desc()),
    "amount": (Deal.amount.desc().nulls_last(), Deal.id.desc()),
    "title": (func.lower(Deal.title).asc(), Deal.id.asc()),
}


def list_deals(user: User, flt: DealFilter):
    """Deals the user may see, filtered in SQL; returns (deals, total)."""
    query = deal_scope(user)
    if flt.status:
        query = query.where(Deal.status == flt.status)
    if flt.manager_id:
        query = query.where(Deal.manager_id == flt.manager_id)
    if flt.manager_email:
        query = query.where(
            Deal.manager_id.in_(select(User.id).where(User.email == flt.manager_email.lower()))
        )
    if flt.team_id:
        query = query.where(Deal.team_id == flt.team_id)
    if flt.segment:
        query = query.where(Deal.segment == flt.segment)
    if flt.closed_from:
        query = query.where(Deal.closed_at >= flt.closed_from)
    if flt.closed_to:
        query = query.where(Deal.closed_at < flt.closed_to)
    if flt.q:
        like = contains_pattern(flt.q.lower())
        query = query.where(
            func.lower(Deal.title).like(like, escape=LIKE_ESCAPE)
            | func.lower(Deal.client).like(like, escape=LIKE_ESCAPE)
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, flt.page)
    deals = list(
        db.session.scalars(
            query.order_by(*DEAL_SORTS.get(flt.sort, DEAL_SORTS["closed"]))
            .limit(flt.per_page)
            .offset((page - 1) * flt.per_page)
        )
    )
    return deals, total


def deal_segments(user: User) -> list[str]:
    visible = deal_scope(user).subquery()
    return [
        s
        for s in db.session.scalars(
            select(visible.c.segment)
            .where(visible.c.segment.is_not(None))
            .distinct()
            .order_by(visible.c.segment)
        )
    ]


def deal_owners(user: User) -> list[User]:
    """People ``user`` may create or import deals for."""
    return list(db.session.scalars(deal_owner_scope(user)))


def deal_managers(user: User) -> list[User]:
    visible = deal_scope(user).subquery()
    return list(
        db.session.scalars(
            select(User).where(User.id.in_(select(visible.c.manager_id))).order_by(User.name)
        )
    )


# --- proposal sends ------------------------------------------------------------------


def proposal_tools(
    user: User, q: str = "", limit: int = 15, include: int | None = None
) -> list[SalesTool]:
    """КП and ТКП the user may see, for the send form's choice: the latest ones, or those a
    typed ``q`` finds (Russian word forms, as in search; the title's letters as a fallback).
    ``include``: a tool id chosen earlier that must stay choosable whatever the list shows."""
    from ..policy import tool_scope

    query = tool_scope(user).where(
        SalesTool.kind.in_([k.value for k in PROPOSAL_KINDS]), SalesTool.status != "archived"
    )
    q = " ".join((q or "").split())[:200]
    if q:
        found = _proposal_ids_found(user, q, limit)
        title_has = func.lower(SalesTool.title).like(
            contains_pattern(q.lower()), escape=LIKE_ESCAPE
        )
        chosen = (
            query.where(SalesTool.id.in_(found) | title_has) if found else query.where(title_has)
        )
        tools = list(db.session.scalars(chosen.limit(limit)))
        rank = {tool_id: i for i, tool_id in enumerate(found)}
        tools.sort(key=lambda t: (rank.get(t.id, len(rank)), t.title))
    else:
        tools = list(db.session.scalars(query.order_by(SalesTool.updated_at.desc()).limit(limit)))
    if include and include not in {t.id for t in tools}:
        extra = db.session.scalar(query.where(SalesTool.id == include))
        if extra is not None:
            tools.append(extra)
    return tools


def _proposal_ids_found(user: User, q: str, limit: int) -> list[int]:
    from ..search.service import search_tools
    from ..search.types import SearchQuery

    result = search_tools(
        SearchQuery(q, kinds=tuple(k.value for k in PROPOSAL_KINDS), viewer_id=user.id,
                    viewer_sees_all_drafts=can(user, "tool.approve"), limit=limit,
                    suggest=False),
        log=False,
    )  # fmt: skip
    return [hit.id for hit in result.hits]


def _check_reaction(reaction: str, sent_at: datetime, reacted_at: datetime | None, errors: dict):
    if reaction not in REACTIONS:
        errors["reaction"] = _l("Unknown reaction.")
    if reacted_at is not None and sent_at is not None and reacted_at < sent_at:
        errors["reacted_at"] = _l("The reaction cannot come before the proposal was sent.")


def record_proposal_send(
    actor: User,
    deal: Deal,
    tool_id: int,
    version: int | None,
    sent_at: datetime,
    reaction: str = "none",
    reacted_at: datetime | None = None,
) -> ProposalSend:
    """Note that a КП/ТКП version went to the client of ``deal``."""
    if not can(actor, "deal.edit", deal):
        raise PermissionDenied()
    errors: dict[str, object] = {}
    tool = db.session.get(SalesTool, tool_id) if tool_id else None
    if tool is None or not can(actor, "tool.view", tool):
        errors["tool_id"] = _l("No such proposal.")
    elif tool.kind not in {k.value for k in PROPOSAL_KINDS}:
        errors["tool_id"] = _l("Only a КП or ТКП can be sent as a proposal.")
    if tool is not None and "tool_id" not in errors:
        version = version or tool.version
        exists = db.session.scalar(
            select(ToolVersion.id).where(
                ToolVersion.tool_id == tool.id, ToolVersion.number == version
            )
        )
        if not exists:
            errors["version"] = _l("This proposal has no such version.")
    if reaction == "none":
        reacted_at = None
    elif reacted_at is None:
        reacted_at = utcnow()
    _check_reaction(reaction, sent_at, reacted_at, errors)
    if errors:
        raise DealError(errors)
    send = ProposalSend(
        deal=deal, tool=tool, version=version, sent_at=sent_at, reaction=reaction,
        reacted_at=reacted_at, created_by=actor,
    )  # fmt: skip
    db.session.add(send)
    db.session.commit()
    return send


def record_reaction(
    actor: User, send: ProposalSend, reaction: str, reacted_at: datetime | None
) -> ProposalSend:
    """Record the client's reaction to a sent proposal."""
    if not can(actor, "deal.edit", send.deal):
        raise PermissionDenied()
    if reaction == "none":
        reacted_at = None
    elif reacted_at is None:
        reacted_at = utcnow()
    errors: dict[str, object] = {}
    _check_reaction(reaction, send.sent_at, reacted_at, errors)
    if errors:
        raise DealError(errors)
    send.reaction, send.reacted_at, send.updated_at = reaction, reacted_at, utcnow()
    db.session.commit()
    return send


def get_send_for(user: User, send_id: int) -> ProposalSend | None:
    send = db.session.get(ProposalSend, send_id)
    return send if send is not None and can(user, "deal.view", send.deal) else None


# --- stage mapping --------------------------------------------------------------------


def stage_map() -> dict[str, str]:
    return {m.stage: m.status for m in db.session.scalars(select(StageMapping))}


def save_stage_map(text: str) -> dict[str, str]:
    """Lines ``Stage name = won`` replace the admin's mapping."""
    mapping: dict[str, str] = {}
    for line in (text or "").splitlines():
        if "=" not in line:
            continue
        stage, _, status = line.rpartition("=")
        stage, status = normalize_name(stage), status.strip().lower()
        if stage and status in STATUSES:
            mapping[stage] = status
    db.session.execute(StageMapping.__table__.delete())
    for stage, status in mapping.items():
        db.session.add(StageMapping(stage=stage, status=status))
    db.session.commit()
    return mapping


def segment_rules() -> dict[str, str]:
    return {r.value: r.segment for r in db.session.scalars(select(SegmentRule))}


def save_segment_rules(text: str) -> dict[str, str]:
    """Lines ``tag or cell value = Segment`` replace the admin's segment rules."""
    rules: dict[str, str] = {}
    for line in (text or "").splitlines():
        value, sep, segment = line.rpartition("=")
        value, segment = normalize_name(value), " ".join(segment.split())[:80]
        if sep and value and segment:
            rules[value] = segment
    db.session.execute(SegmentRule.__table__.delete())
    for value, segment in rules.items():
        db.session.add(SegmentRule(value=value[:200], segment=segment))
    db.session.commit()
    return rules


def segment_by_rules(item, rules: dict[str, str]) -> str | None:
    """The segment an admin's rule gives a parsed deal: its tags first, then its cells."""
    for value in (*item.tags, *item.raw.values()):
        segment = rules.get(normalize_name(value))
        if segment:
            return segment
    return None


# --- importing ------------------------------------------------------------------------


@dataclass
class ImportRowError:
    row: int
    message: str


@dataclass
class ImportOutcome:
    format: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    unknown_managers: dict[str, int] = field(default_factory=dict)  # raw name → rows
    written: bool = False
    dry_run: bool = False
    mapping: dict = field(default_factory=dict)
    total_rows: int = 0
    import_id: int | None = None

    def as_api(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "unchanged": self.unchanged,
            "errors": [{"row": e.row, "message": e.message} for e in self.errors],
            "format": self.format,
            "dry_run": self.dry_run,
            "written": self.written,
            "unknown_managers": sorted(self.unknown_managers),
        }


def _decimal(value) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def import_deals(
    actor: User,
    parsed,
    *,
    filename: str,
    sha256: str,
    dry_run: bool,
    skip_errors: bool = False,
    timezone: str = "Europe/Moscow",
    progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    """Upsert the parsed rows by CRM ID in one transaction.

    Without ``skip_errors`` any row error means nothing is written. A dry run computes
    the same counts and writes nothing. Unchanged rows are not touched, so importing
    the same file twice changes nothing.
    """
    if not can(actor, "deals.import"):
        raise PermissionDenied()
    outcome = ImportOutcome(format=parsed.format, dry_run=dry_run, mapping=dict(parsed.mapping),
                            total_rows=parsed.total_rows)  # fmt: skip
    outcome.errors = [ImportRowError(e.row, str(e.message)) for e in parsed.errors]
    error_rows = {e.row for e in parsed.errors}
    managers = ManagerDirectory()
    rules = segment_rules()
    org_wide = can(actor, "deals.all_teams")
    rows: list[tuple[int, dict]] = []
    seen_ids: dict[str, int] = {}
    for item in parsed.deals:
        user = managers.find(item.manager)
        if user is None:
            outcome.unknown_managers[item.manager] = (
                outcome.unknown_managers.get(item.manager, 0) + 1
            )
            outcome.errors.append(ImportRowError(
                item.row, str(_l("Unknown manager “%(name)s”: create the user or map the name.",
                                 name=item.manager[:80]))))  # fmt: skip
            error_rows.add(item.row)
            continue
        if not org_wide and user.team_id != actor.team_id:
            outcome.errors.append(ImportRowError(
                item.row, str(_l("%(name)s is not in your team.", name=user.name))))  # fmt: skip
            error_rows.add(item.row)
            continue
        if item.external_id:
            if item.external_id in seen_ids:
                outcome.errors.append(ImportRowError(item.row, str(_l(
                    "The CRM ID %(id)s already appeared in row %(row)d.",
                    id=item.external_id[:40], row=seen_ids[item.external_id]))))  # fmt: skip
                error_rows.add(item.row)
                continue
            seen_ids[item.external_id] = item.row
        segment = item.segment or (segment_by_rules(item, rules) if rules else None)
        data = DealInput(
            title=item.title, client=item.client, manager=user, status=item.status,
            external_id=item.external_id, segment=segment, amount=_decimal(item.amount),
            currency=(item.currency or "RUB"), stage=item.stage, pipeline=item.pipeline,
            created_at=local_to_utc(item.created_at, timezone),
            closed_at=local_to_utc(item.closed_at, timezone),
        )  # fmt: skip
        try:
            validate_deal(data)
        except DealError as error:
            message = "; ".join(str(v) for v in error.fields.values())
            outcome.errors.append(ImportRowError(item.row, message))
            error_rows.add(item.row)
            continue
        values = _deal_values(data)
        if values["status"] != DealStatus.OPEN.value and item.closed_at is None:
            # A closed deal whose file gives no close date: keep it stable across imports.
            values["closed_at"] = values["created_at"]
        rows.append((item.row, values))
    if not org_wide:
        rows = _without_other_teams_deals(rows, actor, outcome, error_rows)
    outcome.errors.sort(key=lambda e: e.row)
    outcome.skipped = len(error_rows)
    _upsert_rows(rows, outcome, progress, write=not dry_run and (skip_errors or not error_rows),
                 source=parsed.format)  # fmt: skip
    if dry_run or (error_rows and not skip_errors):
        db.session.rollback()
        if not dry_run:
            outcome.created = outcome.updated = outcome.unchanged = 0
            outcome.skipped = parsed.total_rows
        return outcome
    record = DealImport(
        user_id=actor.id, filename=filename[:255], sha256=sha256, format=parsed.format,
        dry_run=False, created=outcome.created, updated=outcome.updated,
        unchanged=outcome.unchanged, skipped=outcome.skipped,
        error_report=error_report_csv(outcome.errors) if outcome.errors else "",
    )  # fmt: skip
    db.session.add(record)
    db.session.commit()
    outcome.written = True
    outcome.import_id = record.id
    return outcome


def _upsert_rows(rows, outcome: ImportOutcome, progress, *, write: bool, source: str) -> None:
    """Compare with what the database has and write only what changed, in bulk.

    Rows with the CRM's ID match the deal with that ``external_id``. Rows without one (a
    generic file may have no ID column) match a deal without an ID of the same manager,
    title and client (and creation date, when the file gives one), each deal at most once:
    re-importing the same file changes nothing, and a later export updates those deals.
    """
    now = utcnow()
    done = 0
    without_id = _deals_without_id_like([values for _, values in rows if not values["external_id"]])
    for start in range(0, len(rows), IMPORT_CHUNK):
        chunk = rows[start : start + IMPORT_CHUNK]
        ids = [values["external_id"] for _, values in chunk if values["external_id"]]
        existing = {
            row.external_id: row
            for row in db.session.execute(
                select(Deal.id, Deal.external_id, *[getattr(Deal, c) for c in COMPARED]).where(
                    Deal.external_id.in_(ids)
                )
            )
        }
        inserts, updates, history = [], [], []
        for _, values in chunk:
            if values["external_id"]:
                old = existing.get(values["external_id"])
            else:
                old = _claim_deal_without_id(without_id, values)
            if values["created_at"] is None:
                values["created_at"] = (
                    old.created_at if old is not None else (values["closed_at"] or now)
                )
            if values["status"] != DealStatus.OPEN.value and values["closed_at"] is None:
                values["closed_at"] = (old.closed_at if old is not None else None) or values[
                    "created_at"
                ]
            if old is None:
                inserts.append({**values, "source": source, "updated_at": now})
                continue
            changed = {c: values[c] for c in COMPARED if _differs(getattr(old, c), values[c])}
            if not changed:
                outcome.unchanged += 1
                continue
            updates.append({"b_id": old.id, **{c: values[c] for c in COMPARED}, "updated_at": now})
            if {"stage", "status", "amount"} & changed.keys():
                history.append({"deal_id": old.id, "stage": values["stage"], "status": values["status"],
                                "amount": values["amount"], "changed_at": now, "source": source})  # fmt: skip
        outcome.created += len(inserts)
        outcome.updated += len(updates)
        if write:
            if inserts:
                db.session.execute(insert(Deal), inserts)
                new_ids = dict(
                    db.session.execute(
                        select(Deal.external_id, Deal.id).where(
                            Deal.external_id.in_(
                                [v["external_id"] for v in inserts if v["external_id"]]
                            )
                        )
                    ).all()
                )
                history.extend(
                    {"deal_id": new_ids[v["external_id"]], "stage": v["stage"], "status": v["status"],
                     "amount": v["amount"], "changed_at": now, "source": source}
                    for v in inserts if v["external_id"] in new_ids
                )  # fmt: skip
            if updates:
                from sqlalchemy import bindparam

                stmt = (
                    update(Deal.__table__)
                    .where(Deal.__table__.c.id == bindparam("b_id"))
                    .values({c: bindparam(c) for c in (*COMPARED, "updated_at")})
                )
                db.session.execute(stmt, updates)
            if history:
                db.session.execute(insert(DealStageChange), history)
        done += len(chunk)
        if progress:
            progress(done)
        if write:
            checkpoint("import.between_chunks")


def _without_other_teams_deals(rows, actor: User, outcome, error_rows: set) -> list:
    """A lead's rows whose CRM ID is a deal of another team become row errors: an import
    must not overwrite, or take over, what the lead may not see (POST /deals says 404)."""
    ids = [values["external_id"] for _, values in rows if values["external_id"]]
    foreign: set[str] = set()
    for start in range(0, len(ids), IMPORT_CHUNK):
        foreign.update(
            db.session.scalars(
                select(Deal.external_id).where(
                    Deal.external_id.in_(ids[start : start + IMPORT_CHUNK]),
                    or_(Deal.team_id.is_(None), Deal.team_id != actor.team_id),
                )
            )
        )
    if not foreign:
        return rows
    kept = []
    for row_no, values in rows:
        if values["external_id"] in foreign:
            outcome.errors.append(ImportRowError(row_no, str(_l(
                "The CRM ID %(id)s is a deal of another team.",
                id=values["external_id"][:40]))))  # fmt: skip
            error_rows.add(row_no)
        else:
            kept.append((row_no, values))
    return kept


def _deals_without_id_like(keyless: list[dict]) -> dict[tuple, list]:
    """Deals without an external ID that rows without one may be: {(manager, title, client): [rows]}.

    Read before anything of the import is written, so a row never matches a deal that the
    same import created (a dry run and the real run count the same)."""
    found: dict[tuple, list] = {}
    titles = sorted({values["title"] for values in keyless})
    for start in range(0, len(titles), IMPORT_CHUNK):
        for row in db.session.execute(
            select(Deal.id, Deal.external_id, *[getattr(Deal, c) for c in COMPARED])
            .where(Deal.external_id.is_(None), Deal.title.in_(titles[start : start + IMPORT_CHUNK]))
            .order_by(Deal.id)
        ):
            found.setdefault((row.manager_id, row.title, row.client), []).append(row)
    return found


def _claim_deal_without_id(candidates: dict[tuple, list], values: dict):
    """The first unclaimed deal like ``values`` (taken out of ``candidates``), or None."""
    rows = candidates.get((values["manager_id"], values["title"], values["client"]))
    for i, row in enumerate(rows or ()):
        if values["created_at"] is None or not _differs(row.created_at, values["created_at"]):
            return rows.pop(i)
    return None


def _differs(old, new) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return abs((old - new).total_seconds()) >= 1
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return (Decimal(old) if old is not None else None) != (
            Decimal(new) if new is not None else None
        )
    return old != new


CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def inert(value: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula."""
    value = str(value)
    return "'" + value if value.startswith(CSV_FORMULA_PREFIXES) else value


def error_report_csv(errors: Iterable[ImportRowError]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["row", "message"])
    for error in errors:
        writer.writerow([error.row, inert(error.message)])
    return "\ufeff" + buffer.getvalue()


def get_import_for(user: User, import_id: int) -> DealImport | None:
    record = db.session.get(DealImport, import_id)
    if record is None:
        return None
    if record.user_id != user.id and not can(user, "deals.all_teams"):
        return None
    return record
