"""The expected outcome of every route × method × role (checked by tests/test_access_matrix.py).

Each row is seven outcomes, in the order of ``ROLES``:

    anonymous  manager  lead  lead_other  head  admin  deactivated

``manager`` owns the deals of team Альфа; ``lead`` leads Альфа, ``lead_other`` leads Бета;
``deactivated`` was an admin, signed in (and holding an API token) before deactivation.
URL parameters are ids of team Альфа's objects (see ``fill()`` in the test module).

Outcomes:
    ok         2xx, a redirect that is not to the sign-in page, or 400/409/422 for the test's
               empty or duplicate input — the request got past access control
    login      a redirect to the sign-in page; 401 for the API and for htmx requests
    forbidden  403: the role may not do this at all
    hidden     404: the object is outside the user's scope, its existence is not revealed

Page routes are checked twice, as a full page and with ``HX-Request: true``: the outcome is the
same. A new route fails the suite until it has a row here.
"""

OUTCOMES = ("ok", "login", "forbidden", "hidden")
_CODES = {"ok": "ok", "L": "login", "F": "forbidden", "H": "hidden"}
_ROLES = ("anonymous", "manager", "lead", "lead_other", "head", "admin", "deactivated")


def _row(spec: str) -> dict:
    codes = spec.split()
    assert len(codes) == len(_ROLES), spec
    return {role: _CODES[code] for role, code in zip(_ROLES, codes, strict=True)}


PUBLIC = "ok ok ok ok ok ok ok"
SIGNED_IN = "L ok ok ok ok ok L"  # any active user
ADMIN = "L F F F F ok L"
HEAD_ADMIN = "L F F F ok ok L"
STAFF = "L F ok ok ok ok L"  # leads, heads, admins (reports, imports, approving)
SIGNED_OUT = "L L L L L L L"  # after sign-out: back to the sign-in page
TEAM_OBJECT = "L ok ok H ok ok L"  # the owner team (the deal's manager) and org-wide roles
TEAM_RUN = "L F ok H ok ok L"  # the team's lead and org-wide roles run it; its manager may not
UPLOADER = "L F ok H ok ok L"  # the one who uploaded (a lead of Альфа), heads and admins
STARTER = "L H ok H H ok L"  # a background job: the one who started it (Альфа's lead) or admins

_SPEC = {
    ("/", "GET"): SIGNED_IN,
    ("/healthz", "GET"): PUBLIC,
    ("/login", "GET"): PUBLIC,
    ("/login", "POST"): PUBLIC,
    ("/logout", "POST"): SIGNED_OUT,
    ("/language", "POST"): PUBLIC,
    ("/profile", "GET"): SIGNED_IN,
    ("/profile/password", "POST"): SIGNED_IN,
    ("/profile/tokens", "POST"): SIGNED_IN,
    # another user's token id: "No such token", nothing revoked (checked below the matrix)
    ("/profile/tokens/<int:token_id>/revoke", "POST"): SIGNED_IN,
    # administration
    ("/admin/stages", "GET"): HEAD_ADMIN,
    ("/admin/stages", "POST"): HEAD_ADMIN,
    ("/admin/synonyms", "GET"): HEAD_ADMIN,
    ("/admin/synonyms", "POST"): HEAD_ADMIN,
    ("/admin/teams", "GET"): ADMIN,
    ("/admin/teams", "POST"): ADMIN,
    ("/admin/teams/<int:team_id>", "GET"): ADMIN,
    ("/admin/teams/<int:team_id>", "POST"): ADMIN,
    ("/admin/users", "GET"): ADMIN,
    ("/admin/users/new", "GET"): ADMIN,
    ("/admin/users/new", "POST"): ADMIN,
    ("/admin/users/<int:user_id>", "GET"): ADMIN,
    ("/admin/users/<int:user_id>", "POST"): ADMIN,
    ("/admin/users/<int:user_id>/activate", "POST"): ADMIN,
    ("/admin/users/<int:user_id>/deactivate", "POST"): ADMIN,
    # knowledge base: an approved tool of Альфа's lead — everyone reads it, staff edit it,
    # a manager proposes an edit
    ("/kb", "GET"): SIGNED_IN,
    ("/kb/new", "GET"): SIGNED_IN,
    ("/kb/new", "POST"): SIGNED_IN,
    ("/kb/preview", "POST"): SIGNED_IN,
    ("/kb/search-analytics", "GET"): STAFF,
    ("/search", "GET"): SIGNED_IN,
    ("/kb/<int:tool_id>", "GET"): SIGNED_IN,
    ("/kb/<int:tool_id>/diff", "GET"): SIGNED_IN,
    ("/kb/<int:tool_id>/versions/<int:number>", "GET"): SIGNED_IN,
    ("/kb/<int:tool_id>/edit", "GET"): SIGNED_IN,
    ("/kb/<int:tool_id>/edit", "POST"): SIGNED_IN,
    ("/kb/<int:tool_id>/status", "POST"): STAFF,
    ("/kb/<int:tool_id>/attachments", "POST"): STAFF,
    ("/kb/<int:tool_id>/proposals/<int:proposal_id>/<any(accept, reject):decision>", "POST"): STAFF,
    ("/kb/attachments/<int:attachment_id>", "GET"): SIGNED_IN,
    ("/kb/attachments/<int:attachment_id>/delete", "POST"): STAFF,
    # deals
    ("/deals", "GET"): SIGNED_IN,
    ("/deals/new", "GET"): SIGNED_IN,
    ("/deals/new", "POST"): SIGNED_IN,
    ("/deals/<int:deal_id>", "GET"): TEAM_OBJECT,
    ("/deals/<int:deal_id>/proposal-options", "GET"): TEAM_OBJECT,
    ("/deals/<int:deal_id>/edit", "GET"): TEAM_OBJECT,
    ("/deals/<int:deal_id>/edit", "POST"): TEAM_OBJECT,
    ("/deals/<int:deal_id>/sends", "POST"): TEAM_OBJECT,
    ("/proposal-sends/<int:send_id>/reaction", "POST"): TEAM_OBJECT,
    ("/deals/import", "GET"): STAFF,
    ("/deals/import", "POST"): STAFF,
    ("/deals/import/<token>", "GET"): UPLOADER,
    ("/deals/import/<token>/managers", "POST"): UPLOADER,
    ("/deals/import/<token>/run", "POST"): UPLOADER,
    ("/deals/imports/<int:import_id>/errors.csv", "GET"): UPLOADER,
    # background jobs (imports, report exports)
    ("/jobs/<int:job_id>", "GET"): STARTER,
    ("/jobs/<int:job_id>/download", "GET"): STARTER,
    ("/jobs/exports", "POST"): STAFF,
    ("/api/v1/jobs/<int:job_id>", "GET"): STARTER,
    # meetings: Альфа's open meeting; its manager follows and edits the review of his deal
    ("/meetings", "GET"): SIGNED_IN,
    # team_id of Альфа: not a choice for Бета's lead (422); team names are not secret
    ("/meetings", "POST"): "L F ok ok ok ok L",
    ("/meetings/<int:meeting_id>", "GET"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/follow", "GET"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/present", "GET"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/summary", "GET"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/summary.md", "GET"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/agenda", "POST"): TEAM_RUN,
    ("/meetings/<int:meeting_id>/agenda/candidates", "GET"): TEAM_RUN,
    ("/meetings/<int:meeting_id>/agenda/refresh", "POST"): TEAM_RUN,
    ("/meetings/<int:meeting_id>/agenda/<int:item_id>/move", "POST"): TEAM_RUN,
    ("/meetings/<int:meeting_id>/agenda/<int:item_id>/remove", "POST"): TEAM_RUN,
    ("/meetings/<int:meeting_id>/settings", "POST"): TEAM_RUN,
    ("/meetings/<int:meeting_id>/show", "POST"): TEAM_RUN,
    ("/meetings/<int:meeting_id>/close", "POST"): TEAM_RUN,
    ("/meetings/<int:meeting_id>/actions/<int:item_id>/done", "POST"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/deals/<int:deal_id>/actions", "POST"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/deals/<int:deal_id>/capture", "POST"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/deals/<int:deal_id>/editing", "POST"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/deals/<int:deal_id>/key", "POST"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/deals/<int:deal_id>/lesson", "POST"): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/deals/<int:deal_id>/tags", "POST"): TEAM_OBJECT,
    (
        "/meetings/<int:meeting_id>/deals/<int:deal_id>/tags/<int:tool_id>/remove",
        "POST",
    ): TEAM_OBJECT,
    ("/meetings/<int:meeting_id>/deals/<int:deal_id>/tool-suggestions", "GET"): TEAM_OBJECT,
    # reports: staff; a lead sees only their own team (checked below the matrix)
    ("/reports", "GET"): STAFF,
    ("/reports/usage", "GET"): STAFF,
    ("/reports/adoption", "GET"): STAFF,
    ("/reports/adoption/gap", "POST"): TEAM_RUN,
    ("/reports/association", "GET"): STAFF,
    ("/reports/before-after", "GET"): STAFF,
    ("/reports/deals", "GET"): STAFF,
    ("/reports/proposals", "GET"): STAFF,
    # JSON API (bearer tokens; a deactivated user's token is refused with 401)
    ("/api/v1/openapi.json", "GET"): PUBLIC,
    ("/api/v1/me", "GET"): SIGNED_IN,
    ("/api/v1/search", "GET"): SIGNED_IN,
    ("/api/v1/tools", "GET"): SIGNED_IN,
    ("/api/v1/tools", "POST"): SIGNED_IN,
    ("/api/v1/tools/<int:tool_id>", "GET"): SIGNED_IN,
    ("/api/v1/tools/<int:tool_id>", "PUT"): STAFF,
    ("/api/v1/tools/<int:tool_id>/versions/<int:number>", "GET"): SIGNED_IN,
    ("/api/v1/deals", "GET"): SIGNED_IN,
    ("/api/v1/deals", "POST"): SIGNED_IN,
    ("/api/v1/deals/<int:deal_id>", "GET"): TEAM_OBJECT,
    ("/api/v1/deals/<int:deal_id>/proposal-sends", "POST"): TEAM_OBJECT,
    ("/api/v1/proposal-sends/<int:send_id>", "PATCH"): TEAM_OBJECT,
    ("/api/v1/deals/import", "POST"): STAFF,
    ("/api/v1/deals/imports/<int:import_id>/errors.csv", "GET"): UPLOADER,
    ("/api/v1/meetings", "GET"): SIGNED_IN,
    ("/api/v1/meetings", "POST"): "L F ok F ok ok L",  # {"team": "Альфа"}
    ("/api/v1/meetings/<int:meeting_id>", "GET"): TEAM_OBJECT,
    ("/api/v1/meetings/<int:meeting_id>/agenda", "POST"): TEAM_RUN,
    ("/api/v1/meetings/<int:meeting_id>/agenda/<int:deal_id>", "DELETE"): TEAM_RUN,
    # the manager whose deal it is may start its review, as from the follow page
    ("/api/v1/meetings/<int:meeting_id>/reviews", "POST"): TEAM_OBJECT,
    ("/api/v1/meetings/<int:meeting_id>/action-items", "POST"): TEAM_RUN,
    ("/api/v1/meetings/<int:meeting_id>/drafts", "POST"): TEAM_OBJECT,
    ("/api/v1/meetings/<int:meeting_id>/close", "POST"): TEAM_RUN,
    ("/api/v1/reviews/<int:review_id>", "GET"): TEAM_OBJECT,
    ("/api/v1/reviews/<int:review_id>", "PATCH"): TEAM_OBJECT,
    ("/api/v1/action-items/<int:item_id>", "PATCH"): TEAM_OBJECT,
    ("/api/v1/reports/dashboard", "GET"): STAFF,
    ("/api/v1/reports/tool-usage", "GET"): STAFF,
    ("/api/v1/reports/adoption", "GET"): STAFF,
    ("/api/v1/reports/proposal-reactions", "GET"): STAFF,
    ("/api/v1/reports/before-after", "GET"): STAFF,
    ("/api/v1/reports/win-association", "GET"): STAFF,
}

EXPECTED: dict[tuple[str, str], dict[str, str]] = {key: _row(spec) for key, spec in _SPEC.items()}
