"""Background jobs: imports and exports outlive the request, show progress, survive a killed
worker, and are seen only by their owner (or an admin). The worker thread really runs."""

from __future__ import annotations

import io
import os
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from portal.deals import import_job
from portal.extensions import db
from portal.jobs import runner
from portal.models import Deal, Job, User
from portal.models.base import utcnow

from .conftest import HTMX, page_text
from .deal_files import write_csv
from .factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.usefixtures("fast_passwords")

HEADERS = ["ID", "Название сделки", "Бюджет ", "Ответственный", "Дата создания сделки",
           "Дата закрытия", "Этап сделки", "Воронка", "Компания"]  # fmt: skip
ROWS = [
    ["7001", "Компрессор", "1 000", "Дмитрий Козлов", "01.11.2026 10:00", "20.11.2026 12:00",
     "Успешно реализовано", "Продажи", "ООО «Хлеб»"],
    ["7002", "Осушитель", "2 000", "Дмитрий Козлов", "02.11.2026 10:00", "не закрыта",
     "Переговоры", "Продажи", "АО «Склад»"],
]  # fmt: skip
POLL = {**HTMX, "HX-Target": "job-progress"}


def wait_until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the job")


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def wait_finished(app, job_id: int) -> Job:
    return wait_until(lambda: (job := job_row(app, job_id)).finished and job)


@pytest.fixture
def people(make):
    return {
        "lead": make.user(role="lead", team="Москва", name="Алексей Морозов", locale="en"),
        "kozlov": make.user(team="Москва", name="Дмитрий Козлов"),
        "other": make.user(role="lead", team="Москва", locale="en"),
        "admin": make.user(role="admin", locale="en"),
    }


def login(app, user):
    browser = app.test_client()
    assert browser.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD}
                        ).status_code == 302  # fmt: skip
    return browser


@pytest.fixture
def gate(monkeypatch):
    """Holds every deal import at its start until the test opens the gate."""
    opened = threading.Event()
    real = import_job.services.import_deals

    def held(*args, **kwargs):
        opened.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(import_job.services, "import_deals", held)
    yield opened
    opened.set()


@pytest.fixture
def steps(monkeypatch):
    """A job kind that reports 1 of 3, waits for the test, then finishes."""
    reached, release = threading.Event(), threading.Event()

    def run(ctx):
        ctx.progress(1, 3)
        reached.set()
        release.wait(10)
        ctx.progress(3)
        return {"ok": True}

    monkeypatch.setitem(runner.HANDLERS, "test_steps", run)
    yield reached, release
    release.set()


def submit(app, kind: str, user, params: dict | None = None) -> int:
    with app.test_request_context():
        return runner.submit_job(kind, db.session.get(User, user.id), params or {}).id


def upload_for_import(client, tmp_path) -> str:
    path = write_csv(tmp_path, HEADERS, ROWS, name="amo.csv")
    upload = client.post("/deals/import", data={"file": (io.BytesIO(path.read_bytes()), "amo.csv"),
                                                "format": "auto"}, content_type="multipart/form-data")  # fmt: skip
    assert upload.status_code == 303
    return upload.headers["Location"].split("/deals/import/")[1].split("?")[0]


def test_progress_is_shown_while_a_job_runs(app, people, steps):
    reached, release = steps
    job_id = submit(app, "test_steps", people["lead"])
    browser = login(app, people["lead"])
    assert reached.wait(10)

    fragment = browser.get(f"/jobs/{job_id}", headers=POLL)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert html.lstrip().startswith('<div id="job-progress"')
    assert '<progress value="1" max="3">' in html
    assert "1 of 3" in page_text(fragment)
    assert f'hx-get="/jobs/{job_id}"' in html and 'hx-trigger="every 1s"' in html

    full = browser.get(f"/jobs/{job_id}")
    assert full.headers["Refresh"] == f"2; url=/jobs/{job_id}"
    assert "<h1>" in full.get_data(as_text=True)

    release.set()
    done = wait_until(
        lambda: browser.get(f"/jobs/{job_id}", headers=POLL).headers.get("HX-Redirect")
    )
    assert done == f"/jobs/{job_id}"
    job = job_row(app, job_id)
    assert (job.status, job.done, job.total, job.result) == ("done", 3, 3, {"ok": True})
    assert job.started_at and job.finished_at and job.heartbeat_at


def test_web_import_runs_as_a_job_and_ends_on_the_result(app, people, gate, tmp_path):
    app.config["JOB_WEB_WAIT_SECONDS"] = 0
    browser = login(app, people["lead"])
    token = upload_for_import(browser, tmp_path)

    started = browser.post(
        f"/deals/import/{token}/run", data={"format": "amocrm", "filename": "amo.csv"}
    )
    html = started.get_data(as_text=True)
    assert started.status_code == 200
    assert 'id="job-progress"' in html and "<progress" in html
    job_id = int(re.search(r'hx-get="/jobs/(\d+)"', html).group(1))
    assert started.headers["Refresh"] == f"2; url=/jobs/{job_id}"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Deal.id))) == 0

    gate.set()
    wait_finished(app, job_id)
    assert browser.get(f"/jobs/{job_id}", headers=POLL).headers["HX-Redirect"] == f"/jobs/{job_id}"
    result = browser.get(f"/jobs/{job_id}")
    assert result.status_code == 200
    assert "Import done" in page_text(result)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Deal.id))) == 2
    assert list(Path(app.config["IMPORTS_DIR"]).glob(f"{token}.*")) == []


def test_web_import_with_row_errors_returns_to_the_preview(app, people, tmp_path):
    browser = login(app, people["lead"])
    path = write_csv(tmp_path, HEADERS, [*ROWS, ["7003", "X", "1", "Неизвестный Менеджер",
                                                 "01.11.2026 10:00", "", "Переговоры", "", "ООО"]])  # fmt: skip
    upload = browser.post("/deals/import", data={"file": (io.BytesIO(path.read_bytes()), "amo.csv"), "format": "auto"},
                          content_type="multipart/form-data")  # fmt: skip
    token = upload.headers["Location"].split("/deals/import/")[1].split("?")[0]
    done = browser.post(
        f"/deals/import/{token}/run", data={"format": "amocrm", "filename": "amo.csv"}
    )
    assert done.status_code == 422
    assert 'data-testid="count-errors">1<' in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Deal.id))) == 0


def test_api_import_answers_202_then_the_job_gives_the_contract_result(app, client, make, people, gate, tmp_path):  # fmt: skip
    app.config["JOB_API_WAIT_SECONDS"] = 0
    headers = {"Authorization": f"Bearer {make.token(people['lead'])}"}
    path = write_csv(tmp_path, HEADERS, ROWS, name="amo.csv")
    response = client.post("/api/v1/deals/import", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(path.read_bytes()), "amo.csv")})  # fmt: skip
    assert response.status_code == 202
    job = response.get_json()["job"]
    assert set(job) == {"id", "kind", "status", "done", "total", "url"}
    assert job["status"] in ("queued", "running") and job["url"] == f"/api/v1/jobs/{job['id']}"
    assert response.headers["Location"] == job["url"]
    assert client.get(job["url"], headers=headers).get_json()["job"]["status"] in (
        "queued",
        "running",
    )

    gate.set()
    body = wait_until(lambda: (b := client.get(job["url"], headers=headers).get_json())["job"]["status"] == "done" and b)  # fmt: skip
    assert body["job"]["done"] == body["job"]["total"] == 2
    result = body["result"]
    assert (result["created"], result["updated"], result["written"], result["format"]) == (
        2,
        0,
        True,
        "amocrm",
    )
    assert result["errors"] == [] and result["unknown_managers"] == []

    other = {"Authorization": f"Bearer {make.token(people['other'])}"}
    assert client.get(job["url"], headers=other).status_code == 404
    admin = {"Authorization": f"Bearer {make.token(people['admin'])}"}
    assert client.get(job["url"], headers=admin).status_code == 200
    assert list(Path(app.config["IMPORTS_DIR"]).glob("*")) == []


def test_api_import_of_an_unreadable_file_is_still_a_422(app, client, make, people):
    headers = {"Authorization": f"Bearer {make.token(people['lead'])}"}
    response = client.post("/api/v1/deals/import", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b"\x00\x01garbage"), "deals.xlsx")})  # fmt: skip
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unreadable_file"
    assert list(Path(app.config["IMPORTS_DIR"]).glob("*")) == []


def test_only_the_owner_or_an_admin_sees_a_job(app, people, steps):
    reached, release = steps
    job_id = submit(app, "test_steps", people["lead"])
    assert reached.wait(10)
    assert login(app, people["other"]).get(f"/jobs/{job_id}").status_code == 404
    assert login(app, people["other"]).get(f"/jobs/{job_id}/download").status_code == 404
    assert login(app, people["kozlov"]).get(f"/jobs/{job_id}").status_code == 404
    assert login(app, people["admin"]).get(f"/jobs/{job_id}").status_code == 200
    assert app.test_client().get(f"/jobs/{job_id}").status_code == 302  # to the sign-in page
    release.set()
    wait_finished(app, job_id)


def _stale_import(app, people, tmp_path, attempts: int) -> int:
    """An import job whose worker was killed mid-way: running, heartbeat long gone."""
    imports = Path(app.config["IMPORTS_DIR"])
    imports.mkdir(parents=True, exist_ok=True)
    path = imports / "stale-upload-token-0123456789.csv"
    path.write_bytes(write_csv(tmp_path, HEADERS, ROWS, name="amo.csv").read_bytes())
    with app.app_context():
        long_ago = utcnow() - timedelta(minutes=10)
        job = Job(kind=import_job.KIND, user_id=people["lead"].id, status="running",
                  attempts=attempts, started_at=long_ago, heartbeat_at=long_ago, created_at=long_ago,
                  params=import_job.import_params(path, "amo.csv", "auto", dry_run=False,
                                                  skip_errors=False, remove_file=True, locale="en"))  # fmt: skip
        db.session.add(job)
        db.session.commit()
        return job.id


def test_a_job_killed_with_its_worker_is_run_again(app, people, tmp_path):
    job_id = _stale_import(app, people, tmp_path, attempts=1)
    browser = login(app, people["lead"])
    browser.get(f"/jobs/{job_id}")  # any look at a job notices the stale heartbeat
    job = wait_finished(app, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert job.result["created"] == 2
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Deal.id))) == 2


def test_a_job_killed_too_often_fails_with_a_clear_message(app, people, tmp_path):
    job_id = _stale_import(app, people, tmp_path, attempts=app.config["JOB_MAX_ATTEMPTS"])
    page = login(app, people["lead"]).get(f"/jobs/{job_id}")
    assert page.status_code == 500
    assert "stopped several times" in page_text(page)
    job = job_row(app, job_id)
    assert job.status == "failed" and job.finished_at is not None
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Deal.id))) == 0


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(app, people, steps):
    reached, release = steps
    app.config["JOB_STALE_SECONDS"] = 0.5
    job_id = submit(app, "test_steps", people["lead"])
    assert reached.wait(10)
    time.sleep(0.8)  # older than "stale", but the job runs in this process
    with app.app_context():
        assert runner.recover_stale_jobs() == 0
    release.set()
    assert wait_finished(app, job_id).status == "done"


def start_export(browser, fmt="csv", endpoint="reports.usage"):
    return browser.post("/jobs/exports", data={"endpoint": endpoint, "format": fmt,
                                              "arg_from": "2026-03-01", "arg_to": "2026-03-31"})  # fmt: skip


def test_background_export_gives_the_same_file_as_the_direct_link(app, people):
    browser = login(app, people["lead"])
    assert 'action="/jobs/exports"' in browser.get("/reports/usage").get_data(as_text=True)
    started = start_export(browser)
    assert started.status_code == 303
    job_id = int(started.headers["Location"].rsplit("/", 1)[1])
    wait_finished(app, job_id)
    page = browser.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert f'href="/jobs/{job_id}/download"' in page.get_data(as_text=True)

    download = browser.get(f"/jobs/{job_id}/download")
    direct = browser.get("/reports/usage?from=2026-03-01&to=2026-03-31&format=csv")
    assert download.status_code == 200
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "tool-usage.csv" in disposition
    assert download.data == direct.data
    download.close()
    assert login(app, people["other"]).get(f"/jobs/{job_id}/download").status_code == 404
    by_admin = login(app, people["admin"]).get(f"/jobs/{job_id}/download")
    assert by_admin.status_code == 200
    by_admin.close()

    xlsx = start_export(browser, "xlsx")
    xlsx_id = int(xlsx.headers["Location"].rsplit("/", 1)[1])
    assert wait_finished(app, xlsx_id).status == "done"
    xlsx_file = browser.get(f"/jobs/{xlsx_id}/download")
    assert xlsx_file.data[:2] == b"PK"
    xlsx_file.close()


def test_export_files_are_removed_after_a_day(app, people):
    browser = login(app, people["lead"])
    job_id = int(start_export(browser).headers["Location"].rsplit("/", 1)[1])
    job = wait_finished(app, job_id)
    output = runner_dir(app) / job.output_path
    assert output.is_file()
    old = time.time() - 2 * 24 * 3600
    os.utime(output, (old, old))
    with app.app_context():
        db.session.get(Job, job_id).finished_at = utcnow() - timedelta(days=2)
        db.session.commit()
        runner.sweep_job_files()
    assert not output.exists()
    assert browser.get(f"/jobs/{job_id}/download").status_code == 404
    assert "removed after a day" in page_text(browser.get(f"/jobs/{job_id}"))


def test_only_report_exports_can_be_started(app, people):
    browser = login(app, people["lead"])
    assert start_export(browser, endpoint="admin.users").status_code == 400
    assert start_export(browser, fmt="pdf").status_code == 400
    assert start_export(login(app, people["kozlov"])).status_code == 403


@pytest.mark.parametrize(
    ("endpoint", "args", "status"),
    [
        ("reports.deals", {"arg_team": "{other_team}"}, 403),  # another team's deals
        ("reports.proposals", {"arg_tool_id": "{script}"}, 404),  # a script is no proposal
    ],
)
def test_an_export_the_direct_link_refuses_fails_with_its_status_not_a_crash(
    app, people, make, endpoint, args, status
):
    other_team = make.user(role="lead", team="Екатеринбург").team_id
    script = make.tool(people["lead"], kind="script").id
    browser = login(app, people["lead"])
    data = {k: v.format(other_team=other_team, script=script) for k, v in args.items()}
    direct = browser.get(app.url_map.bind("localhost").build(endpoint),
                         query_string={k[4:]: v for k, v in data.items()} | {"format": "csv"})  # fmt: skip
    assert direct.status_code == status
    started = browser.post("/jobs/exports", data={"endpoint": endpoint, "format": "csv", **data})
    job_id = int(started.headers["Location"].rsplit("/", 1)[1])
    job = wait_finished(app, job_id)
    assert job.status == "failed"
    page = browser.get(f"/jobs/{job_id}")
    assert page.status_code == status
    assert "cannot be exported with these filters" in page_text(page)
    assert browser.get(f"/jobs/{job_id}/download").status_code == 404


def runner_dir(app) -> Path:
    with app.app_context():
        return runner.jobs_dir()
