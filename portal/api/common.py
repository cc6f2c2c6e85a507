"""Request parsing and response shapes shared by the API endpoints."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l

from ..web.errors import api_error


class ApiError(Exception):
    """Raised inside an endpoint; turned into the API.md error body."""

    def __init__(self, status: int, message=None, code: str | None = None, fields=None, extra=None):
        super().__init__(str(message))
        self.status, self.message, self.code, self.fields = status, message, code, fields or {}
        self.extra = extra

    def response(self):
        return api_error(self.status, self.message, self.code, self.fields, self.extra)


MAX_JSON_DEPTH = 20
MAX_ID = 2**63 - 1


def json_body() -> dict:
    """The request's JSON object, or 400 for anything else (bad syntax, deep nesting,
    strings that are not valid Unicode)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict) or not _clean(data, 0):
        raise ApiError(400, _l("Send a JSON object with Content-Type: application/json."))
    return data


def _clean(value, depth: int) -> bool:
    if depth > MAX_JSON_DEPTH:
        return False
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate such as "\ud800"
            return False
        return True
    if isinstance(value, dict):
        return all(_clean(k, depth + 1) and _clean(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_clean(v, depth + 1) for v in value)
    return True


def is_id(value) -> bool:
    """A JSON integer usable as a database id."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def pagination() -> tuple[int, int]:
    fields = {}
    page = _positive_int("page", 1, fields)
    per_page = _positive_int("per_page", 50, fields)
    if per_page > 200:
        fields["per_page"] = _l("At most 200.")
    if page > 1_000_000:
        fields["page"] = _l("At most 1,000,000.")
    if fields:
        raise ApiError(422, _l("Invalid paging."), fields=fields)
    return page, per_page


def _positive_int(name: str, default: int, fields: dict) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        fields[name] = _l("Must be a whole number.")
        return default
    if value < 1:
        fields[name] = _l("Must be 1 or more.")
    return value


def paginated(items: list, total: int, page: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def string_list(value, name: str, fields: dict, limit: int | None = None) -> list[str]:
    """A JSON list of strings (null: empty); anything else, or more than ``limit``, is an error."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fields[name] = _l("Must be a list of strings.")
        return []
    if limit is not None and len(value) > limit:
        fields[name] = _l("At most %(n)d items.", n=limit)
        return []
    return value


def optional_date(value, name: str, fields: dict) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        fields[name] = _l("Must be a date like 2026-11-27.")
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        fields[name] = _l("Must be a date like 2026-11-27.")
        return None


def isoformat(value) -> str | None:
    return value.isoformat() if value is not None else None
