"""Accounts, sign-in sessions, API tokens and login throttling."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import read_transaction, write_transaction
from ..extensions import db
from ..models import ApiToken, LoginAttempt, Role, Team, User, UserSession
from ..models.base import utcnow
from ..web.plain_text import clean_line

EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")
# Compared against when the e-mail is unknown, so a wrong e-mail costs as much
# time as a wrong password and timing does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password-at-all")
API_TOKEN_PREFIX = "plk_"
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class AccountError(ValueError):
    """A rule about accounts was broken; ``field`` names the input at fault."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_email(email: str) -> str:
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(_l("Enter a valid e-mail address."), "email")
    return email


def validate_password(password: str, min_length: int = 10) -> str:
    if len(password or "") < min_length:
        raise AccountError(
            _l("The password must be at least %(n)d characters long.", n=min_length), "password"
        )
    if len(password) > 1024:
        raise AccountError(_l("The password is too long."), "password")
    return password


def hash_password(password: str) -> str:
    # werkzeug's default is scrypt with a random salt.
    return generate_password_hash(password)


def parse_role(role: str) -> Role:
    try:
        return Role((role or "").strip().lower())
    except ValueError:
        raise AccountError(
            _l("The role must be one of: %(roles)s.", roles=", ".join(r.value for r in Role)),
            "role",
        ) from None


def get_or_create_team(name: str) -> Team:
    name = " ".join(clean_line(name).split())
    if not name:
        raise AccountError(_l("The team needs a name."), "team")
    team = db.session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
    if team is None:
        team = Team(name=name)
        db.session.add(team)
        db.session.flush()
    return team


def create_team(name: str) -> Team:
    """Create a team; a second team of the same name (any case) is refused."""
    name = " ".join(clean_line(name).split())
    if not name:
        raise AccountError(_l("The team needs a name."), "name")
    if db.session.scalar(select(Team.id).where(func.lower(Team.name) == name.lower())):
        raise AccountError(_l("A team with this name already exists."), "name")
    team = Team(name=name)
    db.session.add(team)
    db.session.commit()
    return team


def update_team(team: Team, name: str, is_active: bool) -> Team:
    name = " ".join(clean_line(name).split())
    if not name:
        raise AccountError(_l("The team needs a name."), "name")
    clash = db.session.scalar(
        select(Team.id).where(func.lower(Team.name) == name.lower(), Team.id != team.id)
    )
    if clash:
        raise AccountError(_l("A team with this name already exists."), "name")
    team.name = name
    team.is_active = is_active
    db.session.commit()
    return team


def create_user(
    email: str,
    name: str,
    role: str,
    password: str,
    team_name: str | None = None,
    team: Team | None = None,
    locale: str = "ru",
    min_password_length: int = 10,
) -> User:
    """Create an active user; ``team_name`` creates that team when it does not exist."""
    email = validate_email(email)
    name = " ".join(clean_line(name).split())
    if not name:
        raise AccountError(_l("Enter the person's name."), "name")
    role_value = parse_role(role)
    validate_password(password, min_password_length)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(_l("A user with this e-mail already exists."), "email")
    if team is None and team_name:
        team = get_or_create_team(team_name)
    user = User(
        email=email,
        name=name,
        role=role_value.value,
        team=team,
        password_hash=hash_password(password),
        locale=locale if locale in ("ru", "en") else "ru",
    )
    db.session.add(user)
    db.session.commit()
    return user


def update_user(
    user: User,
    *,
    email: str,
    name: str,
    role: str,
    team: Team | None,
    locale: str,
    new_password: str | None = None,
    min_password_length: int = 10,
) -> User:
    """Admin edit of a user; a new password or a role change signs them out everywhere."""
    email = validate_email(email)
    if db.session.scalar(select(User.id).where(User.email == email, User.id != user.id)):
        raise AccountError(_l("A user with this e-mail already exists."), "email")
    name = " ".join(clean_line(name).split())
    if not name:
        raise AccountError(_l("Enter the person's name."), "name")
    role_value = parse_role(role)
    sign_out = role_value.value != user.role
    user.email, user.name, user.role, user.team = email, name, role_value.value, team
    user.locale = locale if locale in ("ru", "en") else user.locale
    if new_password:
        validate_password(new_password, min_password_length)
        user.password_hash = hash_password(new_password)
        sign_out = True
    if sign_out:
        _revoke_sessions(user)
    db.session.commit()
    return user


def set_user_active(user: User, active: bool) -> User:
    """Deactivation ends every session of the user and stops their API tokens working."""
    user.is_active = active
    user.deactivated_at = None if active else utcnow()
    if not active:
        _revoke_sessions(user)
    db.session.commit()
    return user


def set_locale(user: User, locale: str) -> None:
    if locale in ("ru", "en"):
        user.locale = locale
        db.session.commit()


# --- signing in -------------------------------------------------------------------


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    throttled: bool = False


def _recent_failures(column, value: str, since: datetime) -> int:
    return db.session.scalar(
        select(func.count(LoginAttempt.id)).where(column == value, LoginAttempt.created_at >= since)
    )


def authenticate(
    email: str, password: str, ip: str, *, max_failures: int, window_seconds: int
) -> SignInResult:
    """Check a password, counting failures per e-mail and per address.

    After ``max_failures`` failures within the window the e-mail is refused without
    checking the password; an address gets four times as many tries (shared offices).
    """
    email = normalize_email(email)[:254]
    ip = (ip or "unknown")[:64]
    since = utcnow() - timedelta(seconds=window_seconds)
    # Read, then check the (deliberately slow) hash without holding the write lock.
    db.session.commit()
    with read_transaction():
        if (
            _recent_failures(LoginAttempt.email, email, since) >= max_failures
            or _recent_failures(LoginAttempt.ip, ip, since) >= max_failures * 4
        ):
            db.session.commit()
            return SignInResult(None, throttled=True)
        user = db.session.scalar(select(User).where(User.email == email))
        hash_to_check = user.password_hash if user is not None else _DUMMY_HASH
        active = user is not None and user.is_active
        db.session.commit()
    password_ok = check_password_hash(hash_to_check, password or "")
    with write_transaction():
        if not (active and password_ok):
            db.session.add(LoginAttempt(email=email, ip=ip))
            return SignInResult(None)
        db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    return SignInResult(user)


def start_session(user: User, user_agent: str = "") -> str:
    """Open a server-side session for ``user`` and return its secret token."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(token_hash=_sha256(token), user=user, user_agent=(user_agent or "")[:255])
    )
    db.session.commit()
    user.session_token = token
    return token


def load_session_user(token: str, idle_days: int = 14) -> User | None:
    """The active user of an unrevoked, recently used session, else None."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _sha256(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if now - row.last_seen_at > timedelta(days=idle_days):
        return None
    user = row.user
    if not user.is_active:
        return None
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        with write_transaction():  # any request, GET included, may touch the session
            row.last_seen_at = now
    user.session_token = token
    return user


def end_session(token: str | None) -> None:
    if not token:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _sha256(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()


def _revoke_sessions(user: User, keep_token: str | None = None) -> None:
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep_token:
        query = query.where(UserSession.token_hash != _sha256(keep_token))
    db.session.execute(query.values(revoked_at=utcnow()))


def change_password(
    user: User, current: str, new: str, confirm: str, *, min_length: int = 10
) -> None:
    """Change one's own password; every other session of the user is signed out."""
    if not check_password_hash(user.password_hash, current or ""):
        raise AccountError(_l("The current password is wrong."), "current_password")
    try:
        validate_password(new, min_length)
    except AccountError as error:  # name the field of the change-password form
        raise AccountError(error.message, "new_password") from None
    if new != confirm:
        raise AccountError(_l("The two new passwords differ."), "confirm_password")
    user.password_hash = hash_password(new)
    _revoke_sessions(user, keep_token=user.session_token)
    db.session.commit()


# --- API tokens ---------------------------------------------------------------------


def create_api_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """Make a bearer token; the secret is returned once and only its hash is kept."""
    name = " ".join(clean_line(name).split())[:80] or "API"
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_sha256(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.commit()
    return token, secret


def list_api_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_api_token(user: User, token_id: int) -> bool:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.commit()
    return True


def user_for_api_token(secret: str) -> User | None:
    """The active owner of an unrevoked token, or None."""
    if not secret or not secret.startswith(API_TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_SEEN_RESOLUTION:
        with write_transaction():  # GET requests of the API too
            token.last_used_at = now
    return token.user


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))
