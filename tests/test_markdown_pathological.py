"""Markdown built to make the renderer slow or crash: each renders within a second or is
refused at save time with a message on the field (422), in the form and in the API."""

from __future__ import annotations

import time

import pytest

from portal.web.markdown import MAX_MARKDOWN_CHARS, markdown_problem, render_markdown

from .conftest import page_text

pytestmark = pytest.mark.usefixtures("fast_passwords")

BUDGET = 1.0  # seconds of this thread's CPU time
WALL_BUDGET = 5 * BUDGET  # slack for a machine busy with other work (parallel CI jobs)

PATHOLOGICAL = {
    "10k nested quotes": "> " * 10_000 + "глубоко",
    "quotes nested line by line": "\n".join(">" * i + " x" for i in range(1, 400)),
    "100k asterisks": "*" * 100_000,
    "100k underscores": "_" * 100_000,
    "emphasis chain": "**a *b _c " * 15_000,
    "deep nested list": "\n".join("    " * i + "- пункт" for i in range(1_000)),
    "deep list by two spaces": "\n".join("  " * i + "- x" for i in range(400)),
    "quote and list mixed": "> - " * 5_000 + "x",
    "huge table": "|" + "a|" * 200 + "\n|" + "-|" * 200 + "\n" + ("|" + "x|" * 200 + "\n") * 300,
    "long table": "|a|b|\n|-|-|\n" + "|x|y|\n" * 20_000,
    "link chain": "[a](b)" * 30_000,
    "unclosed brackets": "[" * 50_000 + "a",
    "unclosed link targets": "[a](" * 40_000,
    "image chain": "![a](" * 20_000,
    "unclosed tags": "<a " * 20_000,
    "nested html": "<div>" * 20_000,
    "entities": "&amp;" * 40_000,
    "setext headings": "a\n=\n" * 30_000,
    "horizontal rules": "---\n" * 30_000,
    "headings": "# a\n" * 30_000,
    "backticks": "`" * 100_000,
    "code spans": "`a` " * 30_000,
    "fences": "```\n" * 30_000,
    "too long": "ж" * (MAX_MARKDOWN_CHARS + 1),
    "backslashes": "\\" * MAX_MARKDOWN_CHARS,
    "lines of backslashes": ("\\" * 1_000 + "\n") * 190,
    "escaped marks": "\\!" * 60_000,
    "flat list": "- x\n" * 50_000,
    "flat plus list": "+ x\n" * 50_000,
    "numbered list": "1. x\n" * 40_000,
    "empty quote lines": ">\n" * 100_000,
}
CASES = list(PATHOLOGICAL.items())
IDS = list(PATHOLOGICAL)


class Elapsed(float):
    """CPU seconds of the call, compared with BUDGET; wall seconds checked against WALL_BUDGET."""

    wall: float


def _timed(call):
    wall, cpu = time.perf_counter(), time.thread_time()
    result = call()
    elapsed = Elapsed(time.thread_time() - cpu)
    elapsed.wall = time.perf_counter() - wall
    assert elapsed.wall < WALL_BUDGET, f"{elapsed.wall:.2f} s wall time"
    return result, elapsed


@pytest.mark.parametrize(("name", "text"), CASES, ids=IDS)
def test_render_is_fast_or_falls_back_to_plain_text(name, text):
    html, elapsed = _timed(lambda: render_markdown(text))
    assert elapsed < BUDGET, f"{name}: {elapsed:.2f} s"
    assert "<script" not in str(html)


@pytest.mark.parametrize("text", ["> " * 10_000 + "x", "[" * 5_000, "<a " * 5_000])
def test_refused_markdown_is_shown_as_escaped_text(text):
    html = str(render_markdown(text))
    assert markdown_problem(text) is not None
    assert "<blockquote>" not in html and "<a " not in html
    assert html.startswith("<p>")


def test_ordinary_markdown_has_no_problem():
    text = "# КП\n\n> цитата\n\n- пункт\n    - вложенный\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert markdown_problem(text) is None
    assert "<blockquote>" in str(render_markdown(text))


@pytest.fixture
def lead_token(make):
    lead = make.user(role="lead", team="Москва")
    return lead, make.token(lead)


@pytest.mark.parametrize(("name", "text"), CASES, ids=IDS)
def test_api_save_is_fast_or_refused_with_a_field_message(client, lead_token, name, text):
    _, token = lead_token
    headers = {"Authorization": f"Bearer {token}"}
    body = {"kind": "script", "title": "Патологический текст", "body": text}
    response, elapsed = _timed(lambda: client.post("/api/v1/tools", json=body, headers=headers))
    assert elapsed < BUDGET, f"{name}: save took {elapsed:.2f} s"
    if response.status_code == 422:
        assert response.json["error"]["fields"]["body"]
        return
    assert response.status_code == 201, response.json
    shown, elapsed = _timed(lambda: client.get(response.headers["Location"], headers=headers))
    assert shown.status_code == 200
    assert elapsed < BUDGET, f"{name}: reading it back took {elapsed:.2f} s"


@pytest.mark.parametrize(
    ("name", "text"),
    [(n, PATHOLOGICAL[n]) for n in ("10k nested quotes", "unclosed tags", "setext headings")],
)
def test_form_save_is_refused_with_a_message(client, sign_in, name, text):
    sign_in("lead")
    form = {"kind": "script", "title": "Патология", "body": text, "status": "draft"}
    response, elapsed = _timed(lambda: client.post("/kb/new", data=form))
    assert elapsed < BUDGET, f"{name}: {elapsed:.2f} s"
    assert response.status_code == 422
    with client.application.test_request_context(headers={"Accept-Language": "ru"}):
        expected = str(markdown_problem(text))  # the page speaks the default language
    assert expected in page_text(response)


def test_preview_of_pathological_markdown_is_fast(client, sign_in):
    sign_in("lead")
    response, elapsed = _timed(
        lambda: client.post("/kb/preview", data={"body": PATHOLOGICAL["unclosed tags"]})
    )
    assert response.status_code == 200
    assert elapsed < BUDGET


def test_lesson_with_pathological_markdown_is_refused(client, make, lead_token):
    lead, token = lead_token
    headers = {"Authorization": f"Bearer {token}"}
    manager = make.user(role="manager", team="Москва")
    deal = make.deal(manager)
    meeting = client.post("/api/v1/meetings", json={"team": "Москва"}, headers=headers).json
    response, elapsed = _timed(
        lambda: client.post(
            f"/api/v1/meetings/{meeting['id']}/reviews",
            json={"deal_id": deal.id, "tools": [], "lesson": "> " * 10_000 + "x"},
            headers=headers,
        )
    )
    assert elapsed < BUDGET
    assert response.status_code == 422
    assert response.json["error"]["fields"]["lesson"]
