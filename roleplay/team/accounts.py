"""Accounts, roles and who may see what, for team mode.

In single-user mode (the default) there are no accounts: whoever opens the app owns every
session. In team mode (``team_mode = true``) everyone signs in, and three roles apply:

- a **rep** sees only their own sessions and progress;
- a **manager** sees their own and those of every member of their team;
- **enablement** writes and publishes personas in the studio (and sees only their own sessions).

Passwords are hashed with scrypt (a per-user random salt, parameters stored with the hash, so
they can be raised later without breaking old accounts) and compared in constant time. A
password is never stored, logged or put in an error message.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from roleplay.errors import InvalidInput
from roleplay.storage import Store

log = logging.getLogger(__name__)


class UserRole(StrEnum):
    REP = "rep"
    MANAGER = "manager"
    ENABLEMENT = "enablement"


class AccountError(InvalidInput):
    """An account cannot be created or changed; the message says why and how to fix it."""


#: scrypt cost: N=2**15, r=8, p=1 is about 32 MiB and a few tens of milliseconds per check
#: (above the N=2**14 floor that OWASP's password storage cheat sheet gives for r=8).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD_CHARS = 8
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """The stored form of ``password``: ``scrypt$n$r$p$salt$hash`` (base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Does ``password`` match the stored hash? ``False`` for a malformed hash, never an error."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=256 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so a wrong username costs as long as a
    wrong password and the sign-in's timing does not tell which usernames exist."""
    return hash_password(secrets.token_hex(16))


class User(BaseModel):
    username: str
    role: UserRole
    team: str | None = None


@dataclass(frozen=True)
class Viewer:
    """Who is asking. ``user=None`` is single-user mode, where everything is allowed."""

    user: User | None = None

    @property
    def username(self) -> str | None:
        return self.user.username if self.user else None

    @property
    def team_mode(self) -> bool:
        return self.user is not None

    @property
    def can_publish(self) -> bool:
        """May write and publish personas (the studio)."""
        return self.user is None or self.user.role == UserRole.ENABLEMENT

    @property
    def is_manager(self) -> bool:
        return self.user is not None and self.user.role == UserRole.MANAGER


class Accounts:
    """The accounts in the database, and the rules of who may read which session."""

    def __init__(self, store: Store, *, scrypt_n: int = SCRYPT_N):
        self.store = store
        self.scrypt_n = scrypt_n

    def add(self, username: str, password: str, role: UserRole | str, team: str | None = None) -> User:
        """Create an account.

        Raises:
            AccountError: the username, password, role or team is not acceptable (the message
                says how to fix it; it never contains the password).
        """
        user = User(username=self._check_username(username), role=self._check_role(role), team=team or None)
        self._check_password(password)
        if user.role == UserRole.MANAGER and not user.team:
            raise AccountError("a manager needs a team (--team NAME): they see the sessions of that team")
        try:
            self.store.add_user(user.username, hash_password(password, n=self.scrypt_n), user.role.value, user.team)
        except ValueError as exc:
            raise AccountError(f"{exc}; pick another username") from None
        log.info("account %s created (role %s, team %s)", user.username, user.role.value, user.team)
        return user

    def set_password(self, username: str, password: str) -> None:
        self._check_password(password)
        if not self.store.update_user(username, password_hash=hash_password(password, n=self.scrypt_n)):
            raise AccountError(f"there is no account '{username}'")
        log.info("password of %s changed", username)

    def set_role(self, username: str, role: UserRole | str, team: str | None = None) -> None:
        if not self.store.update_user(username, role=self._check_role(role).value, team=team or None):
            raise AccountError(f"there is no account '{username}'")

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else ``None`` (same cost either way)."""
        row = self.store.get_user((username or "").strip().lower())
        ok = verify_password(password or "", row["password_hash"] if row else _dummy_hash())
        if not (ok and row):
            log.info("sign-in refused for %r", (username or "")[:64])
            return None
        return _user(row)

    def get(self, username: str | None) -> User | None:
        row = self.store.get_user(username) if username else None
        return _user(row) if row else None

    def users(self, team: str | None = None) -> list[User]:
        return [_user(r) for r in self.store.list_users(team)]

    @property
    def empty(self) -> bool:
        return not self.store.list_users()

    def viewer(self, username: str | None, team_mode: bool) -> Viewer:
        """The viewer for a request signed in as ``username``.

        Raises:
            PermissionError: team mode and nobody (or an account that no longer exists) signed in.
        """
        if not team_mode:
            return Viewer()
        user = self.get(username)
        if user is None:
            raise PermissionError("Sign in to use the app.")
        return Viewer(user)

    def visible_owners(self, viewer: Viewer) -> list[str] | None:
        """Whose sessions ``viewer`` may read: ``None`` means everyone's (single-user mode)."""
        if viewer.user is None:
            return None
        if viewer.is_manager:
            members = [u.username for u in self.users(team=viewer.user.team)]
            return sorted({viewer.user.username, *members})
        return [viewer.user.username]

    def can_read(self, viewer: Viewer, owner: str | None) -> bool:
        """May ``viewer`` read (and continue) a session owned by ``owner``?"""
        owners = self.visible_owners(viewer)
        return owners is None or (owner is not None and owner in owners)

    def can_write(self, viewer: Viewer, owner: str | None) -> bool:
        """May ``viewer`` speak in, or end, a session owned by ``owner``? Only its owner (a
        manager reads their team's calls but does not take them over)."""
        return viewer.user is None or owner == viewer.user.username

    @staticmethod
    def _check_username(username: str) -> str:
        name = (username or "").strip().lower()
        if not _USERNAME.fullmatch(name):
            raise AccountError(
                f"the username {username!r} is not valid: use 2-64 lowercase letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return name

    @staticmethod
    def _check_role(role: UserRole | str) -> UserRole:
        try:
            return UserRole(role)
        except ValueError:
            raise AccountError(f"the role {role!r} is not one of: {', '.join(r.value for r in UserRole)}") from None

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password or "") < MIN_PASSWORD_CHARS:
            raise AccountError(f"the password is too short: use at least {MIN_PASSWORD_CHARS} characters")


def _user(row: dict) -> User:
    return User(username=row["username"], role=UserRole(row["role"]), team=row["team"])
