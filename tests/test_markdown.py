"""The sanitiser against hostile markdown and HTML."""

import pytest
from markupsafe import Markup

from portal.web.markdown import render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x]( javascript:alert(1))",
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="java&#10;script:alert(1)">x</a>',
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
    '<div hx-get="/admin/users" hx-trigger="load">x</div>',
    '<div data-hx-post="/logout" data-hx-trigger="load">x</div>',
    '<p hx-on:click="alert(1)">x</p>',
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<form action="/logout" method="post"><button>x</button></form>',
    "<style>body{display:none}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<object data="x.swf"></object>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
]
FORBIDDEN = [
    "<script", "onerror", "onload", "javascript:", "vbscript:", "data:", "hx-", "data-hx",
    "<iframe", "<form", "<style", "style=", "<object", "<meta", "<svg",
]  # fmt: skip


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_is_neutralised(source):
    html = str(render_markdown(source)).lower()
    for needle in FORBIDDEN:
        assert needle not in html, f"{needle!r} survived in {html!r}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**жирный**", "<strong>жирный</strong>"),
        ("[сайт](https://tehpromsnab.ru)", 'href="https://tehpromsnab.ru"'),
        ("[почта](mailto:sales@tehpromsnab.ru)", 'href="mailto:sales@tehpromsnab.ru"'),
        ("| Позиция | Цена |\n|---|---|\n| Компрессор | 1 250 000 ₽ |", "<td>1 250 000 ₽</td>"),
        ("1. первый\n2. второй", "<ol>"),
    ],
)
def test_ordinary_formatting_survives(source, expected):
    assert expected in str(render_markdown(source))


def test_links_get_a_safe_rel():
    assert 'rel="noopener noreferrer nofollow"' in str(render_markdown("[a](https://x.ru)"))


def test_a_text_rendered_again_comes_from_the_cache_sanitised_and_safe():
    source = "**Скрипт** <script>alert(1)</script> [ссылка](javascript:alert(1))"
    first, second = render_markdown(source), render_markdown(source)
    assert str(first) == str(second)
    assert "<strong>Скрипт</strong>" in str(second)
    assert "<script" not in str(second).lower() and "javascript:" not in str(second).lower()
    assert isinstance(second, Markup)


def test_long_texts_are_rendered_without_the_cache():
    source = "Абзац про возражение «дорого».\n\n" * 1_000  # 32,000 characters
    html = str(render_markdown(source))
    assert html.count("<p>") == 1_000
