"""A small company for the access matrix: two teams, every role, and one of every object.

Team «Альфа» owns the objects the matrix opens; team «Бета» has a twin of each, used to check
that another team's ids answer 404 and change nothing.
"""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from portal.auth import services as accounts
from portal.deals import services as deals
from portal.extensions import db
from portal.kb import services as kb
from portal.kb.attachment_service import add_attachment, attachment_path
from portal.meetings import services as meetings
from portal.models import Attachment, DealImport, ToolEditProposal, User

from .factories import DEFAULT_PASSWORD

ROLES = ("anonymous", "manager", "lead", "lead_other", "head", "admin", "deactivated")
SECRET_MARK = "Бета-секрет"  # in team Бета's deals, lessons, tasks, imports: never seen by Альфа
DRAFT_MARK = "Черновик-Беты"  # in a draft of Бета's manager: staff see it, other managers never


def _user(email, name, role, team):
    return accounts.create_user(email, name, role, DEFAULT_PASSWORD, team_name=team)


def _team_objects(suffix: str, mark: str, manager: User, lead: User, draft_mark: str) -> dict:
    """A deal pair, tools, a proposal send, an open meeting with a review and an action item."""
    now = datetime.now(UTC)
    deal, _ = deals.save_deal(manager, deals.DealInput(
        title=f"{mark} сделка {suffix}", client=f"{mark} клиент {suffix}", manager=manager,
        status="won", segment="Логистика", amount=Decimal(1_000_000),
        closed_at=now - timedelta(hours=2)))  # fmt: skip
    spare, _ = deals.save_deal(manager, deals.DealInput(
        title=f"{mark} вторая сделка {suffix}", client=f"{mark} клиент {suffix}", manager=manager,
        status="won", segment="Логистика", amount=Decimal(500_000),
        closed_at=now - timedelta(hours=3)))  # fmt: skip
    # the knowledge base is the whole company's: the КП's title carries no team mark
    proposal = kb.create_tool(lead, kb.ToolInput(
        kind="proposal", title=f"КП {suffix}", body="Коммерческое предложение.",
        summary="", tags=[], segments=[], status="approved"))  # fmt: skip
    send = deals.record_proposal_send(lead, deal, proposal.id, 1, now - timedelta(days=2))
    draft = kb.create_tool(manager, kb.ToolInput(
        kind="script", title=f"{draft_mark} черновик {suffix}", body="Черновик скрипта.",
        summary="", tags=[], segments=[], status="draft"))  # fmt: skip
    meeting = meetings.create_meeting(lead, lead.team)
    for item in (deal, spare):
        if meetings.agenda_item(meeting, item.id) is None:
            meetings.add_to_agenda(lead, meeting, item.id)
    review = meetings.create_review(lead, meeting, deal.id, [meetings.ToolUse(proposal.id)],
                                    lesson=f"{mark} урок {suffix}")  # fmt: skip
    action = meetings.add_action_item(lead, meeting, review, f"{mark} задача {suffix}",
                                      manager.id, None)  # fmt: skip
    record = DealImport(user_id=lead.id, filename=f"{mark}.csv", sha256="0" * 64,
                        format="amocrm", skipped=1, error_report=f"row,message\n2,{mark}\n")  # fmt: skip
    db.session.add(record)
    db.session.commit()
    return {
        "deal": deal.id, "spare_deal": spare.id, "proposal_tool": proposal.id, "send": send.id,
        "draft": draft.id, "meeting": meeting.id, "review": review.id, "action": action.id,
        "item": meetings.agenda_item(meeting, deal.id).id, "import": record.id,
    }  # fmt: skip


def build_world(app, root: Path) -> SimpleNamespace:
    """Make the company, sign every role in, then deactivate the deactivated one."""
    ids: dict = {}
    with app.app_context():
        people = {
            "manager": _user("m.alfa@example.ru", "Альфа Менеджер", "manager", "Альфа"),
            "manager2": _user("m2.alfa@example.ru", "Альфа Второй", "manager", "Альфа"),
            "lead": _user("l.alfa@example.ru", "Альфа Лид", "lead", "Альфа"),
            "manager_other": _user("m.beta@example.ru", "Бета Менеджер", "manager", "Бета"),
            "lead_other": _user("l.beta@example.ru", "Бета Лид", "lead", "Бета"),
            "head": _user("head@example.ru", "Глава Продаж", "head", None),
            "admin": _user("admin@example.ru", "Админ", "admin", None),
            "deactivated": _user("gone@example.ru", "Уволенный Админ", "admin", None),
        }
        ids["users"] = {key: user.id for key, user in people.items()}
        ids["team"] = people["lead"].team_id
        ids["team_other"] = people["lead_other"].team_id
        lead = people["lead"]
        tool = kb.create_tool(lead, kb.ToolInput(
            kind="script", title="Альфа скрипт звонка", body="Добрый день!\n\nЗвоню по делу.",
            summary="", tags=["холодный"], segments=[], status="approved"))  # fmt: skip
        kb.update_tool(lead, tool, kb.ToolInput(
            kind="script", title="Альфа скрипт звонка", body="Добрый день!\n\nЗвоню снова.",
            summary="", tags=["холодный"], segments=[], change_note="второй вариант"),
            base_version=1)  # fmt: skip
        proposal_edit = kb.propose_edit(people["manager"], tool, kb.ToolInput(
            kind="script", title="Альфа скрипт звонка", body="Добрый день! Предлагаю.",
            summary="", tags=[], segments=[], change_note="правка"), base_version=2)  # fmt: skip
        attachment = add_attachment(
            lead,
            tool,
            FileStorage(
                io.BytesIO("Памятка по звонку".encode()), "памятка.txt", content_type="text/plain"
            ),
        )
        draft_other_attach = None
        ids["tool"] = tool.id
        ids["proposal"] = proposal_edit.id
        ids["attachment"] = attachment.id
        ids["own"] = _team_objects("А", "Альфа", people["manager"], lead, "Альфа")
        ids["other"] = _team_objects("Б", SECRET_MARK, people["manager_other"],
                                     people["lead_other"], DRAFT_MARK)  # fmt: skip
        other_tool = db.session.get(type(tool), ids["other"]["draft"])
        draft_other_attach = add_attachment(
            people["manager_other"],
            other_tool,
            FileStorage(
                io.BytesIO(f"{DRAFT_MARK} вложение".encode()),
                "секрет.txt",
                content_type="text/plain",
            ),
        )
        ids["other"]["attachment"] = draft_other_attach.id
        ids["attachment_files"] = {
            a.id: (attachment_path(a), attachment_path(a).read_bytes())
            for a in (attachment, draft_other_attach)
        }
        tokens = {}
        token_ids = {}
        for key, user in people.items():
            row, secret = accounts.create_api_token(user, "matrix")
            tokens[key] = secret
            token_ids[key] = row.id
        ids["token_id"] = token_ids["manager"]
        ids["token_id_other"] = token_ids["manager_other"]
        db.session.commit()
    from portal.deals import uploads

    with app.test_request_context():
        token, path, _ = uploads.save_upload(
            io.BytesIO(
                "ID;Название сделки;Ответственный\n1;Альфа импорт;Альфа Менеджер\n".encode()
            ),
            "alfa.csv",
            10**6,
            owner_id=ids["users"]["lead"],
        )
    ids["upload"] = token
    ids["upload_file"] = (path, path.read_bytes())
    ids["job_files"] = []
    with app.app_context():
        for side, owner in (("own", "lead"), ("other", "lead_other")):
            ids[side]["job"] = _finished_export(ids, owner, side)

    clients = {}
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            response = client.post(
                "/login", data={"email": people_email(app, ids["users"][role]),
                                "password": DEFAULT_PASSWORD},
            )  # fmt: skip
            response.close()
            assert response.status_code == 302, f"sign-in of {role} failed: {response.status_code}"
        clients[role] = client
        client.get("/").close()  # the session cookie now carries a CSRF token too
    with app.app_context():
        accounts.set_user_active(db.session.get(User, ids["users"]["deactivated"]), False)
        db.session.commit()
    cookies = {}
    for role, client in clients.items():
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        cookies[role] = cookie.value if cookie is not None else None
    world = SimpleNamespace(ids=ids, cookies=cookies, tokens=tokens, app=app)
    world.snapshot = root / "world.db"
    world.db_path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    _copy_db(world.db_path, world.snapshot)
    return world


def _finished_export(ids: dict, owner: str, side: str) -> int:
    """A report export ``owner`` started and that has finished, with its file."""
    from portal.jobs.runner import jobs_dir
    from portal.models.jobs import Job

    mark = "Альфа" if side == "own" else SECRET_MARK
    path = jobs_dir() / f"matrix-{side}.csv"
    path.write_text(f"deal\n{mark} сделка\n", encoding="utf-8")
    ids["job_files"].append((path, path.read_bytes()))
    job = Job(kind="report_export", user_id=ids["users"][owner], status="done", done=1, total=1,
              message="", params={"endpoint": "reports.deals", "format": "csv", "args": {}},
              result={}, output_path=path.name, output_name="deals.csv", attempts=1,
              finished_at=datetime.now(UTC))  # fmt: skip
    db.session.add(job)
    db.session.commit()
    return job.id


def people_email(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email


def _copy_db(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _data_version(world) -> int:
    """SQLite's counter of commits by other connections: unchanged means nothing was written."""
    if getattr(world, "watch", None) is None:
        world.watch = sqlite3.connect(world.db_path, check_same_thread=False)
    return world.watch.execute("PRAGMA data_version").fetchone()[0]


def restore(world) -> None:
    """Put the world back as it was built (rows, attachment files, the staged upload)."""
    if getattr(world, "clean_version", None) != _data_version(world):
        _copy_db(world.snapshot, world.db_path)
        world.clean_version = _data_version(world)
    for path, data in world.ids["attachment_files"].values():
        if not path.exists():
            path.write_bytes(data)
    for path, data in [world.ids["upload_file"], *world.ids["job_files"]]:
        if not path.exists():
            path.write_bytes(data)


COUNTED = ("deals", "proposal_sends", "meetings", "meeting_items", "deal_reviews",
           "review_tools", "action_items", "sales_tools", "tool_versions", "attachments",
           "tool_edit_proposals", "users", "teams", "api_tokens", "jobs", "deal_imports")  # fmt: skip


# every API call notes when its token was last used: compare the rest
VOLATILE = {"api_tokens": "id, user_id, token_hash, revoked_at"}


def table_fingerprint(app) -> dict:
    """Row counts and a checksum of every row of the tables a request could change."""
    out = {}
    with app.app_context():
        conn = db.session.connection()
        for table in COUNTED:
            columns = VOLATILE.get(table, "*")
            rows = conn.exec_driver_sql(f"SELECT {columns} FROM {table} ORDER BY 1").fetchall()
            out[table] = (len(rows), hash(tuple(tuple(map(str, r)) for r in rows)))
        db.session.rollback()
    return out


__all__ = ["DRAFT_MARK", "ROLES", "SECRET_MARK", "build_world", "restore", "table_fingerprint",
           "Attachment", "ToolEditProposal", "func", "select"]  # fmt: skip
