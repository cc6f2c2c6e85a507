"""A real gunicorn with several workers on a temporary database, for the crash tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN = "admin@example.test"
PASSWORD = "planerka-test-password"
_template: tuple[bytes, str] | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveGunicorn:
    """``start()`` prepares the database and serves it; ``stop()`` always cleans up."""

    def __init__(self, tmp: Path, workers: int = 4, **env):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "gunicorn.log"
        self.db_path = tmp / "planerka.db"
        self.env = {
            **os.environ,
            "PLANERKA_ENV": "development",
            "SECRET_KEY": "x" * 48,
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "SEARCH_INDEX_DIR": str(tmp / "search_index"),
            "ATTACHMENTS_DIR": str(tmp / "attachments"),
            "IMPORTS_DIR": str(tmp / "imports"),
            "JOBS_DIR": str(tmp / "jobs"),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "LOAD_SHED_MAX_IN_FLIGHT": "0",  # this is about the database, not shedding
            "GUNICORN_TIMEOUT": "120",
            **{k: str(v) for k, v in env.items()},
        }
        self.process: subprocess.Popen | None = None
        self.token = ""

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def prepare(self) -> None:
        """Migrate, add an admin and an API token: once per test run, copied after that
        (each ``flask`` command costs seconds)."""
        global _template
        if _template is None:
            self.flask("db", "upgrade")
            self.flask("create-user", ADMIN, "--name", "Админ Тестов", "--role", "admin",
                       "--password", PASSWORD, "--team", "Москва")  # fmt: skip
            token = self.flask("create-token", ADMIN).stdout.strip().splitlines()[-1]
            self.sql("PRAGMA wal_checkpoint(TRUNCATE)")
            _template = (self.db_path.read_bytes(), token)
        else:
            self.db_path.write_bytes(_template[0])
        self.token = _template[1]

    def start(self) -> None:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 — closed in stop()
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_text()
            try:
                if requests.get(f"{self.url}/login", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("gunicorn did not start:\n" + self.log_text())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if getattr(self, "log", None):
            self.log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return requests.request(method, f"{self.url}/api/v1{path}", headers=self.headers, **kwargs)

    def sql(self, query: str, *params):
        import sqlite3

        connection = sqlite3.connect(self.db_path, timeout=30)
        try:
            return connection.execute(query, params).fetchall()
        finally:
            connection.close()
