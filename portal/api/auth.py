"""Bearer-token authentication for every API endpoint but the OpenAPI document."""

from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l

from ..auth.services import user_for_api_token
from ..policy import can
from ..web.errors import api_error
from . import bp

PUBLIC_ENDPOINTS = {"api.openapi"}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@bp.before_request
def authenticate_token():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = bearer_token()
    if token is None:
        return api_error(401, _l("Send an API token: Authorization: Bearer <token>."))
    user = user_for_api_token(token)
    if user is None:
        return api_error(401, _l("The API token is invalid or has been revoked."))
    g.api_user = user
    if not can(user, "portal.use"):
        return api_error(403)
    return None


def api_user():
    return g.api_user
