"""A live Planerka with the demo company, and headless Chromium to drive it."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def live_server(live_app) -> str:
    """The base URL of the live app."""
    return live_app.url


class LiveApp:
    def __init__(self, url: str, app):
        self.url, self.app = url, app


@pytest.fixture
def live_app(tmp_path) -> Iterator[LiveApp]:
    """The real app with the demo company on a free port of 127.0.0.1."""
    from portal.demo import seed_demo

    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'planerka-e2e.db'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "search_index"),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "IMPORTS_DIR": str(tmp_path / "imports"),
        }
    )
    with app.app_context():
        db.create_all()
        seed_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveApp(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def browser():
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
