"""Helpers that build small, hand-counted data sets for the report tests.

Deals, tools and proposal sends are made through the factories (the real services); reviews
through the meetings services, as a lead tags tools at a planning meeting. Only where a test
needs hundreds of proposal sends, or a timestamp that the services set to "now" (when a
review was made, when a tool was approved), are rows written or changed directly.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from portal.extensions import db
from portal.kb import services as kb
from portal.meetings import services as meetings
from portal.models import DealReview, Meeting, ProposalSend, SalesTool, Team, ToolVersion, User

MSK = ZoneInfo("Europe/Moscow")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HOSTILE_TITLES = [
    '=HYPERLINK("http://evil","x")',
    "+7 (495) скрипт звонка",
    "-50% на второй компрессор",
    "@менеджер: чек-лист",
]


def msk(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment in Moscow time (the portal's zone)."""
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def open_meeting(app, actor, team_id: int, week: str, **kwargs) -> int:
    with app.app_context():
        meeting = meetings.create_meeting(
            db.session.get(User, actor.id), db.session.get(Team, team_id), week, **kwargs
        )
        return meeting.id


def review(app, actor, meeting_id: int, deal, tools=(), *, key=None, at: datetime | None = None):
    """Review ``deal`` at the meeting, tagging ``tools``; ``at`` backdates the review."""
    with app.app_context():
        made = meetings.create_review(
            db.session.get(User, actor.id),
            db.session.get(Meeting, meeting_id),
            deal.id,
            tools=[meetings.ToolUse(t.id) for t in tools],
            key_tool_id=key.id if key is not None else None,
        )
        if at is not None:
            made.created_at = made.updated_at = at.astimezone(UTC)
            for tag in made.tools:
                tag.created_at = at.astimezone(UTC)
            db.session.commit()
        return made.id


def new_versions(app, tool, count: int) -> None:
    """Edit ``tool`` ``count`` times, so that it has versions 1 to count + 1."""
    with app.app_context():
        row = db.session.get(SalesTool, tool.id)
        for n in range(1, count + 1):
            kb.update_tool(
                row.owner,
                row,
                kb.ToolInput(kind=row.kind, title=row.title, body=f"{row.body}\n\nПравка {n}",
                             summary=row.summary, change_note=f"Правка {n}"),
                None,
            )  # fmt: skip


def set_version_created(app, tool, number: int, when: datetime) -> None:
    with app.app_context():
        version = db.session.scalar(
            select(ToolVersion).where(ToolVersion.tool_id == tool.id, ToolVersion.number == number)
        )
        version.created_at = when.astimezone(UTC)
        db.session.commit()


def set_approved_at(app, tool, when: datetime) -> None:
    with app.app_context():
        db.session.get(SalesTool, tool.id).approved_at = when.astimezone(UTC)
        db.session.commit()


def bulk_sends(app, deal, tool, version: int, sends) -> None:
    """Many sends at once: ``sends`` is a list of (sent_at, reaction, reacted_at)."""
    with app.app_context():
        db.session.add_all(
            ProposalSend(
                deal_id=deal.id,
                tool_id=tool.id,
                version=version,
                sent_at=sent,
                reaction=reaction,
                reacted_at=reacted,
            )  # fmt: skip
            for sent, reaction, reacted in sends
        )
        db.session.commit()


def review_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(DealReview.id)).all())


# --- reading what a page or a file shows ----------------------------------------------------


class _Tables(HTMLParser):
    """Cell texts of every <tr> of the page's tables (th and td alike)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(re.sub(r"[ \t\r\n]+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(response) -> list[list[str]]:
    parser = _Tables()
    parser.feed(response.get_data(as_text=True))
    return parser.rows


def csv_rows(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with the UTF-8 BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_sheet(response):
    """The first sheet's cells: (rows of values, rows of openpyxl cells)."""
    workbook = load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.worksheets[0]
    cells = [list(row) for row in sheet.iter_rows()]
    return [[c.value for c in row] for row in cells], cells


def assert_inert_xlsx(cells) -> None:
    """No formula cell anywhere; text that looks like a formula is stored as text."""
    for row in cells:
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
            if isinstance(cell.value, str):
                assert not cell.value.startswith(("=", "+", "-", "@")), cell.value
