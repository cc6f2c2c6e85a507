"""SQLAlchemy models, one module per domain."""

from .users import ApiToken, LoginAttempt, Role, Team, User, UserSession

__all__ = ["ApiToken", "LoginAttempt", "Role", "Team", "User", "UserSession"]
