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
                "description": (
                    "Runs as a background job. The request waits for it up to "
                    "JOB_API_WAIT_SECONDS (20 s) and answers as before; a longer import "
                    "answers 202 with the job, whose `url` gives the same result when done."
                ),
                "responses": {
                    "200": _json("ImportResult"),
                    "202": _json("JobAccepted", "Still running: poll the job's url"),
                    **WRITE_ERRORS,
                    "413": _error("File too large"),
                    "507": _error("The server's disk is full; nothing was saved"),
                },  # fmt: skip
            }
        },
        "/deals/imports/{id}/errors.csv": {
            "parameters": [_path_int("id")],
            "get": {
                "operationId": "getImportErrorReport",
                "summary": "The error report of an import: row and message, CSV (`;`, UTF-8 BOM)",
                "description": "The `error_report_url` of an import that had row errors.",
                "responses": {
                    "200": {
                        "description": "The report",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    **STANDARD_ERRORS,
                    "403": _error("Not allowed for this role"),
                    "404": _error("Not found"),
                },  # fmt: skip
            },
        },
        "/jobs/{id}": {
            "parameters": [_path_int("id")],
            "get": {
                "operationId": "getJob",
                "summary": "Status and progress of a background job; its result once done",
                "description": (
                    "Only the user who started the job (or an admin) sees it; others get 404. "
                    "`result` is present when a deal import is done (the body of "
                    "POST /deals/import); `error` when the job failed."
                ),
                "responses": {
                    "200": _json("JobStatus"),
                    **STANDARD_ERRORS,
                    "404": _error("Not found"),
                },  # fmt: skip
            },
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


_REPORT_PARAMS = [
    _query("from", {"type": "string", "format": "date"}, "First day, inclusive"),
    _query("to", {"type": "string", "format": "date"}, "Last day, inclusive"),
    _query("team", {"type": "string"}, "Team name or id (leads: their own team only)"),
    _query(
        "format",
        {"type": "string", "enum": ["json", "csv", "xlsx"]},
        "CSV is UTF-8 with a BOM; XLSX keeps numbers as numbers",
    ),  # fmt: skip
]
_REPORT_ERRORS = {**STANDARD_ERRORS, "403": _error("Managers, or another team for a lead"),
                  "422": _error("Invalid parameters")}  # fmt: skip


def _report(operation: str, summary: str, schema: str, params: list, extra=None) -> dict:
    responses = {
        "200": {
            "description": "The report (JSON), or its table as CSV / XLSX",
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
        **_REPORT_ERRORS,
        **(extra or {}),
    }
    return {"get": {"operationId": operation, "summary": summary,
                    "parameters": [*_REPORT_PARAMS, *params], "responses": responses}}  # fmt: skip


_TOOL_ID = _query("tool_id", {"type": "integer"}, "The sales tool")
PATHS.update(
    {
        "/reports/tool-usage": _report(
            "reportToolUsage",
            "Review tags of won deals closed in the range, per tool",
            "ToolUsageReport",
            [
                _query("group", {"type": "string", "enum": ["week", "month", "none"]}),
                _query("proven_min", {"type": "integer", "minimum": 1}),
            ],
        ),  # fmt: skip
        "/reports/adoption": _report(
            "reportAdoption",
            "How many managers with reviewed won deals used each tool",
            "AdoptionReport",
            [_query("weeks", {"type": "integer", "minimum": 1})],
        ),  # fmt: skip
        "/reports/proposal-reactions": _report(
            "reportProposalReactions",
            "Client reactions per version of a КП/ТКП",
            "ProposalReactionsReport",
            [_TOOL_ID],
            {"404": _error("No such tool")},
        ),  # fmt: skip
        "/reports/before-after": _report(
            "reportBeforeAfter",
            "Было/стало: rates before and after a date, a version or periods",
            "BeforeAfterReport",
            [
                _TOOL_ID,
                _query("split", {"type": "string", "format": "date"}),
                _query("version", {"type": "integer"}),
                *[
                    _query(k, {"type": "string", "format": "date"})
                    for k in ("a_from", "a_to", "b_from", "b_to")
                ],
            ],
            {"404": _error("No such tool")},
        ),  # fmt: skip
        "/reports/win-association": _report(
            "reportWinAssociation",
            "Win rate of reviewed deals with vs without each tool (association, not proof)",
            "WinAssociationReport",
            [_query("min_sample", {"type": "integer", "minimum": 1})],
        ),  # fmt: skip
        "/reports/dashboard": _report(
            "reportDashboard",
            "The head's weekly trends with the previous period",
            "DashboardReport",
            [],
        ),  # fmt: skip
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
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
    "segments": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
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
    "Job": {
        "type": "object",
        "required": ["id", "kind", "status", "done", "total", "url"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["deal_import", "report_export"]},
            "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
            "done": {"type": "integer", "description": "Rows (or parts) done so far"},
            "total": {"type": ["integer", "null"]},
            "url": {"type": "string", "description": "GET it for status and result"},
            "message": {"type": "string"},
        },
    },  # fmt: skip
    "JobAccepted": {
        "type": "object",
        "required": ["job"],
        "properties": {"job": {"$ref": "#/components/schemas/Job"}},
    },
    "JobStatus": {
        "type": "object",
        "required": ["job"],
        "properties": {
            "job": {"$ref": "#/components/schemas/Job"},
            "result": {"$ref": "#/components/schemas/ImportResult"},
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "status": {"type": "integer"},
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
    "ToolUsageReport": {
        "type": "object",
        "required": ["rows"],
        "properties": {
            "from": {"type": ["string", "null"]},
            "to": {"type": ["string", "null"]},
            "group": {"type": "string"},
            "proven_min": {"type": "integer"},
            "proven": {"type": "integer"},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "tool_id",
                        "title",
                        "kind",
                        "period",
                        "uses",
                        "won_deals",
                        "managers",
                    ],
                    "properties": {
                        "tool_id": {"type": "integer"},
                        "title": {"type": "string"},
                        "kind": KIND_ENUM,
                        "period": {
                            "type": ["string", "null"],
                            "description": "2026-W48, 2026-11, or null",
                        },
                        "uses": {"type": "integer", "description": "Review tags"},
                        "won_deals": {"type": "integer", "description": "Distinct won deals"},
                        "managers": {"type": "integer", "description": "Distinct deal managers"},
                    },
                },
            },
        },
    },  # fmt: skip
    "AdoptionReport": {
        "type": "object",
        "required": ["managers_total", "rows"],
        "properties": {
            "weeks": {"type": "integer"},
            "from": {"type": "string"},
            "to": {"type": "string"},
            "managers_total": {"type": "integer"},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["tool_id", "title", "managers_using", "share"],
                    "properties": {
                        "tool_id": {"type": "integer"},
                        "title": {"type": "string"},
                        "kind": KIND_ENUM,
                        "managers_using": {"type": "integer"},
                        "share": {"type": "number"},
                    },
                },
            },
        },
    },
    "ProposalReactionsReport": {
        "type": "object",
        "required": ["tool_id", "versions"],
        "properties": {
            "tool_id": {"type": "integer"},
            "title": {"type": "string"},
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "version",
                        "sends",
                        "responded",
                        "response_rate",
                        "accepted",
                        "acceptance_rate",
                        "ci_low",
                        "ci_high",
                        "median_hours_to_reaction",
                    ],
                    "properties": {
                        "version": {"type": "integer"},
                        "sends": {"type": "integer"},
                        "responded": {"type": "integer"},
                        "response_rate": {"type": ["number", "null"]},
                        "accepted": {"type": "integer"},
                        "acceptance_rate": {"type": ["number", "null"]},
                        "ci_low": {
                            "type": ["number", "null"],
                            "description": "95% Wilson interval of response_rate",
                        },
                        "ci_high": {"type": ["number", "null"]},
                        "median_hours_to_reaction": {"type": ["number", "null"]},
                        "change_note": {"type": "string"},
                    },
                },
            },
        },
    },  # fmt: skip
    "BeforeAfterReport": {
        "type": "object",
        "required": ["before", "after", "delta", "p_value"],
        "properties": {
            "tool_id": {"type": "integer"},
            "kind": KIND_ENUM,
            "measure": {"type": "string", "enum": ["proposal_sends", "won_deals"]},
            "before": {"type": "object"},
            "after": {"type": "object"},
            "delta": {"type": "object"},
            "p_value": {"type": ["number", "null"], "description": "Two-proportion z-test"},
            "p_value_acceptance": {"type": ["number", "null"]},
        },
    },
    "WinAssociationReport": {
        "type": "object",
        "required": ["rows"],
        "properties": {
            "reviewed_closed_deals": {"type": "integer"},
            "min_sample": {"type": "integer"},
            "note": {"type": "string"},
            "rows": {"type": "array", "items": {"type": "object"}},
        },
    },
    "DashboardReport": {
        "type": "object",
        "required": ["metrics"],
        "properties": {
            "from": {"type": "string"},
            "to": {"type": "string"},
            "metrics": {"type": "array", "items": {"type": "object"}},
        },
    },
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
