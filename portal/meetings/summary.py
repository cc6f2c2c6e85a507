"""The meeting summary as Markdown, for the download and for pasting into chats."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from ..web.formatting import long_date, money
from .services import MeetingSummary


def _line(text: str) -> str:
    """One line of user text, safe inside a Markdown list item."""
    return " ".join((text or "").split())


def summary_markdown(summary: MeetingSummary) -> str:
    meeting = summary.meeting
    title = meeting.title or _("Planning meeting")
    out = [
        f"# {_line(title)} — {meeting.team.name}, {meeting.week}",
        "",
        _("Status: %(status)s.", status=_("closed") if not meeting.is_open else _("open")),
        _(
            "Deals reviewed: %(n)d of %(total)d.",
            n=len(summary.reviews),
            total=summary.agenda_total,
        ),
        _(
            "Permalink: %(url)s",
            url=url_for("meetings.summary", meeting_id=meeting.id, _external=True),
        ),  # fmt: skip
        "",
        f"## {_('Deals reviewed')}",
    ]
    for review in summary.reviews:
        deal = review.deal
        out.append(
            f"- **{_line(deal.title)}** — {_line(deal.client)}, "
            f"{money(deal.amount, deal.currency)}, {deal.manager.name}"
            + (f" ({_('lost')})" if deal.status == "lost" else "")
        )
        for tag in review.tools:
            version = f" v{tag.version}" if tag.version else ""
            key = f" — {_('key move')}" if review.key_tool_id == tag.tool_id else ""
            out.append(f"  - {_line(tag.tool.title)}{version}{key}")
    out += ["", f"## {_('Tools used')}"]
    for count in summary.tools:
        versions = ", ".join(f"v{v}" for v in count.versions)
        out.append(
            f"- {_line(count.tool.title)}: {count.uses}" + (f" ({versions})" if versions else "")
        )
    out += ["", f"## {_('Key moves')}"]
    for review in summary.key_moves:
        out.append(f"- {_line(review.key_tool.title)} — {_line(review.deal.title)}")
    out += ["", f"## {_('Lessons learned')}"]
    for review in summary.lessons:
        out.append(f"### {_line(review.deal.title)}")
        out.append(review.lesson)
        out.append("")
    out += ["", f"## {_('New knowledge-base drafts')}"]
    for tool in summary.drafts:
        out.append(
            f"- {_line(tool.title)} — " + url_for("kb.tool", tool_id=tool.id, _external=True)
        )
    out += ["", f"## {_('Action items')}"]
    for item in summary.action_items + summary.carried_over:
        box = "[x]" if item.done else "[ ]"
        owner = item.owner.name if item.owner else _("no owner")
        due = f", {_('due')} {long_date(item.due_date)}" if item.due_date else ""
        out.append(f"- {box} {_line(item.text)} — {owner}{due}")
    return "\n".join(out).rstrip() + "\n"
