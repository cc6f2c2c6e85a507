"""Backup, restore and check, on a real SQLite file, a real Whoosh index and real files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from portal import MIGRATIONS_DIR
from portal.extensions import db
from portal.models import SalesTool, User
from portal.ops import backup as backup_module
from portal.ops.check import migration_script

from .fixtures_files import jpeg, png

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _database(app) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1])


def _stamp_head(app) -> str:
    """What `flask db stamp head` writes, without alembic's logging setup."""
    (head,) = migration_script(MIGRATIONS_DIR).get_heads()
    with closing(sqlite3.connect(_database(app))) as con:
        con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        con.execute("INSERT INTO alembic_version VALUES (?)", (head,))
        con.commit()
    return head


def _attach(app, tool_id: int, user_id: int, data: bytes, name: str) -> str:
    from portal.kb.attachment_service import add_attachment

    with app.app_context():
        tool, user = db.session.get(SalesTool, tool_id), db.session.get(User, user_id)
        return add_attachment(user, tool, FileStorage(io.BytesIO(data), filename=name)).stored_name


def _dump(path: Path) -> dict[str, list]:
    """Every row of every table, in rowid order."""
    with closing(sqlite3.connect(path)) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}


def _ids(path: Path, table: str) -> set[int]:
    with closing(sqlite3.connect(path)) as con:
        return {row[0] for row in con.execute(f"SELECT id FROM {table}")}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def installed(app, make):
    """A migrated-looking install: people, two tools with an image each, a deal.

    Images, because their text is not extracted: no extraction process, a faster setup."""
    _stamp_head(app)
    lead = make.user(role="lead", team="Москва")
    manager = make.user(role="manager", team="Москва")
    first = make.tool(lead, title="Скрипт холодного звонка в логистику")
    second = make.tool(lead, title="Отработка возражения «дорого»", kind="objection")
    make.deal(manager, title="Поставка компрессоров для склада")
    files = {
        _attach(app, first.id, lead.id, jpeg(), "фото склада.jpg"): jpeg(),
        _attach(app, second.id, lead.id, png(), "схема.png"): png(),
    }
    return {"lead": lead, "manager": manager, "tools": [first, second], "files": files}


def test_backup_while_writing_restores_exactly_the_state_it_began_with(
    app, runner, make, installed, tmp_path, monkeypatch
):
    lead, manager = installed["lead"], installed["manager"]
    acknowledged: list[tuple[str, int]] = []  # (table, id) of each committed write
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_writing():  # its own app context, session and connection for every write
        n = 0
        try:
            while not stop.is_set():
                n += 1
                if n % 2:
                    acknowledged.append(("deals", make.deal(manager, title=f"Сделка {n}").id))
                else:
                    acknowledged.append(("sales_tools", make.tool(lead, title=f"Скрипт {n}").id))
        except BaseException as error:  # noqa: BLE001 — reported by the assertion below
            errors.append(error)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 20
        while len(acknowledged) < count and not errors and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(acknowledged) >= count, errors

    # The writer must commit while the backup runs: the first attachment copy (after the
    # database snapshot) waits for more acknowledged writes. The write acknowledged first may
    # have committed before the snapshot and been appended after it (one write is in flight
    # at any time), so only the writes begun after that one count as "during".
    during: list[tuple[str, int]] = []
    real_copy = backup_module._copy_hashing

    def copy_while_writes_go_on(source, destination):
        if not during:
            in_flight = len(acknowledged)
            wait_for(in_flight + 3)
            during.extend(acknowledged[in_flight + 1 :])
        return real_copy(source, destination)

    monkeypatch.setattr(backup_module, "_copy_hashing", copy_while_writes_go_on)
    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    try:
        wait_for(4)
        before = list(acknowledged)
        backup_dir = tmp_path / "backup"
        result = runner.invoke(args=["backup", str(backup_dir)])
        wait_for(len(acknowledged) + 1)
    finally:
        stop.set()
        writer.join(20)
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert "2 attachments" in result.output
    assert during, "no write was committed while the backup ran"

    copy = backup_dir / "planerka.db"
    with closing(sqlite3.connect(copy)) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    manifest = json.loads((backup_dir / "manifest.json").read_text("utf-8"))
    assert manifest["alembic_revision"] == migration_script(MIGRATIONS_DIR).get_heads()[0]
    for table in ("deals", "sales_tools"):
        in_backup = _ids(copy, table)
        assert {i for t, i in before if t == table} <= in_backup  # acknowledged before
        assert not {i for t, i in during if t == table} & in_backup  # after the snapshot
        assert manifest["row_counts"][table] == len(in_backup)
    assert {f["path"]: f["size"] for f in manifest["files"][1:]} == {
        f"attachments/{name}": len(data) for name, data in installed["files"].items()
    }

    live = _database(app)
    assert _dump(live) != _dump(copy)  # the later writes
    result = runner.invoke(args=["restore", str(backup_dir), "--yes"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt" in result.output

    restored, backed_up = _dump(live), _dump(copy)
    # Index changes pending at the snapshot are applied (and their rows deleted) by the
    # rebuild that follows the restore; everything else is exactly the backup.
    assert restored.pop("search_outbox") == []
    backed_up.pop("search_outbox")
    assert restored == backed_up
    attachments = Path(app.config["ATTACHMENTS_DIR"])
    assert sorted(p.name for p in attachments.iterdir()) == sorted(installed["files"])
    for name, data in installed["files"].items():
        assert (attachments / name).read_bytes() == data
    (kept,) = live.parent.glob(f"{live.name}.before-restore-*")
    assert {i for t, i in acknowledged if t == "deals"} <= _ids(kept, "deals")

    from portal.search.service import check_index_consistency, get_engine

    with app.app_context():
        assert check_index_consistency()["ok"]
        assert get_engine().document_ids() == _ids(live, "sales_tools")
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "Everything is consistent." in result.output


def test_tar_gz_backup_brings_back_deleted_files_byte_identical(app, runner, installed, tmp_path):
    archive = tmp_path / "planerka-2026-11-28.tar.gz"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0
    attachments = Path(app.config["ATTACHMENTS_DIR"])
    shutil.rmtree(attachments)
    with closing(sqlite3.connect(_database(app))) as con:
        con.execute("UPDATE sales_tools SET title = 'испорчено'")
        con.commit()

    result = runner.invoke(args=["restore", str(archive), "--yes"])

    assert result.exit_code == 0, result.output
    for name, data in installed["files"].items():
        assert (attachments / name).read_bytes() == data
    with closing(sqlite3.connect(_database(app))) as con:
        assert "испорчено" not in {r[0] for r in con.execute("SELECT title FROM sales_tools")}
    assert not list(tmp_path.glob(".planerka-restore-*"))  # the unpacked copy is gone


@pytest.mark.parametrize("target", ["backup-dir", "backup.tar.gz"])
def test_backup_refuses_an_existing_target(runner, installed, tmp_path, target):
    path = tmp_path / target
    if target.endswith(".gz"):
        path.write_bytes(b"an older backup")
    else:
        path.mkdir()
        (path / "notes.txt").write_text("keep me")

    result = runner.invoke(args=["backup", str(path)])

    assert result.exit_code == 1
    assert "already exists" in result.output or "is not an empty directory" in result.output
    if target.endswith(".gz"):
        assert path.read_bytes() == b"an older backup"
    else:
        assert [p.name for p in path.iterdir()] == ["notes.txt"]
    assert not list(tmp_path.glob(".backup*"))  # no half-made archive left behind


def _corrupt_checksum(backup: Path, manifest: dict) -> None:
    path = backup / manifest["files"][1]["path"]
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate_database(backup: Path, manifest: dict) -> None:
    path = backup / "planerka.db"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _truncate_database_and_its_manifest(backup: Path, manifest: dict) -> None:
    _truncate_database(backup, manifest)
    path = backup / "planerka.db"
    manifest["files"][0].update(size=path.stat().st_size, sha256=_sha(path))
    (backup / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_corrupt_checksum, "does not match its SHA-256 in the manifest"),
        (_truncate_database, "the backup is damaged (truncated?)"),
        (_truncate_database_and_its_manifest, "fails PRAGMA integrity_check"),
    ],
)
def test_damaged_backup_is_refused_and_the_live_database_untouched(
    app, runner, installed, tmp_path, damage, message
):
    backup = tmp_path / "backup"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    damage(backup, json.loads((backup / "manifest.json").read_text("utf-8")))
    live = _database(app)
    before = _dump(live)

    result = runner.invoke(args=["restore", str(backup), "--yes"])

    assert result.exit_code == 1
    assert message in result.output
    assert "Restored" not in result.output
    assert _dump(live) == before
    assert not list(live.parent.glob("*before-restore*"))
    assert not list(live.parent.glob(".*restore-*"))  # nothing staged is left behind


def test_backup_failures_are_one_clear_line_and_leave_nothing(app, runner, installed, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    result = runner.invoke(args=["backup", str(a_file / "backup")])
    assert result.exit_code == 1, result.output
    assert "The backup was not made" in result.output and "Traceback" not in result.output
    assert a_file.read_text() == "not a directory"

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite database" * 200)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{garbage}"
    result = runner.invoke(args=["backup", str(tmp_path / "from-garbage")])
    assert result.exit_code == 1, result.output
    assert "not an SQLite database" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "from-garbage").exists()
    assert not list(tmp_path.glob(".*backup*"))


def test_backup_warns_of_attachment_files_changed_on_disk(app, runner, installed, tmp_path):
    stored = next(Path(app.config["ATTACHMENTS_DIR"]).iterdir())
    stored.write_bytes(stored.read_bytes() + b"tampered")
    result = runner.invoke(args=["backup", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "1 attachment files differ in size or SHA-256" in result.output


def test_restore_refuses_while_the_database_is_open_elsewhere(app, runner, installed, tmp_path):
    backup = tmp_path / "backup"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    with closing(sqlite3.connect(_database(app))) as portal:  # a gunicorn worker, say
        portal.execute("SELECT count(*) FROM users").fetchall()

        result = runner.invoke(args=["restore", str(backup), "--yes"])

    assert result.exit_code == 1
    assert "is open in another process: stop the portal" in result.output
    assert not list(_database(app).parent.glob("*before-restore*"))


def test_restore_asks_before_replacing(app, runner, installed, tmp_path):
    backup = tmp_path / "backup"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    before = _dump(_database(app))

    result = runner.invoke(args=["restore", str(backup)], input="n\n")

    assert result.exit_code == 1
    assert "Replace the database" in result.output
    assert "Aborted" in result.output
    assert _dump(_database(app)) == before


def test_backup_of_a_postgresql_install_points_to_pg_dump(app, runner, tmp_path):
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://planerka@db/planerka"

    result = runner.invoke(args=["backup", str(tmp_path / "backup")])

    assert result.exit_code == 1
    assert "pg_dump" in result.output
    assert not (tmp_path / "backup").exists()


def test_check_passes_on_a_healthy_install(runner, installed):
    result = runner.invoke(args=["check", "--json", "--checksums"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == [
        "database_integrity",
        "foreign_keys",
        "migrations",
        "search_index",
        "attachments",
    ]
    assert all(c["ok"] and not c["problems"] for c in report["checks"])


def _delete_attachment_file(app, installed):
    name = next(iter(installed["files"]))
    (Path(app.config["ATTACHMENTS_DIR"]) / name).unlink()
    return rf"Attachment files: .*\n\s+- attachment \d+ «фото склада.jpg» of tool \d+: file .*{name} is missing"


def _drop_a_tool_from_the_index(app, installed):
    from portal.search.service import get_engine

    tool_id = installed["tools"][1].id
    with app.app_context():
        get_engine().delete([tool_id])
    return rf"- 1 tools missing from the index: ids {tool_id} — `flask --app wsgi reindex --full`"


def _delete_the_index(app, installed):
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    return r"- the index is missing \(.*\): `flask --app wsgi reindex --full` rebuilds it"


def _break_a_foreign_key(app, installed):
    with closing(sqlite3.connect(_database(app))) as con:
        con.execute("UPDATE attachments SET tool_id = 987654 WHERE id = 1")
        con.commit()
    return r"- attachments row 1 refers to a missing row of sales_tools"


def _corrupt_an_index_page(app, installed):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    path = _database(app)
    with closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'ix_attachments_tool_id'"
        ).fetchone()[0]
    with path.open("r+b") as handle:  # the b-tree page header of one index
        handle.seek((root - 1) * page_size)
        handle.write(b"\x00" * 12)
    return r"Database integrity: \d+ problems\n\s+- integrity_check: .*"


def _downgrade_the_revision(app, installed):
    script = migration_script(MIGRATIONS_DIR)
    (head,) = script.get_heads()
    older = script.get_revision(head).down_revision
    with closing(sqlite3.connect(_database(app))) as con:
        con.execute("UPDATE alembic_version SET version_num = ?", (older,))
        con.commit()
    return rf"- the database is at {older}, head is {head}: run `flask --app wsgi db upgrade`"


@pytest.mark.parametrize(
    "damage",
    [
        _delete_attachment_file,
        _drop_a_tool_from_the_index,
        _delete_the_index,
        _break_a_foreign_key,
        _corrupt_an_index_page,
        _downgrade_the_revision,
    ],
)
def test_check_fails_with_a_line_for_each_problem(app, runner, installed, damage):
    expected = damage(app, installed)

    result = runner.invoke(args=["check"])

    assert result.exit_code == 1, result.output
    assert re.search(expected, result.output), result.output
    assert "1 of 5 checks failed." in result.output


def test_check_lists_orphan_files_without_failing(app, runner, installed):
    orphan = Path(app.config["ATTACHMENTS_DIR"]) / "0123456789abcdef.pdf"
    orphan.write_bytes(b"%PDF-1.4 left behind")

    result = runner.invoke(args=["check"])

    assert result.exit_code == 0, result.output
    assert f"! orphan file {orphan.name} (20 bytes): no attachment refers to it" in result.output


def test_flask_command_line_runs_check(app, installed):
    env = {
        **os.environ,
        "PLANERKA_ENV": "development",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
        "ATTACHMENTS_DIR": app.config["ATTACHMENTS_DIR"],
        "IMPORTS_DIR": app.config["IMPORTS_DIR"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "check", "--json"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True
