"""Load shedding: a bounded number of requests in flight per worker process.

A request beyond ``LOAD_SHED_MAX_IN_FLIGHT`` waits at most ``LOAD_SHED_WAIT_MS`` for a
slot; if none frees up, or ``LOAD_SHED_MAX_WAITING`` requests are already waiting, it is
answered at once with 503 and ``Retry-After`` — API.md's JSON error under ``/api/``, a
small translated page otherwise — without touching the database or the search index.
When the machine is saturated this keeps the requests it does serve fast, instead of
letting every request queue until it times out. ``/healthz`` and static files are never
held back: a monitor must see a busy portal as alive.

It wraps ``app.wsgi_app`` (not a ``before_request`` hook) so a slot is held until the
response has been sent, teardown included, and a shed request costs almost nothing.
"""

from __future__ import annotations

import threading

from flask import Flask

EXEMPT_PREFIXES = ("/static/",)
EXEMPT_PATHS = frozenset({"/healthz", "/favicon.ico"})


class LoadShedding:
    """WSGI middleware: at most ``max_in_flight`` requests inside ``wsgi_app`` at a time."""

    def __init__(
        self,
        app: Flask,
        wsgi_app,
        max_in_flight: int,
        wait_seconds: float,
        max_waiting: int,
        retry_after: int,
    ):
        self.app = app
        self.wsgi_app = wsgi_app
        self.slots = threading.BoundedSemaphore(max_in_flight)
        self.wait_seconds = wait_seconds
        self.max_waiting = max_waiting
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self.waiting = 0
        self.shed = 0  # since the worker started; read by tests and the benchmark
        self._bodies: dict[tuple[bool, str], bytes] = {}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            return self.wsgi_app(environ, start_response)
        if not self.slots.acquire(blocking=False):
            with self._lock:
                full = self.waiting >= self.max_waiting
                if not full:
                    self.waiting += 1
            if full:
                return self._shed(environ, start_response)
            try:
                got = self.slots.acquire(timeout=self.wait_seconds)
            finally:
                with self._lock:
                    self.waiting -= 1
            if not got:
                return self._shed(environ, start_response)
        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            self.slots.release()
            raise
        return CallOnClose(body, self.slots.release)

    def _shed(self, environ, start_response):
        with self._lock:
            self.shed += 1
        environ["planerka.shed"] = True
        status, headers, body = self._busy_response(environ)
        headers.append(("Retry-After", str(self.retry_after)))
        headers.append(("Content-Length", str(len(body))))
        headers.append(("Cache-Control", "no-store"))
        start_response(status, headers)
        return [body]

    def _busy_response(self, environ) -> tuple[str, list, bytes]:
        """503 as API.md's JSON error or a small page in the visitor's language.

        The language comes from Accept-Language alone and each body is rendered once per
        worker: a shed request must cost next to nothing, so it reads neither the session
        nor the database (a signed-in user's profile language is not known here).
        """
        api = environ.get("PATH_INFO", "").startswith("/api/")
        lang = _best_language(environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        key = (api, lang)
        if key not in self._bodies:
            self._bodies[key] = self._render(api, lang)
        content_type = "application/json" if api else "text/html; charset=utf-8"
        return "503 SERVICE UNAVAILABLE", [("Content-Type", content_type)], self._bodies[key]

    def _render(self, api: bool, lang: str) -> bytes:
        from flask import json, render_template
        from flask_babel import force_locale
        from flask_babel import gettext as _

        with self.app.test_request_context("/"), force_locale(lang):
            message = _("The portal is busy right now. Try again in a few seconds.")
            if api:
                error = {"code": "unavailable", "message": message, "fields": {}}
                return json.dumps({"error": error}, ensure_ascii=False).encode()
            title = _("The portal is busy")
            return render_template(
                "errors/busy.html", title=title, message=message, lang=lang
            ).encode()


def _best_language(header: str) -> str:
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    return parse_accept_header(header, LanguageAccept).best_match(["ru", "en"], default="ru")


class CallOnClose:
    """A response iterable that calls ``on_close`` once when the server closes it (sent or
    aborted): the moment a request is really over, streamed bodies included."""

    def __init__(self, body, on_close):
        self._body = body
        self._release = on_close
        self._released = False

    def __iter__(self):
        return iter(self._body)

    def close(self):
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            if not self._released:
                self._released = True
                self._release()


def init_load_shedding(app: Flask) -> None:
    """Wrap the app when ``LOAD_SHED_MAX_IN_FLIGHT`` is above zero (see config.py)."""
    limit = int(app.config.get("LOAD_SHED_MAX_IN_FLIGHT", 0) or 0)
    # Keep MAX_IN_FLIGHT + MAX_WAITING a few below gunicorn's threads (gunicorn.conf.py):
    # the spare threads answer /healthz and shed at once while the others are busy.
    if limit <= 0:
        return
    app.wsgi_app = LoadShedding(
        app,
        app.wsgi_app,
        max_in_flight=limit,
        wait_seconds=float(app.config.get("LOAD_SHED_WAIT_MS", 200)) / 1000,
        max_waiting=int(app.config.get("LOAD_SHED_MAX_WAITING", 8)),
        retry_after=int(app.config.get("LOAD_SHED_RETRY_AFTER", 2)),
    )
    app.extensions["load_shedding"] = app.wsgi_app
