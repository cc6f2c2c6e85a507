"""The index follows the database: outbox, commit hook, failures, rebuilds, analytics."""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from portal.extensions import db
from portal.models import Attachment, SalesTool, SearchOutbox, Segment, Tag
from portal.models.base import utcnow
from portal.search import service as search
from portal.search.types import SearchQuery


@pytest.fixture
def search_app(app):
    """The app with search hooks and an (empty) index, as after the first request."""
    search.init_search(app)
    if "reindex" not in app.cli.commands:
        search.register_search_cli(app)
    with app.app_context():
        search.rebuild_index()
    yield app
    with app.app_context():
        search.wait_for_rebuild(app, timeout=30)
        search.get_engine(app).close()


def save_tool(app, title: str, body: str = "", **fields) -> int:
    """Create or update a tool the way services do: change, outbox row, one commit."""
    tool_id = fields.pop("tool_id", None)
    tags = fields.pop("tags", ())
    with app.app_context():
        tool = db.session.get(SalesTool, tool_id) if tool_id else SalesTool(kind="script")
        tool.title, tool.body = title, body
        tool.status = fields.pop("status", tool.status or "approved")
        for name, value in fields.items():
            setattr(tool, name, value)
        if tags:
            tool.tags = [Tag(name=name) for name in tags]
        tool.updated_at = utcnow()
        db.session.add(tool)
        db.session.flush()
        search.record_tool_change(tool.id)
        db.session.commit()
        return tool.id


def find(app, text: str, **kwargs) -> list[str]:
    kwargs.setdefault("viewer_sees_all_drafts", True)
    with app.app_context():
        result = search.search_tools(SearchQuery(text, **kwargs), log=False)
    return [hit.title for hit in result.hits]


def outbox(app) -> list[tuple[int, int, str]]:
    with app.app_context():
        rows = db.session.scalars(db.select(SearchOutbox).order_by(SearchOutbox.id))
        return [(row.tool_id, row.attempts, row.last_error) for row in rows]


@pytest.fixture
def held_writer_lock(search_app):
    """Another writer holding the index's real lock; the service times out quickly."""
    search_app.config["SEARCH_WRITER_TIMEOUT"] = 0.2
    search.get_engine(search_app).writer_timeout = 0.2
    ix = whoosh_index.open_dir(search_app.config["SEARCH_INDEX_DIR"])
    writer = ix.writer()
    yield writer
    if not writer.is_closed:
        writer.cancel()


def test_committed_tool_is_found_at_once(search_app):
    save_tool(search_app, "Скрипт холодного звонка", "Первые звонки дистрибьюторам")
    assert find(search_app, "звонки") == ["Скрипт холодного звонка"]
    assert outbox(search_app) == []


def test_rolled_back_change_never_reaches_the_index(search_app):
    with search_app.app_context():
        tool = SalesTool(kind="script", title="Черновик", body="", status="approved")
        db.session.add(tool)
        db.session.flush()
        search.record_tool_change(tool.id)
        db.session.rollback()
    assert find(search_app, "черновик") == []
    assert outbox(search_app) == []


def test_edits_and_deletes_follow_the_database(search_app):
    tool_id = save_tool(search_app, "Скрипт версия один")
    save_tool(search_app, "Скрипт версия два", tool_id=tool_id)
    assert find(search_app, "скрипт") == ["Скрипт версия два"]
    with search_app.app_context():
        db.session.delete(db.session.get(SalesTool, tool_id))
        search.record_tool_change(tool_id)
        db.session.commit()
    assert find(search_app, "скрипт") == []


def test_failed_index_write_keeps_the_row_for_the_next_save(search_app, held_writer_lock):
    save_tool(search_app, "Отработка возражения «дорого»")  # the commit itself succeeds
    [(_, attempts, error)] = outbox(search_app)
    assert attempts == 1 and "LockError" in error
    assert find(search_app, "дорого") == []

    held_writer_lock.cancel()
    save_tool(search_app, "Скрипт звонка секретарю")
    assert find(search_app, "дорого") == ["Отработка возражения «дорого»"]
    assert find(search_app, "секретарю") == ["Скрипт звонка секретарю"]
    assert outbox(search_app) == []


def test_failed_index_write_is_applied_by_reindex(search_app, held_writer_lock, runner):
    save_tool(search_app, "Кейс: отгрузка в Казань")
    assert [row[1] for row in outbox(search_app)] == [1]
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 1 and "could not be applied" in result.output

    held_writer_lock.cancel()
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Applied 1 pending index changes" in result.output
    assert find(search_app, "отгрузка") == ["Кейс: отгрузка в Казань"]


def test_engine_failure_once_is_recovered(search_app, monkeypatch):
    from portal.search.engine import IndexBatch

    real_write = IndexBatch._write
    calls = []

    def fail_once(self, writer):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real_write(self, writer)

    monkeypatch.setattr(IndexBatch, "_write", fail_once)
    save_tool(search_app, "Чек-лист встречи с ЛПР")
    [(_, attempts, error)] = outbox(search_app)
    assert attempts == 1 and "No space left" in error
    with search_app.app_context():
        assert search.apply_pending_outbox() == 1
    assert find(search_app, "лпр") == ["Чек-лист встречи с ЛПР"]


def test_deleted_index_is_rebuilt_in_the_background(search_app):
    titles = [f"Скрипт номер {n}" for n in range(1, 6)]
    for title in titles:
        save_tool(search_app, title)
    shutil.rmtree(search_app.config["SEARCH_INDEX_DIR"])
    search_app.config["SEARCH_REBUILD_IN_BACKGROUND"] = True
    with search_app.app_context():
        result = search.search_tools(SearchQuery("скрипт"), log=False)
        assert result.rebuilding and result.total == 0
        assert search.wait_for_rebuild(search_app, timeout=30)
        assert search.index_status() == "ok"
        assert search.ensure_index(search_app) == "ok"
    assert sorted(find(search_app, "скрипт")) == titles


def test_corrupt_index_is_rebuilt_on_the_first_request(search_app, client):
    save_tool(search_app, "Шаблон письма после выставки")
    for path in Path(search_app.config["SEARCH_INDEX_DIR"]).glob("*.toc"):
        path.write_bytes(b"garbage")
    search.get_engine(search_app).close()
    client.get("/login")  # the first request checks the index (synchronously in tests)
    with search_app.app_context():
        assert search.index_status() == "ok"
    assert find(search_app, "выставки") == ["Шаблон письма после выставки"]


def test_cli_full_reindex_rebuilds_from_the_database(search_app, runner):
    save_tool(search_app, "ТКП-2024-17 на компрессор")
    save_tool(search_app, "Кейс окупаемости")
    shutil.rmtree(search_app.config["SEARCH_INDEX_DIR"])
    result = runner.invoke(args=["reindex", "--full"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 tools" in result.output and "documents/s" in result.output
    assert find(search_app, "ТКП-2024") == ["ТКП-2024-17 на компрессор"]
    with search_app.app_context():
        assert search.check_index_consistency()["ok"]


def test_concurrent_saves_end_with_every_latest_version(search_app):
    own = {name: save_tool(search_app, f"{name} версия 0") for name in ("Альфа", "Бета")}
    shared = save_tool(search_app, "Общий версия 0")
    errors = []

    def edit(name: str):
        try:
            for version in range(1, 13):
                save_tool(search_app, f"{name} версия {version}", tool_id=own[name])
                if version % 3 == 0:
                    save_tool(search_app, f"Общий версия {version}{name[0]}", tool_id=shared)
        except Exception as error:  # noqa: BLE001 — reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=edit, args=(name,)) for name in own]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert find(search_app, "альфа") == ["Альфа версия 12"]
    assert find(search_app, "бета") == ["Бета версия 12"]
    with search_app.app_context():
        shared_title = db.session.get(SalesTool, shared).title
    assert find(search_app, "общий") == [shared_title]
    assert outbox(search_app) == []
    with search_app.app_context():
        report = search.check_index_consistency()
    assert report["ok"], report


def test_build_document_collects_names_and_attachment_text(search_app):
    with search_app.app_context():
        tool = SalesTool(
            kind="proposal", title="КП", body="Текст", status="draft", summary="Кратко"
        )
        tool.tags = [Tag(name="КП"), Tag(name="скидки")]
        tool.segments = [Segment(name="HoReCa")]
        tool.attachments = [
            Attachment(original_name=f"{n}.pdf", stored_name=f"{n}.bin", content_type="application/pdf",
                       size=1, sha256="0" * 64, extracted_text=text)
            for n, text in (("a", "Первый файл"), ("b", ""), ("c", "Второй файл"))
        ]  # fmt: skip
        db.session.add(tool)
        db.session.commit()
        document = search.build_document(tool)
    assert document.tags == ("КП", "скидки")
    assert document.segments == ("HoReCa",)
    assert document.attachment_text == "Первый файл\n\nВторой файл"
    assert (document.status, document.proven_uses, document.owner_id) == ("draft", 0, None)


def test_filters_and_drafts_through_the_service(search_app, make):
    owner, other = make.user(), make.user()
    save_tool(search_app, "Мой черновик скрипта", status="draft", owner_id=owner.id)
    save_tool(search_app, "Чужой черновик скрипта", status="draft", owner_id=other.id)
    save_tool(search_app, "Одобренный скрипт", tags=("холодные звонки",))
    save_tool(search_app, "Архивный скрипт", status="archived")
    mine = find(search_app, "скрипт", viewer_id=owner.id, viewer_sees_all_drafts=False)
    assert sorted(mine) == ["Мой черновик скрипта", "Одобренный скрипт"]
    assert find(search_app, "скрипт", tags=("Холодные звонки",)) == ["Одобренный скрипт"]
    assert find(search_app, "скрипт", statuses=("archived",)) == ["Архивный скрипт"]


def test_searches_are_logged_for_analytics(search_app):
    save_tool(search_app, "Скрипт звонка")
    with search_app.app_context():
        for text in ("Скрипт", "скрипт ", "Ёлка", "елка", "звонок"):
            search.search_tools(SearchQuery(text), user_id=None)
        since = utcnow() - timedelta(hours=1)
        top = search.top_queries(since, 10)
        empty = search.zero_result_queries(since, 10)
    assert [(row.query, row.count) for row in top] == [("елка", 2), ("скрипт", 2), ("звонок", 1)]
    assert [(row.query, row.count) for row in empty] == [("елка", 2)]


def test_synonyms_come_from_the_database(search_app):
    save_tool(search_app, "Работа с потенциальным клиентом")
    save_tool(search_app, "Шаблон КП")
    assert find(search_app, "лид") == []
    assert find(search_app, "коммерческое предложение") == ["Шаблон КП"]  # the defaults
    with search_app.app_context():
        groups = search.save_synonym_groups("лид, потенциальный клиент\nодинокое слово\n")
        assert groups == [["лид", "потенциальный клиент"]]
        assert search.synonym_groups() == groups
    assert find(search_app, "лид") == ["Работа с потенциальным клиентом"]
    assert find(search_app, "коммерческое предложение") == []
    with search_app.app_context():
        search.save_synonym_groups("")
    assert find(search_app, "коммерческое предложение") == ["Шаблон КП"]


def test_consistency_check_reports_missing_and_extra(search_app):
    deleted = save_tool(search_app, "Кейс один")
    with search_app.app_context():
        db.session.delete(db.session.get(SalesTool, deleted))  # no outbox row: a bug elsewhere
        unindexed = SalesTool(kind="case", title="Кейс без индекса", body="", status="approved")
        db.session.add(unindexed)
        db.session.commit()
        unindexed_id = unindexed.id
        report = search.check_index_consistency()
    assert (report["missing"], report["extra"]) == ([unindexed_id], [deleted])
    assert (report["database"], report["index"], report["ok"]) == (1, 1, False)
