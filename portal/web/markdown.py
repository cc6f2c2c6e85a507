"""Markdown → HTML that is safe to show: rendered with ``markdown``, cleaned with nh3."""

from __future__ import annotations

import functools
import re

import markdown as markdown_lib
import nh3
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

MAX_MARKDOWN_CHARS = 200_000
# Python-Markdown is quadratic (or recursive) in some constructs: deep quote/list nesting,
# unclosed brackets and tags, long runs of block-breaking lines and of emphasis markers.
# Text beyond these budgets is refused at save time and shown as plain text if already stored,
# so one hostile body cannot hold a worker for minutes.
MAX_NESTING = 16
MAX_BLOCK_LINES = 1_000  # headings, rules and setext underlines
MAX_CHAR_COUNTS = {"[": 500, "<": 1_000, "|": 5_000}
MAX_INLINE_MARKERS = 10_000  # * _ ` & and backslash escapes
MAX_LIST_LINES = 5_000  # list items and quoted lines
_BLOCK_LINE = re.compile(r"^[ \t]{0,3}(?:#|[-=*_][-=*_ \t]*$)", re.MULTILINE)
_LIST_LINE = re.compile(r"^[ \t]*(?:>|[-*+](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$))", re.MULTILINE)
_NESTING_PREFIX = re.compile(r"(?:[ \t]*(?:>|[-*+](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$)))+")

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s",
    "del", "ins", "mark", "sub", "sup", "blockquote", "code", "pre", "ul", "ol", "li", "dl",
    "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "a", "img", "abbr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "abbr": {"title"},
    "ol": {"start"},
}
# No javascript:, data:, vbscript: or anything else; relative links stay.
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    """Keep formatting, drop scripts, event handlers, hx-*/data-* attributes and bad URLs."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def _nesting_depth(line: str) -> int:
    match = _NESTING_PREFIX.match(line)
    prefix = match.group(0) if match else line[: len(line) - len(line.lstrip(" \t"))]
    markers = sum(1 for c in prefix if c == ">") + len(
        re.findall(r"[-*+\d][.)]?(?=[ \t]|$)", prefix)
    )
    indent = len(prefix.expandtabs(4)) - len(prefix.replace(" ", "").replace("\t", ""))
    return markers + indent // 4


def markdown_problem(text: str | None):
    """Why ``text`` cannot be saved as markdown (a translatable message), or None."""
    if not text:
        return None
    if len(text) > MAX_MARKDOWN_CHARS:
        return _l("The text is too long (200,000 characters at most).")
    if "\x00" in text:
        return _l("The text contains a NUL character.")
    if any(text.count(c) > limit for c, limit in MAX_CHAR_COUNTS.items()) or (
        sum(text.count(c) for c in "*_`&\\") > MAX_INLINE_MARKERS
    ):
        return _l(
            "The text has too much markup (brackets, tags, table cells or emphasis marks) to format."
        )
    if len(_BLOCK_LINE.findall(text)) > MAX_BLOCK_LINES:
        return _l("The text has too many headings or horizontal rules.")
    if len(_LIST_LINE.findall(text)) > MAX_LIST_LINES:
        return _l(
            "The text has too many list items or quoted lines (%(n)d at most).", n=MAX_LIST_LINES
        )
    if any(_nesting_depth(line) > MAX_NESTING for line in text.splitlines()):
        return _l("Quotes or lists are nested too deeply (%(n)d levels at most).", n=MAX_NESTING)
    return None


def plain_text_html(text: str) -> Markup:
    """Text shown as is: escaped paragraphs and line breaks, linear in its length."""
    paragraphs = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\x00", ""))
    return Markup("").join(
        Markup("<p>%s</p>") % Markup("<br>\n").join(escape(line) for line in p.split("\n"))
        for p in paragraphs
        if p.strip()
    )


def render_markdown(text: str | None) -> Markup:
    """Render user markdown to sanitised HTML, safe to put in a template as is.

    Text the markdown library would take too long on (see ``markdown_problem``) is shown
    as plain text instead. The same text always renders the same, so the HTML of recent
    texts is kept (a tool page or a meeting slide is read far more often than written)."""
    if not text:
        return Markup("")
    text = text[:MAX_MARKDOWN_CHARS]
    if len(text) <= CACHED_TEXT_CHARS:
        return Markup(_rendered_cached(text))
    return Markup(_rendered(text))


# At most 512 × 20,000 characters of text and their HTML: about 30 MB per worker at worst,
# under 5 MB for the knowledge base's usual 1–5 KB bodies.
CACHED_TEXT_CHARS = 20_000


def _rendered(text: str) -> str:
    if markdown_problem(text) is not None:
        return plain_text_html(text)
    try:
        html = markdown_lib.markdown(
            text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html"
        )
    except RecursionError:
        return plain_text_html(text)
    return sanitize_html(html)


_rendered_cached = functools.lru_cache(maxsize=512)(_rendered)
