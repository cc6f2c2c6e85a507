"""SQLAlchemy models, one module per domain."""

from .tools import (
    PROPOSAL_KINDS,
    Attachment,
    SalesTool,
    SearchOutbox,
    SearchQueryLog,
    SearchSynonym,
    Segment,
    Tag,
    ToolEditProposal,
    ToolKind,
    ToolStatus,
    ToolVersion,
)
from .users import ApiToken, LoginAttempt, Role, Team, User, UserSession

__all__ = [
    "PROPOSAL_KINDS",
    "ApiToken",
    "Attachment",
    "LoginAttempt",
    "Role",
    "SalesTool",
    "SearchOutbox",
    "SearchQueryLog",
    "SearchSynonym",
    "Segment",
    "Tag",
    "Team",
    "ToolEditProposal",
    "ToolKind",
    "ToolStatus",
    "ToolVersion",
    "User",
    "UserSession",
]
