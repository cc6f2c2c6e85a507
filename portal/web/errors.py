"""One renderer for every error: a full page, an htmx fragment or API JSON."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .htmx import is_htmx

log = logging.getLogger(__name__)

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please sign in"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not available here"),
    409: _l("Someone else changed this first"),
    413: _l("The upload is too large"),
    422: _l("Some values need fixing"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
}
DEFAULT_MESSAGES = {
    400: _l("Check the address or the form and try again."),
    401: _l("Your session has ended. Sign in to continue."),
    403: _l("Ask your administrator if you think you should have access."),
    404: _l("The page may have been moved or deleted, or you may not have access to it."),
    405: _l("Use the buttons on the page instead of typing the address."),
    409: _l("Reload the page to see the latest version; your text is kept below."),
    413: _l("Make the file smaller and try again."),
    422: _l("Correct the highlighted values and try again."),
    429: _l("Wait a few minutes and try again."),
    500: _l("The error has been logged. Try again in a minute."),
}
API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
}


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def api_error(
    status: int,
    message=None,
    code: str | None = None,
    fields: dict | None = None,
    extra: dict | None = None,
):
    """The error body of API.md: ``{"error": {"code", "message", "fields"}}``.

    ``extra`` adds top-level keys beside ``error`` (a stale save returns both texts).
    """
    body = {
        "error": {
            "code": code or API_CODES.get(status, "error"),
            "message": str(message or DEFAULT_MESSAGES.get(status, TITLES.get(status, ""))),
            "fields": {k: str(v) for k, v in (fields or {}).items()},
        },
        **(extra or {}),
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="planerka"'
    return response


def render_error(status: int, message=None, code: str | None = None, fields: dict | None = None):
    """Render ``status`` the way the client asked: JSON, htmx fragment or full page."""
    if is_api_request():
        if status in (404, 405) and not _has_valid_token():
            # Unknown URLs and methods say nothing to a caller without a token.
            return api_error(401)
        return api_error(status, message, code, fields)
    context = {
        "status": status,
        "title": TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400]),
        "message": message or DEFAULT_MESSAGES.get(status, ""),
    }
    if is_htmx():
        headers = {"HX-Retarget": "#notice", "HX-Reswap": "innerHTML"}
        if status == 401:
            path = request.headers.get("HX-Current-URL", "")
            headers["HX-Redirect"] = url_for("auth.login", next=_relative(path) or None)
        return render_template("errors/_error.html", **context), status, headers
    return render_template("errors/error.html", **context), status


def _has_valid_token() -> bool:
    from ..auth.services import user_for_api_token

    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and user_for_api_token(value.strip()) is not None


def _relative(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if path.startswith("/") and not path.startswith("//") else ""


def init_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _l(
                "The form has expired or was sent from another site. Reload the page and try again."
            ),
            code="csrf_failed",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        message = None
        if status in (400, 422) and error.description and not error.description.startswith("The "):
            message = error.description
        response = render_error(status, message)
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response = _with_header(response, "Allow", ", ".join(error.valid_methods))
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)


def _with_header(response, name: str, value: str):
    from flask import make_response

    response = make_response(response)
    response.headers[name] = value
    return response
