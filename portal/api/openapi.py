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
WRITE_ERRORS = {
    **STANDARD_ERRORS,
    "400": _error("Malformed JSON"),
    "403": _error("Not allowed for this role"),
    "422": _error("Invalid values; `fields` says which"),
}


def _json(schema_ref: str, description: str = "OK") -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def _path_int(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


KIND_ENUM = {"type": "string", "enum": ["script", "technique", "objection", "proposal",
             "tech_proposal", "template", "case", "checklist", "other"]}  # fmt: skip
STATUS_ENUM = {"type": "string", "enum": ["draft", "approved", "archived"]}
PAGING = [
    _query("page", {"type": "integer", "minimum": 1}),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
]

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

PATHS.update(
    {
        "/tools": {
            "get": {
                "operationId": "listTools",
                "summary": "Sales tools the token's user may see",
                "parameters": [
                    _query("kind", KIND_ENUM),
                    _query("tag", {"type": "string"}),
                    _query("segment", {"type": "string"}),
                    _query("status", STATUS_ENUM),
                    *PAGING,
                ],
                "responses": {
                    "200": _json("ToolPage"),
                    **STANDARD_ERRORS,
                    "422": _error("Invalid filter"),
                },  # fmt: skip
            },
            "post": {
                "operationId": "createTool",
                "summary": "Create a tool (managers: drafts only)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ToolInput"}}
                    },
                },
                "responses": {"201": _json("Tool", "Created"), **WRITE_ERRORS},
            },
        },
        "/tools/{id}": {
            "parameters": [_path_int("id")],
            "get": {
                "operationId": "getTool",
                "responses": {"200": _json("Tool"), **STANDARD_ERRORS, "404": _error("Not found")},
            },
            "put": {
                "operationId": "updateTool",
                "summary": "Edit; a changed title or body makes a new version",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ToolUpdate"}}
                    },
                },
                "responses": {
                    "200": _json("Tool"),
                    **WRITE_ERRORS,
                    "404": _error("Not found"),
                    "409": _error("base_version is older than the current version"),
                },
            },
        },
        "/tools/{id}/versions/{number}": {
            "parameters": [_path_int("id"), _path_int("number")],
            "get": {
                "operationId": "getToolVersion",
                "responses": {
                    "200": _json("ToolVersionFull"),
                    **STANDARD_ERRORS,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/search": {
            "get": {
                "operationId": "searchTools",
                "summary": "Full-text search with Russian and English word forms",
                "parameters": [
                    _query("q", {"type": "string"}),
                    _query("kind", KIND_ENUM),
                    _query("tag", {"type": "string"}),
                    _query("segment", {"type": "string"}),
                    _query("status", STATUS_ENUM),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                ],
                "responses": {
                    "200": _json("SearchResults"),
                    **STANDARD_ERRORS,
                    "422": _error("Invalid filter"),
                },  # fmt: skip
            }
        },
    }
)

_DEAL_FIELDS = {
    "external_id": {"type": ["string", "null"], "maxLength": 64},
    "title": {"type": "string", "maxLength": 300},
    "client": {"type": "string", "maxLength": 300},
    "segment": {"type": ["string", "null"], "maxLength": 80},
    "manager_email": {"type": "string", "format": "email"},
    "amount": {"type": ["number", "null"], "minimum": 0},
    "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$", "default": "RUB"},
    "stage": {"type": ["string", "null"], "maxLength": 120},
    "status": {"type": "string", "enum": ["open", "won", "lost"]},
    "created_at": {"type": ["string", "null"], "format": "date-time"},
    "closed_at": {"type": ["string", "null"], "format": "date-time"},
}
REACTION_ENUM = {"type": "string", "enum": ["none", "replied", "meeting", "changes_requested",
                                            "accepted", "rejected"]}  # fmt: skip
_SEND_FIELDS = {
    "tool_id": {"type": "integer", "minimum": 1},
    "version": {"type": "integer", "minimum": 1},
    "sent_at": {"type": "string", "format": "date-time"},
    "reaction": REACTION_ENUM,
    "reacted_at": {"type": ["string", "null"], "format": "date-time"},
}

PATHS.update(
    {
        "/deals": {
            "get": {
                "operationId": "listDeals",
                "summary": "Deals the token's user may see; from/to filter the close date",
                "parameters": [
                    _query("status", {"type": "string", "enum": ["open", "won", "lost"]}),
                    _query("manager_email", {"type": "string"}),
                    _query("from", {"type": "string", "format": "date"}),
                    _query("to", {"type": "string", "format": "date"}),
                    *PAGING,
                ],
                "responses": {
                    "200": _json("DealPage"),
                    **STANDARD_ERRORS,
                    "422": _error("Invalid filter"),
                },  # fmt: skip
            },
            "post": {
                "operationId": "createDeal",
                "summary": "Create a deal; a repeated external_id updates that deal (200)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/DealInput"}}
                    },
                },  # fmt: skip
                "responses": {
                    "201": _json("Deal", "Created"),
                    "200": _json("Deal", "Updated"),
                    **WRITE_ERRORS,
                    "404": _error("external_id of a deal out of scope"),
                },  # fmt: skip
            },
        },
        "/deals/{id}": {
            "parameters": [_path_int("id")],
            "get": {
                "operationId": "getDeal",
                "responses": {"200": _json("Deal"), **STANDARD_ERRORS, "404": _error("Not found")},
            },
        },
        "/deals/import": {
            "post": {
                "operationId": "importDeals",
                "summary": "Import an amoCRM, Bitrix24 or generic CSV/XLSX export",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "format": {
                                        "type": "string",
                                        "enum": ["auto", "amocrm", "bitrix24", "generic"],
                                    },
                                    "dry_run": {"type": "string", "enum": ["true", "false"]},
                                    "skip_errors": {"type": "string", "enum": ["true", "false"]},
                                },
                            }
                        }
                    },
                },  # fmt: skip
                "responses": {
                    "200": _json("ImportResult"),
                    **WRITE_ERRORS,
                    "413": _error("File too large"),
                },  # fmt: skip
            }
        },
        "/deals/{id}/proposal-sends": {
            "parameters": [_path_int("id")],
            "post": {
                "operationId": "createProposalSend",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["tool_id", "sent_at"],
                                "properties": _SEND_FIELDS,
                            }
                        }
                    },
                },  # fmt: skip
                "responses": {
                    "201": _json("ProposalSend", "Created"),
                    **WRITE_ERRORS,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/proposal-sends/{id}": {
            "parameters": [_path_int("id")],
            "patch": {
                "operationId": "recordReaction",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["reaction"],
                                "properties": {
                                    "reaction": REACTION_ENUM,
                                    "reacted_at": _SEND_FIELDS["reacted_at"],
                                },
                            }
                        }
                    },
                },  # fmt: skip
                "responses": {
                    "200": _json("ProposalSend"),
                    **WRITE_ERRORS,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
    }
)


def _page_of(schema: str) -> dict:
    """The paginated list shape of API.md."""
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    }


_TOOL_FIELDS = {
    "kind": KIND_ENUM,
    "title": {"type": "string", "maxLength": 200},
    "summary": {"type": "string", "maxLength": 500},
    "body": {"type": "string", "description": "Markdown"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "segments": {"type": "array", "items": {"type": "string"}},
    "status": STATUS_ENUM,
    "review_by": {"type": "string", "format": "date"},
}

SCHEMAS: dict = {
    "DealInput": {
        "type": "object",
        "required": ["title", "client", "manager_email", "status"],
        "properties": _DEAL_FIELDS,
    },  # fmt: skip
    "Deal": {
        "type": "object",
        "required": ["id", "title", "client", "manager_email", "status"],
        "properties": {
            "id": {"type": "integer"},
            **_DEAL_FIELDS,
            "proposal_sends": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ProposalSend"},
            },
        },
    },
    "DealPage": _page_of("Deal"),
    "ProposalSend": {
        "type": "object",
        "required": ["id", "deal_id", "tool_id", "version", "sent_at", "reaction"],
        "properties": {
            "id": {"type": "integer"},
            "deal_id": {"type": "integer"},
            **_SEND_FIELDS,
            "hours_to_reaction": {"type": ["number", "null"]},
        },  # fmt: skip
    },
    "ImportResult": {
        "type": "object",
        "required": ["created", "updated", "skipped", "errors"],
        "properties": {
            "created": {"type": "integer"},
            "updated": {"type": "integer"},
            "skipped": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["row", "message"],
                    "properties": {"row": {"type": "integer"}, "message": {"type": "string"}},
                },
            },
        },
    },  # fmt: skip
    "ToolInput": {
        "type": "object",
        "required": ["kind", "title", "body"],
        "properties": _TOOL_FIELDS,
    },  # fmt: skip
    "ToolUpdate": {
        "type": "object",
        "properties": {
            **_TOOL_FIELDS,
            "change_note": {"type": "string", "maxLength": 1000},
            "base_version": {"type": "integer"},
        },
    },
    "ToolSummary": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            **_TOOL_FIELDS,
            "version": {"type": "integer"},
        },
    },
    "Tool": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "title",
            "summary",
            "body",
            "body_html",
            "tags",
            "segments",
            "status",
            "version",
            "versions",
            "uses_in_won_deals",
        ],  # fmt: skip
        "properties": {
            "id": {"type": "integer"},
            **_TOOL_FIELDS,
            "body_html": {"type": "string"},
            "version": {"type": "integer"},
            "versions": {"type": "array", "items": {"$ref": "#/components/schemas/ToolVersion"}},
            "uses_in_won_deals": {"type": "integer"},
        },
    },
    "ToolVersion": {
        "type": "object",
        "properties": {
            "number": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "author": {"type": ["string", "null"]},
            "change_note": {"type": "string"},
        },
    },
    "ToolVersionFull": {
        "type": "object",
        "required": ["title", "body", "body_html", "change_note"],
        "properties": {
            "number": {"type": "integer"},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "body_html": {"type": "string"},
            "change_note": {"type": "string"},
        },
    },
    "ToolPage": _page_of("ToolSummary"),
    "SearchResults": {
        "type": "object",
        "required": ["total", "results"],
        "properties": {
            "total": {"type": "integer"},
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "kind", "title", "snippet_html", "score"],
                    "properties": {
                        "id": {"type": "integer"},
                        "kind": KIND_ENUM,
                        "title": {"type": "string"},
                        "snippet_html": {"type": "string"},
                        "score": {"type": "number"},
                    },
                },
            },
            "suggestion": {"type": "string"},
        },
    },
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
