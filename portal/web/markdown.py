"""Markdown → HTML that is safe to show: rendered with ``markdown``, cleaned with nh3."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from markupsafe import Markup

MAX_MARKDOWN_CHARS = 200_000

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


def render_markdown(text: str | None) -> Markup:
    """Render user markdown to sanitised HTML, safe to put in a template as is."""
    if not text:
        return Markup("")
    text = text[:MAX_MARKDOWN_CHARS]
    html = markdown_lib.markdown(
        text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html"
    )
    return Markup(sanitize_html(html))
