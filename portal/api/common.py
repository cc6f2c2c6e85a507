"""Request parsing and response shapes shared by the API endpoints."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l

from ..web.errors import api_error


class ApiError(Exception):
    """Raised inside an endpoint; turned into the API.md error body."""

    def __init__(self, status: int, message=None, code: str | None = None, fields=None):
        super().__init__(str(message))
        self.status, self.message, self.code, self.fields = status, message, code, fields or {}

    def response(self):
        return api_error(self.status, self.message, self.code, self.fields)


def json_body() -> dict:
    """The request's JSON object, or 400 for anything else."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, _l("Send a JSON object with Content-Type: application/json."))
    return data


def pagination() -> tuple[int, int]:
    fields = {}
    page = _positive_int("page", 1, fields)
    per_page = _positive_int("per_page", 50, fields)
    if per_page > 200:
        fields["per_page"] = _l("At most 200.")
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


def string_list(value, name: str, fields: dict) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fields[name] = _l("Must be a list of strings.")
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
