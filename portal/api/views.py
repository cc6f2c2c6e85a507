from flask import jsonify, request

from . import bp
from .auth import api_user
from .openapi import openapi_document


def user_json(user) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "team": user.team.name if user.team else None,
        "team_id": user.team_id,
        "locale": user.locale,
    }


@bp.route("/me")
def me():
    return jsonify(user_json(api_user()))


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_document(request.url_root.rstrip("/") + "/api/v1"))
