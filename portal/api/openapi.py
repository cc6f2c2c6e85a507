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


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_TOOL_USES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["tool_id"],
        "properties": {"tool_id": {"type": "integer"}, "version": {"type": ["integer", "null"]}},
    },
}
_CONFLICT = {"409": _error("Duplicate, closed meeting, or a stale version")}

PATHS.update(
    {
        "/meetings": {
            "get": {
                "operationId": "listMeetings",
                "summary": "Planning meetings the user may see",
                "parameters": [
                    _query("team", {"type": "string"}, "Team name or id"),
                    _query("week", {"type": "string", "pattern": "^\\d{4}-W\\d{2}$"}),
                    _query("status", {"type": "string", "enum": ["open", "closed"]}),
                    *PAGING,
                ],
                "responses": {
                    "200": _json("MeetingPage"),
                    **STANDARD_ERRORS,
                    "422": _error("Invalid filter"),
                },  # fmt: skip
            },
            "post": {
                "operationId": "createMeeting",
                "summary": "Open a team's meeting for an ISO week; its agenda is lined up",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["team"],
                        "properties": {
                            "team": {"type": ["string", "integer"], "description": "Team name"},
                            "week": {"type": "string", "description": "ISO week, e.g. 2026-W48"},
                            "title": {"type": "string", "maxLength": 200},
                            "adhoc": {"type": "boolean", "description": "An extra meeting"},
                            "minutes_per_deal": {"type": "integer", "minimum": 1, "maximum": 60},
                        },
                    }
                ),
                "responses": {"201": _json("Meeting", "Created"), **WRITE_ERRORS, **_CONFLICT},
            },
        },
        "/meetings/{id}": {
            "parameters": [_path_int("id")],
            "get": {
                "operationId": "getMeeting",
                "summary": "The meeting with its agenda, reviews and action items",
                "responses": {
                    "200": _json("Meeting"),
                    **STANDARD_ERRORS,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/meetings/{id}/reviews": {
            "parameters": [_path_int("id")],
            "post": {
                "operationId": "createReview",
                "summary": "Review a deal at the meeting (once per deal and meeting)",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["deal_id"],
                        "properties": {
                            "deal_id": {"type": "integer"},
                            "tools": _TOOL_USES,
                            "key_tool_id": {"type": ["integer", "null"]},
                            "lesson": {"type": "string", "maxLength": 20000},
                        },
                    }
                ),
                "responses": {
                    "201": _json("Review", "Created"),
                    **WRITE_ERRORS,
                    **_CONFLICT,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/meetings/{id}/close": {
            "parameters": [_path_int("id")],
            "post": {
                "operationId": "closeMeeting",
                "summary": "Close the meeting; refused while someone else edits a review",
                "responses": {
                    "200": _json("Meeting"),
                    **WRITE_ERRORS,
                    **_CONFLICT,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/meetings/{id}/agenda": {
            "parameters": [_path_int("id")],
            "post": {
                "operationId": "addAgendaDeal",
                "summary": "Put a closed deal of the team on the agenda",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["deal_id"],
                        "properties": {"deal_id": {"type": "integer"}},
                    }
                ),  # fmt: skip
                "responses": {
                    "201": _json("Meeting"),
                    **WRITE_ERRORS,
                    **_CONFLICT,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/meetings/{id}/agenda/{deal_id}": {
            "parameters": [_path_int("id"), _path_int("deal_id")],
            "delete": {
                "operationId": "removeAgendaDeal",
                "summary": "Take a deal that has no review off the agenda",
                "responses": {
                    "200": _json("Meeting"),
                    **WRITE_ERRORS,
                    **_CONFLICT,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/meetings/{id}/action-items": {
            "parameters": [_path_int("id")],
            "post": {
                "operationId": "addActionItem",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "text": {"type": "string", "maxLength": 500},
                            "owner_email": {"type": "string"},
                            "due_date": {"type": "string", "format": "date"},
                            "review_id": {"type": "integer"},
                        },
                    }
                ),
                "responses": {
                    "201": _json("ActionItem", "Created"),
                    **WRITE_ERRORS,
                    **_CONFLICT,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/meetings/{id}/drafts": {
            "parameters": [_path_int("id")],
            "post": {
                "operationId": "captureDraft",
                "summary": "A new objection heard or move that worked, as a linked KB draft",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["deal_id", "kind", "title"],
                        "properties": {
                            "deal_id": {"type": "integer"},
                            "kind": {"type": "string", "enum": ["objection", "move"]},
                            "title": {"type": "string", "maxLength": 200},
                            "body": {"type": "string"},
                        },
                    }
                ),
                "responses": {
                    "201": _json("Tool", "Created"),
                    **WRITE_ERRORS,
                    **_CONFLICT,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/reviews/{id}": {
            "parameters": [_path_int("id")],
            "get": {
                "operationId": "getReview",
                "responses": {
                    "200": _json("Review"),
                    **STANDARD_ERRORS,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
            "patch": {
                "operationId": "updateReview",
                "summary": "Change tools, key tool or lesson; a stale `version` is a 409",
                "requestBody": _body(
                    {
                        "type": "object",
                        "properties": {
                            "version": {"type": "integer", "description": "The version read"},
                            "tools": _TOOL_USES,
                            "key_tool_id": {"type": ["integer", "null"]},
                            "lesson": {"type": "string", "maxLength": 20000},
                        },
                    }
                ),
                "responses": {
                    "200": _json("Review"),
                    **WRITE_ERRORS,
                    **_CONFLICT,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/action-items/{id}": {
            "parameters": [_path_int("id")],
            "patch": {
                "operationId": "updateActionItem",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["done"],
                        "properties": {"done": {"type": "boolean"}},
                    }
                ),  # fmt: skip
                "responses": {
                    "200": _json("ActionItem"),
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
    "MeetingBrief": {
        "type": "object",
        "required": ["id", "team", "week", "status"],
        "properties": {
            "id": {"type": "integer"},
            "team": {"type": "string"},
            "team_id": {"type": "integer"},
            "week": {"type": "string"},
            "kind": {"type": "string", "enum": ["weekly", "adhoc"]},
            "title": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "minutes_per_deal": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "closed_at": {"type": ["string", "null"], "format": "date-time"},
            "url": {"type": "string"},
            "summary_url": {"type": "string"},
        },
    },
    "Meeting": {
        "allOf": [
            {"$ref": "#/components/schemas/MeetingBrief"},
            {
                "type": "object",
                "properties": {
                    "agenda": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "position": {"type": "integer"},
                                "deal_id": {"type": "integer"},
                                "title": {"type": "string"},
                                "client": {"type": "string"},
                                "status": {"type": "string"},
                                "manager_email": {"type": "string"},
                                "suggested": {"type": "boolean"},
                                "reviewed": {"type": "boolean"},
                            },
                        },
                    },
                    "reviews": {"type": "array", "items": {"$ref": "#/components/schemas/Review"}},
                    "action_items": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ActionItem"},
                    },
                    "carried_over": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ActionItem"},
                    },
                },
            },
        ]
    },
    "MeetingPage": _page_of("MeetingBrief"),
    "Review": {
        "type": "object",
        "required": ["id", "meeting_id", "deal_id", "tools", "key_tool_id", "lesson", "version"],
        "properties": {
            "id": {"type": "integer"},
            "meeting_id": {"type": "integer"},
            "deal_id": {"type": "integer"},
            "deal_title": {"type": "string"},
            "deal_status": {"type": "string"},
            "tools": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "tool_id": {"type": "integer"},
                        "title": {"type": "string"},
                        "kind": KIND_ENUM,
                        "version": {"type": ["integer", "null"]},
                    },
                },
            },
            "key_tool_id": {"type": ["integer", "null"]},
            "lesson": {"type": "string"},
            "lesson_html": {"type": "string", "description": "Sanitised HTML"},
            "version": {"type": "integer", "description": "Send it back with a lesson edit"},
            "action_items": {"type": "array", "items": {"$ref": "#/components/schemas/ActionItem"}},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "ActionItem": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "meeting_id": {"type": "integer"},
            "review_id": {"type": ["integer", "null"]},
            "text": {"type": "string"},
            "owner_email": {"type": ["string", "null"]},
            "due_date": {"type": ["string", "null"], "format": "date"},
            "done": {"type": "boolean"},
            "done_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
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
