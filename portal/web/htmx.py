"""Small helpers so every htmx endpoint is also a full page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request", "").lower() == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def htmx_target() -> str | None:
    return request.headers.get("HX-Target") if is_htmx() else None


def wants_fragment(target_id: str) -> bool:
    """True when htmx asked to swap exactly the element ``target_id``."""
    return htmx_target() == target_id


def render_page_or_fragment(template: str, fragment: str, target_id: str, **context) -> str:
    """Render ``fragment`` (a partial of ``template``) for htmx, else the whole page."""
    if wants_fragment(target_id):
        return render_template(fragment, **context)
    return render_template(template, **context)


def safe_next_url(target: str | None) -> str | None:
    """``target`` if it is a same-site relative path, else None.

    Rejects absolute and scheme-relative URLs (``//evil``), backslash tricks
    (``/\\evil``), control characters and anything with a scheme or host.
    """
    if not target or len(target) > 2000:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
