"""A full disk during an upload, an import or an export: a clear 507, nothing half-written,
no files left behind. The write of the storage layer fails with ENOSPC; the database is real."""

from __future__ import annotations

import errno
import io
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from portal import storage
from portal.extensions import db
from portal.jobs import runner
from portal.models import Attachment, Deal, DealImport, Job

from .conftest import HTMX, page_text
from .deal_files import write_csv
from .factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.usefixtures("fast_passwords")

MESSAGE = "The server's disk is full"
MESSAGE_RU = "Диск сервера заполнен"  # the API and jobs speak the default language
HEADERS = ["ID", "Название сделки", "Бюджет ", "Ответственный", "Дата создания сделки",
           "Дата закрытия", "Этап сделки", "Воронка", "Компания"]  # fmt: skip
ROWS = [[str(8000 + i), f"Сделка {i}", "1 000", "Дмитрий Козлов", "01.11.2026 10:00",
         "20.11.2026 12:00", "Успешно реализовано", "Продажи", "ООО «Хлеб»"] for i in range(3)]  # fmt: skip


@pytest.fixture
def disk_full(monkeypatch):
    """The disk fills up after ``allow`` chunks (one by default: a partial file exists when
    the write fails). ``failed`` counts the refused writes."""
    state = {"allow": 1, "written": 0, "failed": 0}

    def write(fp, chunk):
        if state["written"] >= state["allow"]:
            state["failed"] += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        state["written"] += 1
        fp.write(chunk)

    monkeypatch.setattr(storage, "write_chunk", write)
    return state


@pytest.fixture
def people(make):
    return {
        "lead": make.user(role="lead", team="Москва", locale="en"),
        "kozlov": make.user(team="Москва", name="Дмитрий Козлов"),
    }


def login(app, user):
    browser = app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return browser


def files_in(directory) -> list[str]:
    path = Path(directory)
    return sorted(p.name for p in path.rglob("*")) if path.exists() else []


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def deals_csv(tmp_path) -> bytes:
    return write_csv(tmp_path, HEADERS, ROWS, name="amo.csv").read_bytes()


def test_attachment_upload_on_a_full_disk(app, make, people, disk_full):
    tool = make.tool(people["lead"])
    browser = login(app, people["lead"])
    data = {"file": (io.BytesIO(b"notes " * 40_000), "notes.txt")}
    response = browser.post(f"/kb/{tool.id}/attachments", data=data, content_type="multipart/form-data",
                            headers={**HTMX, "HX-Target": "attachments"})  # fmt: skip
    assert disk_full["written"] == 1 and disk_full["failed"] == 1, "a partial file existed"
    assert response.status_code == 507
    assert MESSAGE in page_text(response)
    assert count(app, Attachment) == 0
    assert files_in(app.config["ATTACHMENTS_DIR"]) == []

    # Without htmx: back to the tool page, the message shown there.
    plain = browser.post(f"/kb/{tool.id}/attachments", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"notes " * 40_000), "notes.txt")})  # fmt: skip
    assert plain.status_code == 303
    assert MESSAGE in page_text(browser.get(plain.headers["Location"]))
    assert count(app, Attachment) == 0
    assert files_in(app.config["ATTACHMENTS_DIR"]) == []


def test_deal_import_upload_on_a_full_disk(app, client, make, people, disk_full, tmp_path):
    disk_full["allow"] = 0  # the file is created, its first chunk does not fit
    browser = login(app, people["lead"])
    response = browser.post("/deals/import", content_type="multipart/form-data",
                            data={"file": (io.BytesIO(deals_csv(tmp_path)), "amo.csv"), "format": "auto"})  # fmt: skip
    assert disk_full["failed"] == 1
    assert response.status_code == 507
    assert MESSAGE in page_text(response)
    assert files_in(app.config["IMPORTS_DIR"]) == []

    headers = {"Authorization": f"Bearer {make.token(people['lead'])}"}
    api = client.post("/api/v1/deals/import", headers=headers, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(deals_csv(tmp_path)), "amo.csv")})  # fmt: skip
    assert api.status_code == 507
    error = api.get_json()["error"]
    assert error["code"] == "disk_full" and MESSAGE_RU in error["message"]
    assert files_in(app.config["IMPORTS_DIR"]) == []
    assert (count(app, Deal), count(app, DealImport), count(app, Job)) == (0, 0, 0)


def test_database_filling_up_mid_import_writes_nothing(app, client, make, people, monkeypatch, tmp_path):  # fmt: skip
    from portal.deals import services

    monkeypatch.setattr(services, "IMPORT_CHUNK", 1)  # a chunk is written before the failure
    real = runner.JobContext.progress

    def progress(self, done, total=None):
        if done >= 2:
            raise OperationalError(
                "INSERT", {}, sqlite3.OperationalError("database or disk is full")
            )
        real(self, done, total)

    monkeypatch.setattr(runner.JobContext, "progress", progress)
    headers = {"Authorization": f"Bearer {make.token(people['lead'])}"}
    path = write_csv(tmp_path, HEADERS, ROWS, name="amo.csv")
    response = client.post("/api/v1/deals/import", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(path.read_bytes()), "amo.csv")})  # fmt: skip
    assert response.status_code == 507
    assert response.get_json()["error"]["code"] == "disk_full"
    assert (count(app, Deal), count(app, DealImport)) == (0, 0)
    assert files_in(app.config["IMPORTS_DIR"]) == []
    with app.app_context():
        job = db.session.scalar(db.select(Job))
        assert job.status == "failed" and MESSAGE_RU in job.message


def test_background_export_on_a_full_disk(app, people, disk_full, monkeypatch):
    from portal.reports import export_job

    monkeypatch.setattr(export_job, "CHUNK", 8)  # several writes even for a small report
    browser = login(app, people["lead"])
    started = browser.post("/jobs/exports", data={"endpoint": "reports.usage", "format": "csv",
                                                  "arg_from": "2026-03-01", "arg_to": "2026-03-31"})  # fmt: skip
    job_id = int(started.headers["Location"].rsplit("/", 1)[1])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not db_job(app, job_id).finished:
        time.sleep(0.05)
    job = db_job(app, job_id)
    assert disk_full["written"] == 1 and disk_full["failed"] == 1
    assert (job.status, job.output_path) == ("failed", None)
    page = browser.get(f"/jobs/{job_id}")
    assert page.status_code == 507
    assert MESSAGE in page_text(page)
    assert browser.get(f"/jobs/{job_id}/download").status_code == 404
    with app.app_context():
        assert files_in(runner.jobs_dir()) == []


def db_job(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job
