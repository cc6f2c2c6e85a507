"""Every route × method × role against the expected table in ``tests/access_table.py``;
then object-level checks: another team's ids answer 404 and change nothing, and lists, search,
reports and exports never show what the user may not see."""

from __future__ import annotations

import os

import pytest

from portal import create_app
from portal.extensions import db

from .access_table import EXPECTED, OUTCOMES
from .access_world import DRAFT_MARK, ROLES, SECRET_MARK, build_world, restore, table_fingerprint
from .conftest import CsrfClient

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One company for the whole module (building it is the slow part); every request that
    may write runs on a copy restored from the snapshot, so tests stay independent."""
    from werkzeug.security import generate_password_hash

    from portal.auth import services as accounts

    root = tmp_path_factory.mktemp("access")
    patch = pytest.MonkeyPatch()
    patch.setattr(accounts, "generate_password_hash",
                  lambda p: generate_password_hash(p, method="pbkdf2:sha256:1"))  # fmt: skip
    app = create_app({
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'matrix.db'}",
        "SEARCH_INDEX_DIR": str(root / "search_index"),
        "ATTACHMENTS_DIR": str(root / "attachments"),
        "IMPORTS_DIR": str(root / "imports"),
        "LOAD_SHED_MAX_IN_FLIGHT": 0,  # the test client keeps unread responses open
    })  # fmt: skip
    app.test_client_class = CsrfClient
    with app.app_context():
        db.create_all()
    world = build_world(app, root)
    yield world
    patch.undo()
    if getattr(world, "watch", None) is not None:
        world.watch.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def routes(app) -> list[tuple[str, str]]:
    """(rule, method) for every route but static files."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in METHODS:
            if method in rule.methods:
                out.append((rule.rule, method))
    return sorted(out)


def _route_ids():
    """The routes known at collection time: the table's keys (a route missing from the table is
    caught by ``test_every_route_is_in_the_table``)."""
    return sorted(EXPECTED)


# --- filling URLs ------------------------------------------------------------------------


def fill(rule, ids: dict, side: str = "own") -> str:
    """A URL of ``rule`` whose parameters are real ids of team Альфа (``side="own"``) or of
    team Бета (``side="other"``)."""
    team = ids[side]
    endpoint_items = {
        "/meetings/<int:meeting_id>/actions/<int:item_id>/done": team["action"],
        "/api/v1/action-items/<int:item_id>": team["action"],
    }
    values = {
        "meeting_id": team["meeting"],
        "deal_id": team["deal"],
        "review_id": team["review"],
        "send_id": team["send"],
        "import_id": team["import"],
        "job_id": team["job"],
        "item_id": endpoint_items.get(rule, team["item"]),
        "tool_id": team["proposal_tool"] if "/tags/" in rule else ids["tool"],
        "attachment_id": ids["attachment"] if side == "own" else team["attachment"],
        "proposal_id": ids["proposal"],
        "decision": "accept",
        "number": 1,
        "user_id": ids["users"]["manager"],
        "team_id": ids["team"],
        "token_id": ids["token_id"] if side == "own" else ids["token_id_other"],
        "token": ids["upload"],
    }
    if side == "other" and "<int:tool_id>" in rule and "/tags/" not in rule:
        values["tool_id"] = team["draft"]
    url = rule
    for name, value in values.items():
        for converter in ("int:", "any(accept, reject):", ""):
            url = url.replace(f"<{converter}{name}>", str(value))
    assert "<" not in url, f"no value for a parameter of {rule}: add it to fill()"
    return url


# --- classifying answers -----------------------------------------------------------------


def outcome(response) -> str:
    status = response.status_code
    if status >= 500:
        return f"error {status}"
    if status == 401:
        return "login"
    if status in (301, 302, 303, 307) and "/login" in response.headers.get("Location", ""):
        return "login"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "hidden"
    if status == 405:
        return "error 405"
    return "ok"


def body(rule: str, method: str, ids: dict, side: str = "own") -> dict:
    """Form fields (or JSON) that make the request mean something where an empty one would
    stop at validation before access control is asked."""
    team = ids[side]
    forms = {
        ("/kb/<int:tool_id>/status", "POST"): {"status": "archived"},
        ("/meetings", "POST"): {"team_id": ids["team"], "week": "", "title": ""},
        ("/meetings/<int:meeting_id>/agenda", "POST"): {"deal_id": team["spare_deal"]},
        ("/reports/adoption/gap", "POST"): {"manager_id": ids["users"]["manager"],
                                            "tool_id": ids["tool"]},
        ("/api/v1/meetings", "POST"): {"team": "Альфа"},
        ("/api/v1/meetings/<int:meeting_id>/agenda", "POST"): {"deal_id": team["spare_deal"]},
        ("/api/v1/meetings/<int:meeting_id>/reviews", "POST"): {"deal_id": team["spare_deal"],
                                                                "tools": []},
    }  # fmt: skip
    return forms.get((rule, method), {})


def browser(world, role: str):
    """A fresh test client carrying ``role``'s session cookie (a sign-out in one test cannot
    sign the role out of the next)."""
    client = world.app.test_client()
    if world.cookies.get(role):
        client.set_cookie(world.app.config["SESSION_COOKIE_NAME"], world.cookies[role])
    return client


def send(world, role: str, rule: str, method: str, htmx: bool = False, side: str = "own"):
    url = fill(rule, world.ids, side)
    client = browser(world, role)
    headers = {}
    kwargs = {}
    if rule.startswith("/api/"):
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {world.tokens[role]}"
        client = world.app.test_client()  # bearer only: no session cookie
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = body(rule, method, world.ids, side)
    elif method != "GET":
        kwargs["data"] = body(rule, method, world.ids, side)
    if htmx:
        headers["HX-Request"] = "true"
    response = client.open(url, method=method, headers=headers, **kwargs)
    response.close()
    return response


def expected_for(rule: str, method: str, role: str) -> str:
    row = EXPECTED[(rule, method)]
    return row.get(role, row["*"]) if "*" in row else row[role]


# --- the matrix --------------------------------------------------------------------------


def test_every_route_is_in_the_table(world):
    missing = [f"{method} {rule}" for rule, method in routes(world.app)
               if (rule, method) not in EXPECTED]  # fmt: skip
    assert missing == [], "routes without an expected row in tests/access_table.py: " + ", ".join(
        missing
    )
    stale = [f"{m} {r}" for r, m in EXPECTED if (r, m) not in routes(world.app)]
    assert stale == [], "rows of tests/access_table.py without a route: " + ", ".join(stale)


def test_the_table_names_every_role_with_a_known_outcome():
    for key, row in EXPECTED.items():
        assert "*" in row or set(row) >= set(ROLES), f"{key} lacks roles"
        assert set(row.values()) <= set(OUTCOMES), f"{key} has an unknown outcome"


@pytest.mark.parametrize("rule,method", _route_ids(), ids=lambda v: v if isinstance(v, str) else "")
def test_route_answers_every_role_as_the_table_says(world, rule, method):
    variants = [False] if rule.startswith("/api/") else [False, True]
    wrong = []
    for role in ROLES:
        for htmx in variants:
            if method != "GET":
                restore(world)
            response = send(world, role, rule, method, htmx=htmx)
            got = outcome(response)
            want = expected_for(rule, method, role)
            if got != want:
                wrong.append(f"{role}{' (htmx)' if htmx else ''}: expected {want}, got {got} "
                             f"({response.status_code})")  # fmt: skip
    restore(world)
    assert wrong == [], f"{method} {rule}\n  " + "\n  ".join(wrong)


if os.environ.get("ACCESS_MATRIX_PROBE"):

    def test_print_observed_table(world):  # pragma: no cover - a tool for updating the table
        lines = []
        for rule, method in routes(world.app):
            row = {}
            for role in ROLES:
                for htmx in [False] if rule.startswith("/api/") else [False, True]:
                    if method != "GET":
                        restore(world)
                    got = outcome(send(world, role, rule, method, htmx=htmx))
                    row[role + ("~hx" if htmx else "")] = got
            lines.append(f"    ({rule!r}, {method!r}): {row},")
        restore(world)
        print("\nOBSERVED\n" + "\n".join(lines))


# --- another team's ids: 404, and nothing changes ----------------------------------------

TEAM_PARAMS = ("<int:deal_id>", "<int:meeting_id>", "<int:review_id>", "<int:send_id>",
               "<int:import_id>", "<int:item_id>", "<int:job_id>")  # fmt: skip
# A lead is staff and may see every tool and attachment (drafts included); a manager may not
# see another manager's draft or its attachments.
MANAGER_ONLY_PARAMS = ("<int:tool_id>", "<int:attachment_id>")


def _object_routes():
    out = []
    for rule, method in sorted(EXPECTED):
        if "/tags/<int:tool_id>" in rule:
            pass  # the meeting and deal decide; the tool is a proposal everyone sees
        elif any(p in rule for p in MANAGER_ONLY_PARAMS) and not any(
            p in rule for p in TEAM_PARAMS
        ):
            out.append(pytest.param(rule, method, ("manager",), id=f"{method} {rule}"))
            continue
        if any(p in rule for p in TEAM_PARAMS):
            out.append(pytest.param(rule, method, ("manager", "lead"), id=f"{method} {rule}"))
    return out


@pytest.mark.parametrize("rule,method,roles", _object_routes())
def test_another_teams_ids_in_the_url_answer_404_and_change_nothing(world, rule, method, roles):
    wrong = []
    for role in roles:
        allowed = {"hidden"}
        if expected_for(rule, method, role) == "forbidden":
            allowed.add("forbidden")  # the role may not do this at all: 403 comes first
        for htmx in [False] if rule.startswith("/api/") else [False, True]:
            restore(world)
            before = table_fingerprint(world.app)
            response = send(world, role, rule, method, htmx=htmx, side="other")
            got = outcome(response)
            if got not in allowed:
                wrong.append(f"{role}{' (htmx)' if htmx else ''}: got {got} "
                             f"({response.status_code})")  # fmt: skip
            changed = [t for t, v in table_fingerprint(world.app).items() if before[t] != v]
            if changed:
                wrong.append(f"{role}{' (htmx)' if htmx else ''}: changed {changed}")
    restore(world)
    assert wrong == [], f"{method} {fill(rule, world.ids, 'other')}\n  " + "\n  ".join(wrong)


def _in_form(ids):
    """(role, method, url, form or json) with another team's id in a field, never the URL."""
    own, other, users = ids["own"], ids["other"], ids["users"]
    return [
        ("lead", "POST", f"/meetings/{own['meeting']}/agenda", {"deal_id": other["deal"]}),
        ("lead", "POST", "/reports/adoption/gap",
         {"manager_id": users["manager_other"], "tool_id": ids["tool"]}),
        ("lead", "POST", "/meetings", {"team_id": ids["team_other"]}),
        ("manager", "POST", f"/meetings/{own['meeting']}/deals/{own['deal']}/tags",
         {"tool_id": other["draft"]}),
        ("manager", "POST", f"/meetings/{own['meeting']}/deals/{own['deal']}/key",
         {"tool_id": other["draft"]}),
        ("lead", "POST", f"/meetings/{own['meeting']}/deals/{own['deal']}/actions",
         {"text": "Позвонить", "owner_id": users["manager_other"]}),
        ("manager", "POST", f"/deals/{own['deal']}/sends",
         {"tool_id": other["draft"], "version": 1, "sent_at": "2026-11-20T10:00"}),
        ("lead", "POST", f"/deals/import/{ids['upload']}/managers",
         {"name": "Бета Менеджер", "action": "map", "user_id": users["manager_other"],
          "format": "auto"}),
        ("lead", "POST", f"/api/v1/meetings/{own['meeting']}/agenda", {"deal_id": other["deal"]}),
        ("lead", "POST", f"/api/v1/meetings/{own['meeting']}/reviews",
         {"deal_id": other["deal"], "tools": []}),
        ("lead", "POST", f"/api/v1/meetings/{own['meeting']}/action-items",
         {"text": "Позвонить", "owner_email": "m.beta@example.ru"}),
        ("manager", "POST", f"/api/v1/deals/{own['deal']}/proposal-sends",
         {"tool_id": other["draft"], "version": 1, "sent_at": "2026-11-20T10:00:00+03:00"}),
        ("lead", "POST", "/api/v1/meetings", {"team": "Бета"}),
    ]  # fmt: skip


def test_another_teams_ids_in_form_fields_are_refused_and_change_nothing(world):
    wrong = []
    for role, method, url, data in _in_form(world.ids):
        restore(world)
        before = table_fingerprint(world.app)
        client = browser(world, role) if not url.startswith("/api/") else world.app.test_client()
        if url.startswith("/api/"):
            response = client.open(
                url,
                method=method,
                json=data,
                headers={"Authorization": f"Bearer {world.tokens[role]}"},
            )
        else:
            response = client.open(url, method=method, data=data)
        response.close()
        if response.status_code not in (403, 404, 422):
            wrong.append(f"{role} {method} {url} {data}: {response.status_code}")
        changed = [t for t, v in table_fingerprint(world.app).items() if before[t] != v]
        if changed:
            wrong.append(f"{role} {method} {url} {data}: changed {changed}")
    restore(world)
    assert wrong == [], "\n".join(wrong)


def test_another_users_token_id_revokes_nothing(world):
    restore(world)
    before = table_fingerprint(world.app)
    response = browser(world, "lead").post(f"/profile/tokens/{world.ids['token_id']}/revoke")
    assert response.status_code in (302, 303, 404)
    assert table_fingerprint(world.app) == before
    answer = world.app.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['manager']}"}
    )
    assert answer.status_code == 200


# --- what lists, search, reports and exports show ----------------------------------------


def _text(response) -> str:
    """The body as text; an XLSX export is unzipped into its strings."""
    import html
    import io
    import zipfile

    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return "\n".join(book.read(n).decode("utf-8", "replace") for n in book.namelist()
                             if n.endswith(".xml"))  # fmt: skip
    return html.unescape(data.decode("utf-8-sig", "replace"))


LEAD_VIEWS = [
    "/",
    "/deals",
    "/deals?status=won",
    "/meetings",
    "/search?q=сделка",
    "/search?q=черновик",
    "/reports",
    "/reports/usage",
    "/reports/usage?format=csv",
    "/reports/usage?format=xlsx",
    "/reports/adoption",
    "/reports/adoption?format=csv",
    "/reports/adoption?format=xlsx",
    "/reports/deals",
    "/reports/deals?format=csv",
    "/reports/deals?format=xlsx",
    "/reports/proposals",
    "/reports/proposals?format=csv",
    "/reports/association",
    "/reports/association?format=csv",
    "/reports/before-after",
    "/reports/usage?team={team_other}",
    "/reports/deals?team={team_other}",
    "/reports/deals?team={team_other}&format=csv",
    "/reports/usage?team={team_other}&format=xlsx",
    "/meetings?team={team_other}",
    "/deals?team={team_other}",
    "/api/v1/deals",
    "/api/v1/meetings",
    "/api/v1/reports/tool-usage?format=csv",
    "/api/v1/reports/tool-usage?team={team_other}",
    "/api/v1/reports/dashboard",
    "/api/v1/reports/adoption?format=xlsx",
    "/api/v1/reports/win-association",
    "/api/v1/reports/proposal-reactions?tool_id={proposal_tool_other}",
]
MANAGER_VIEWS = [
    "/",
    "/deals",
    "/kb",
    "/kb?status=draft",
    "/search?q=черновик",
    "/search?q=Бета",
    "/meetings",
    "/api/v1/deals",
    "/api/v1/tools?status=draft",
    "/api/v1/search?q=черновик",
    "/api/v1/meetings",
    "/deals/new",
]


def _views(world, role, paths):
    ids = world.ids
    values = {"team_other": ids["team_other"],
              "proposal_tool_other": ids["other"]["proposal_tool"]}  # fmt: skip
    for path in paths:
        url = path.format(**values)
        if url.startswith("/api/"):
            client = world.app.test_client()
            response = client.get(url, headers={"Authorization": f"Bearer {world.tokens[role]}"})
        else:
            response = browser(world, role).get(url)
        response.close()
        yield url, response


@pytest.mark.parametrize("role,paths", [("lead", LEAD_VIEWS), ("manager", MANAGER_VIEWS)])
def test_lists_search_reports_and_exports_never_show_another_teams_rows(world, role, paths):
    restore(world)
    leaks = []
    for url, response in _views(world, role, paths):
        if response.status_code >= 500:
            leaks.append(f"{url}: {response.status_code}")
        else:
            text = _text(response)
            # staff see every draft; a manager sees only their own
            for mark in (SECRET_MARK,) if role != "manager" else (SECRET_MARK, DRAFT_MARK):
                if mark in text:
                    leaks.append(f"{url}: shows «{mark}»")
    assert leaks == [], "\n".join(leaks)


def test_a_leads_own_views_show_the_own_team(world):
    """The leak checks above mean something only if the same views show the own rows."""
    restore(world)
    for url in ("/deals", "/reports/deals?format=csv", "/api/v1/deals"):
        ((_, response),) = _views(world, "lead", [url])
        assert "Альфа сделка" in _text(response), url


def test_list_totals_count_only_what_the_user_may_see(world):
    restore(world)
    from portal.models import Deal, SalesTool

    with world.app.app_context():
        team_deals = db.session.query(Deal).filter_by(team_id=world.ids["team"]).count()
        own_deals = db.session.query(Deal).filter_by(
            manager_id=world.ids["users"]["manager"]).count()  # fmt: skip
        visible_tools = (
            db.session.query(SalesTool)
            .filter(
                (SalesTool.status != "draft")
                | (SalesTool.owner_id == world.ids["users"]["manager"])
            )
            .count()
        )
    headers = {"Authorization": f"Bearer {world.tokens['lead']}"}
    api = world.app.test_client()
    assert api.get("/api/v1/deals", headers=headers).get_json()["total"] == team_deals
    headers = {"Authorization": f"Bearer {world.tokens['manager']}"}
    assert api.get("/api/v1/deals", headers=headers).get_json()["total"] == own_deals
    assert api.get("/api/v1/tools", headers=headers).get_json()["total"] == visible_tools


def test_a_deactivated_users_session_and_token_are_refused_everywhere(world):
    restore(world)
    page = browser(world, "deactivated").get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = world.app.test_client()
    assert api.get("/api/v1/me",
                   headers={"Authorization": f"Bearer {world.tokens['deactivated']}"}
                   ).status_code == 401  # fmt: skip
    # the session cookie does not open the API either
    assert browser(world, "deactivated").get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("endpoint", ["reports.deals", "reports.usage", "reports.dashboard"])
def test_a_background_export_of_another_teams_report_holds_only_the_own_team(world, endpoint):
    from portal.jobs import runner
    from portal.models.jobs import Job

    restore(world)
    lead = browser(world, "lead")
    started = lead.post("/jobs/exports", data={
        "endpoint": endpoint, "format": "csv", "arg_team": world.ids["team_other"],
    })  # fmt: skip
    assert started.status_code == 303, started.status_code
    job_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    with world.app.app_context():
        assert runner.wait_for_job(job_id, 20), "the export did not finish"
        status = db.session.get(Job, job_id).status
    download = lead.get(f"/jobs/{job_id}/download")
    text = _text(download)
    download.close()
    if status == "done":
        assert download.status_code == 200
        assert SECRET_MARK not in text
    else:  # refused as the direct link would be; nothing to download
        assert download.status_code == 404
    assert browser(world, "lead_other").get(f"/jobs/{job_id}/download").status_code == 404
    if endpoint == "reports.deals":  # the same export of the own team does list its deals
        own = lead.post("/jobs/exports", data={"endpoint": endpoint, "format": "csv"})
        own_id = int(own.headers["Location"].rstrip("/").split("/")[-1])
        with world.app.app_context():
            assert runner.wait_for_job(own_id, 20)
        download = lead.get(f"/jobs/{own_id}/download")
        text = _text(download)
        download.close()
        assert "Альфа сделка" in text
    assert browser(world, "head").get(f"/jobs/{job_id}").status_code == 404
    restore(world)


@pytest.mark.parametrize("role", ["lead", "manager"])
def test_people_pickers_and_filters_list_only_the_own_team(world, role):
    restore(world)
    paths = ["/deals", "/deals/new", f"/deals/{world.ids['own']['deal']}/edit",
             f"/meetings/{world.ids['own']['meeting']}"]  # fmt: skip
    if role == "lead":
        paths += ["/reports/adoption", "/reports/usage", f"/deals/import/{world.ids['upload']}"]
    shown = [url for url, response in _views(world, role, paths)
             if "Бета Менеджер" in _text(response)]  # fmt: skip
    assert shown == []
