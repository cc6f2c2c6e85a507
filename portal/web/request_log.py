"""One JSON line per request on the ``planerka.request`` logger.

Fields: ``time`` (UTC, ISO 8601), ``method``, ``path``, ``query`` (values of sensitive keys
replaced by ``[redacted]``), ``status``, ``duration_ms``, ``user_id`` (or null), ``request_id``
and ``shed`` when load shedding answered. No header, cookie, form field or body is logged.
User-controlled text is escaped: control characters (newlines included), DEL, C1 controls
and the Unicode line separators appear as ``\\uXXXX``, so a request is always one line.

The request id comes from a well-formed ``X-Request-ID`` header (a proxy's) or is made
here; it is echoed in the response's ``X-Request-ID``. The middleware is outermost, so
requests answered by load shedding and unhandled errors are logged too, with the time
until the response body was sent.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from flask import Flask, g

from .load_shedding import CallOnClose

log = logging.getLogger("planerka.request")

# Query keys whose values never reach the log: anything that may carry a credential.
SENSITIVE_KEY = re.compile(
    r"token|pass|pwd|secret|csrf|session|auth|api[_-]?key|^key$|_key|key_|sig|jwt|refresh|cred"
    r"|bearer|private|nonce|salt|ticket|^code$|otp$",
    re.I,
)
# Keys whose value is a URL: kept up to its own query, which may hold anything.
URL_KEY = re.compile(r"^(next|url|redirect|redirect_to|return|return_to|back|target)$", re.I)
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
USER_ID_KEY = "planerka.user_id"


def escape_controls(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _wsgi_text(value: str) -> str:
    """WSGI hands over URL bytes as latin-1; show them as the UTF-8 they usually are."""
    try:
        return value.encode("latin-1").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return value


def redact_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(_wsgi_text(query), keep_blank_values=True)
    return urlencode([(k, _logged_value(k, v)) for k, v in pairs], safe="/:,[]")


def _logged_value(key: str, value: str) -> str:
    if SENSITIVE_KEY.search(key):
        return "[redacted]"
    if URL_KEY.match(key) and ("?" in value or ";" in value or "#" in value):
        return re.split(r"[?;#]", value, maxsplit=1)[0] + "?[redacted]"
    return value


def redact_path(path: str) -> str:
    """A path without its ``;parameters`` (no route of ours has any; clients put keys there)."""
    head, sep, _ = path.partition(";")
    return head + ";[redacted]" if sep else head


class RequestLog:
    def __init__(self, wsgi_app, logger: logging.Logger = log):
        self.wsgi_app = wsgi_app
        self.log = logger

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        environ["planerka.request_id"] = request_id
        seen = {"status": 500}

        def start(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            self._write(environ, seen["status"], started)
            raise
        return CallOnClose(body, lambda: self._write(environ, seen["status"], started))

    def _write(self, environ, status: int, started: float) -> None:
        if not self.log.isEnabledFor(logging.INFO):
            return
        try:
            entry = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "method": escape_controls(environ.get("REQUEST_METHOD", "")[:16]),
                "path": escape_controls(
                    redact_path(_wsgi_text(environ.get("PATH_INFO", "")))[:2000]
                ),
                "query": escape_controls(redact_query(environ.get("QUERY_STRING", ""))[:2000]),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": environ.get(USER_ID_KEY),
                "request_id": environ["planerka.request_id"],
            }
            if environ.get("planerka.shed"):
                entry["shed"] = True
            # ensure_ascii=False keeps Cyrillic readable; escape_controls did the rest.
            self.log.info(json.dumps(entry, ensure_ascii=False))
        except Exception:  # noqa: BLE001 — a log line must never break a response
            self.log.exception("could not write the request log line")


def _remember_user(response):
    """The signed-in user (page session or API token), only if the request loaded one."""
    from flask import request

    user = g.get("_login_user") or g.get("api_user")
    user_id = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    if user_id is not None:
        request.environ[USER_ID_KEY] = user_id
    return response


def init_request_log(app: Flask) -> None:
    """Log every request; call after every other ``wsgi_app`` wrapper so this one is outermost."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)  # whatever the root logger's level: these lines are the point
    app.after_request(_remember_user)
    app.wsgi_app = RequestLog(app.wsgi_app)
