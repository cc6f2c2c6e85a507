"""Hostile-input sweep of the JSON API, generated from its own OpenAPI document (schemathesis).

Every operation is called with schema-conforming and schema-violating values, as an admin and
as a manager: no 5xx ever, documented status codes and response shapes, API.md error bodies, and
afterwards nothing stored in the database that the app's own validators would refuse.
Bounded: a fixed number of examples per operation, derandomised, no shrinking.
"""

from __future__ import annotations

import gc
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    ActionItem,
    Deal,
    DealReview,
    Meeting,
    ProposalSend,
    SalesTool,
    Tag,
    ToolVersion,
    User,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))  # more for a deeper local sweep
# The import endpoint takes files; tests/test_deals.py covers hostile files.
SKIP = {("POST", "/deals/import")}
ERROR_STATUSES = {400, 401, 403, 404, 409, 413, 422}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# NUL and the C0/C1 controls other than tab and newlines: never stored (PostgreSQL refuses NUL).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
ONE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@pytest.fixture
def world(app, make):
    """A team with a lead, a manager, deals, a КП and an open meeting for the fuzzer to hit."""
    from portal.search.service import wait_for_rebuild

    with app.app_context():
        wait_for_rebuild(app, timeout=30)  # the fresh index is built in the background
    team = make.team("Москва — промышленность")
    admin = make.user(role="admin", team=team)
    lead = make.user(role="lead", team=team)
    manager = make.user(role="manager", team=team)
    proposal = make.tool(lead, title="КП на компрессоры", kind="proposal")
    make.tool(lead, title="Скрипт холодного звонка")
    deals = [make.deal(manager) for _ in range(3)] + [make.deal(manager, status="open")]
    make.send(deals[0], proposal)
    with app.test_client() as c:
        c.post(
            "/api/v1/meetings",
            json={"team": team.name},
            headers={"Authorization": f"Bearer {make.token(lead)}"},
        )
    yield {"admin": make.token(admin), "manager": make.token(manager)}
    # Close the shared searcher's readers now, not when the garbage collector finds them
    # during some later test (ResourceWarning is an error in this suite).
    from portal.search.service import get_engine

    with app.app_context():
        get_engine(app).close()
    gc.collect()


class ClosingClient(FlaskClient):
    """Reads and closes every response, as a WSGI server does (load shedding frees its slot
    on close; schemathesis' own WSGI client leaves responses open)."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


def _operations(schema):
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIP:
            yield operation


def _check_error_shape(response) -> None:
    if response.status_code not in ERROR_STATUSES:
        return
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and re.fullmatch(r"[a-z0-9_]+", error["code"])
    assert isinstance(error.get("message"), str) and error["message"].strip()
    assert isinstance(error.get("fields", {}), dict)


def _fuzz(app, token: str, examples: int = EXAMPLES) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    client = ClosingClient(app, app.response_class)
    failures: list[str] = []
    for operation in _operations(schema):

        @settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), data=st.data())
        def run(case, data):
            # Point most id parameters at rows that exist, so writes reach the services.
            for name, value in (case.path_parameters or {}).items():
                if isinstance(value, int) and data.draw(st.booleans()):
                    case.path_parameters[name] = data.draw(st.integers(1, 6))
            response = case.call(headers=headers, session=client)
            case.validate_response(response, checks=CHECKS, headers=headers)
            _check_error_shape(response)

        try:
            run()
        except Exception as error:  # noqa: BLE001 — collect every operation's failures
            failures.append(f"{operation.method.upper()} {operation.path}: {error}"[:3000])
    return failures


def _garbage(app) -> list[str]:
    """Stored rows the app's own rules would refuse, described one per line."""
    from portal.kb.services import KINDS, STATUSES

    found: list[str] = []

    def bad(what, obj, why):
        found.append(f"{what} {obj.id}: {why}")

    with app.app_context():
        for tool in db.session.scalars(select(SalesTool)):
            if not tool.title.strip() or len(tool.title) > 200:
                bad("tool", tool, f"title {tool.title!r}")
            if ONE_LINE_CONTROL.search(tool.title) or CONTROL.search(tool.summary or ""):
                bad("tool", tool, f"control characters in {tool.title!r}/{tool.summary!r}")
            if "\x00" in (tool.body or ""):
                bad("tool", tool, "NUL in body")
            if tool.kind not in KINDS or tool.status not in STATUSES or tool.version < 1:
                bad("tool", tool, f"kind/status/version {tool.kind}/{tool.status}/{tool.version}")
        for version in db.session.scalars(select(ToolVersion)):
            if "\x00" in version.body + version.title + version.change_note:
                bad("version", version, "NUL")
        for tag in db.session.scalars(select(Tag)):
            if not tag.name.strip() or ONE_LINE_CONTROL.search(tag.name):
                bad("tag", tag, repr(tag.name))
        far_future = datetime.now(UTC) + timedelta(days=366 * 20)
        for deal in db.session.scalars(select(Deal)):
            texts = [deal.title, deal.client, deal.segment or "", deal.stage or "",
                     deal.external_id or ""]  # fmt: skip
            if not deal.title.strip() or any(ONE_LINE_CONTROL.search(t) for t in texts):
                bad("deal", deal, f"text {texts!r}")
            if deal.amount is not None and deal.amount < 0:
                bad("deal", deal, f"amount {deal.amount}")
            if deal.status not in ("open", "won", "lost"):
                bad("deal", deal, f"status {deal.status!r}")
            if deal.status != "open" and deal.closed_at is None:
                bad("deal", deal, "closed without a close date")
            if deal.closed_at is not None and not (
                datetime(2000, 1, 1, tzinfo=UTC) <= deal.closed_at <= far_future
            ):
                bad("deal", deal, f"closed_at {deal.closed_at}")
            if not re.fullmatch(r"[A-Z]{3}", deal.currency or ""):
                bad("deal", deal, f"currency {deal.currency!r}")
        for send in db.session.scalars(select(ProposalSend)):
            if send.reaction not in (
                "none", "replied", "meeting", "changes_requested", "accepted", "rejected"
            ):  # fmt: skip
                bad("send", send, f"reaction {send.reaction!r}")
            if send.reacted_at is not None and send.reacted_at < send.sent_at:
                bad("send", send, f"reacted {send.reacted_at} before sent {send.sent_at}")
            tool = db.session.get(SalesTool, send.tool_id)
            if (
                tool.kind not in ("proposal", "tech_proposal")
                or not 1 <= send.version <= tool.version
            ):
                bad("send", send, f"tool {tool.kind} v{send.version}")
        for meeting in db.session.scalars(select(Meeting)):
            if not re.fullmatch(r"\d{4}-W\d{2}", meeting.week) or ONE_LINE_CONTROL.search(
                meeting.title
            ):
                bad("meeting", meeting, f"week/title {meeting.week!r}/{meeting.title!r}")
        for review in db.session.scalars(select(DealReview)):
            if "\x00" in review.lesson:
                bad("review", review, "NUL in lesson")
        for item in db.session.scalars(select(ActionItem)):
            if not item.text.strip() or ONE_LINE_CONTROL.search(item.text):
                bad("action item", item, repr(item.text))
        for user in db.session.scalars(select(User)):
            if ONE_LINE_CONTROL.search(user.name + user.email):
                bad("user", user, repr(user.name))
    return found


def test_api_survives_hostile_input_as_admin(app, world):
    failures = _fuzz(app, world["admin"])
    assert not failures, "\n\n".join(failures)
    garbage = _garbage(app)
    assert not garbage, "\n".join(garbage)


def test_api_survives_hostile_input_as_manager(app, world):
    failures = _fuzz(app, world["manager"])
    assert not failures, "\n\n".join(failures)
    garbage = _garbage(app)
    assert not garbage, "\n".join(garbage)
