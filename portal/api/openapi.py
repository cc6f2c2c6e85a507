"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


STANDARD_ERRORS = {"401": _error("No token, or a bad or revoked one")}

PATHS: dict = {
    "/me": {
        "get": {
            "operationId": "getMe",
            "summary": "The user the token belongs to",
            "responses": {
                "200": {
                    "description": "The token's user",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Me"}}
                    },
                },
                **STANDARD_ERRORS,
            },
        }
    },
}

SCHEMAS: dict = {
    "Error": ERROR_SCHEMA,
    "Me": {
        "type": "object",
        "required": ["id", "email", "name", "role", "team"],
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["manager", "lead", "head", "admin"]},
            "team": {"type": ["string", "null"]},
            "team_id": {"type": ["integer", "null"]},
            "locale": {"type": "string"},
        },
    },
}


def openapi_document(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Planerka API",
            "version": "1",
            "description": "Sales tools, deals, planning meetings and reports.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }
