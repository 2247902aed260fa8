"""Accounts, roles and who may see what, for team mode.

In single-user mode (the default) there are no accounts: whoever opens the app owns every
session. In team mode (``team_mode = true``) everyone signs in, and three roles apply:

- a **rep** sees only their own sessions and progress;
- a **manager** sees their own and those of every member of their team;
- **enablement** writes and publishes personas in the studio (and sees only their own sessions).

An admin adds accounts, sets passwords, disables, enables and removes them, changes a role or a
team, and hands sessions over (``adopt``); each change is written to the audit log with who made
it. A disabled account cannot sign in, and is refused at its next request if already signed in.
Passwords are hashed with scrypt (``roleplay.team.passwords``); a password is never stored,
logged, audited or put in an error message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from roleplay.errors import InvalidInput
from roleplay.rendering import counted
from roleplay.storage import Store
from roleplay.team.passwords import SCRYPT_N, dummy_hash, hash_password, verify_password

log = logging.getLogger(__name__)


class UserRole(StrEnum):
    REP = "rep"
    MANAGER = "manager"
    ENABLEMENT = "enablement"


class AuditAction(StrEnum):
    SIGN_IN = "sign-in"
    SIGN_IN_FAILED = "sign-in-failed"  # a wrong password, or a name that is no account
    SIGN_IN_REFUSED = "sign-in-refused"  # throttled, or a disabled account
    ADD = "add"
    PASSWD = "passwd"
    DISABLE = "disable"
    ENABLE = "enable"
    REMOVE = "remove"
    SET_ROLE = "set-role"
    SET_TEAM = "set-team"
    ADOPT = "adopt"
    DELETE_SESSION = "delete-session"  # a session deleted for good, by its rep or an admin


class AccountError(InvalidInput):
    """An account cannot be created or changed; the message says why and how to fix it."""


MIN_PASSWORD_CHARS = 8
MAX_TEAM_CHARS = 64
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
DISABLED_MESSAGE = "This account is disabled; ask your admin to enable it."


def normalized(username: str | None) -> str:
    """A username as stored: usernames are case-insensitive."""
    return (username or "").strip().lower()


class User(BaseModel):
    username: str
    role: UserRole
    team: str | None = None
    disabled: bool = False


class AuditEntry(BaseModel):
    """One line of the audit log: a sign-in or an admin's change."""

    at: datetime
    action: AuditAction
    #: The account concerned; ``None`` for a sign-in with a name that is no account.
    account: str | None = None
    #: Who made a change (``cli:<OS user>`` for a command); ``None`` for a sign-in.
    actor: str | None = None
    #: The client's address, for a sign-in.
    address: str | None = None
    #: What changed, or why a sign-in failed.
    detail: dict[str, Any] | None = None


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
    """The accounts in the database, the changes an admin makes to them, and the rules of who may
    read which session. Every change takes ``actor``, who made it, for the audit log."""

    def __init__(self, store: Store, *, scrypt_n: int = SCRYPT_N):
        self.store = store
        self.scrypt_n = scrypt_n

    def add(self, username: str, password: str, role: UserRole | str, team: str | None = None, *,
            actor: str | None = None) -> User:
        """Create an account.

        Raises:
            AccountError: the username, password, role or team is not acceptable (the message
                says how to fix it; it never contains the password).
        """
        user = User(username=self._check_username(username), role=self._check_role(role), team=_check_team(team))
        self._check_password(password)
        if user.role == UserRole.MANAGER and not user.team:
            raise AccountError("a manager needs a team (--team NAME): they see the sessions of that team")
        try:
            self.store.add_user(user.username, hash_password(password, n=self.scrypt_n), user.role.value, user.team)
        except ValueError as exc:
            raise AccountError(f"{exc}; pick another username") from None
        self._audit(AuditAction.ADD, user.username, actor, role=user.role.value, team=user.team)
        return user

    def set_password(self, username: str, password: str, *, actor: str | None = None) -> None:
        self._check_password(password)
        user = self._existing(username)
        self.store.update_user(user.username, password_hash=hash_password(password, n=self.scrypt_n))
        self._audit(AuditAction.PASSWD, user.username, actor)

    def set_role(self, username: str, role: UserRole | str, team: str | None = None, *,
                 actor: str | None = None) -> User:
        """Give an account another role (and, with ``team``, another team; else it keeps its own).

        Raises:
            AccountError: no such account, an unknown role, or a manager without a team.
        """
        user = self._existing(username)
        changed = user.model_copy(update={"role": self._check_role(role),
                                          "team": user.team if team is None else _check_team(team)})
        if changed.role == UserRole.MANAGER and not changed.team:
            raise AccountError(f"a manager needs a team: {user.username} has none; add --team NAME")
        self.store.update_user(user.username, role=changed.role.value, team=changed.team)
        self._audit(AuditAction.SET_ROLE, user.username, actor, role=changed.role.value, was=user.role.value,
                    **({"team": changed.team} if changed.team != user.team else {}))
        return changed

    def set_team(self, username: str, team: str | None, *, actor: str | None = None) -> User:
        """Move an account to ``team`` (``None``: no team).

        Raises:
            AccountError: no such account, or a manager left without a team.
        """
        user = self._existing(username)
        changed = user.model_copy(update={"team": _check_team(team)})
        if changed.role == UserRole.MANAGER and not changed.team:
            raise AccountError(f"a manager needs a team: give {user.username} one, or make them a rep first "
                               f"(`roleplay users set-role {user.username} rep`)")
        self.store.update_user(user.username, team=changed.team)
        self._audit(AuditAction.SET_TEAM, user.username, actor, team=changed.team, was=user.team)
        return changed

    def set_disabled(self, username: str, disabled: bool, *, actor: str | None = None) -> bool:
        """Disable (or enable) an account; ``False`` if it already was so.

        A disabled account keeps its sessions (its manager still sees them) but cannot sign in,
        and a browser already signed in as it is refused at its next request.

        Raises:
            AccountError: no such account.
        """
        changed = self.store.set_disabled(normalized(username), disabled)
        if changed is None:
            raise _no_account(username)
        if changed:
            self._audit(AuditAction.DISABLE if disabled else AuditAction.ENABLE, normalized(username), actor)
        return changed

    def remove(self, username: str, *, delete_sessions: bool = False, actor: str | None = None) -> int:
        """Delete an account. One that owns sessions is kept unless ``delete_sessions``, which
        deletes them too: nothing is lost without being asked for by name.

        Returns:
            The number of sessions deleted with it.

        Raises:
            AccountError: no such account, or it owns sessions (the message says the ways on).
        """
        name = normalized(username)
        owned = self.store.remove_user(name, delete_sessions=delete_sessions)
        if owned is None:
            raise _no_account(username)
        if owned and not delete_sessions:
            raise AccountError(
                f"{name} owns {counted(owned, 'session')}, so the account was kept. To keep the sessions, disable the "
                f"account instead (`roleplay users disable {name}`: its manager still sees them), or hand them "
                f"to someone first (`roleplay users adopt OTHER --from {name}`); to delete them with the "
                f"account, add --delete-sessions"
            )
        self._audit(AuditAction.REMOVE, name, actor, sessions_deleted=owned)
        return owned

    def adopt(self, username: str, from_owner: str | None = None, *, actor: str | None = None) -> int:
        """Give ``username`` the sessions of ``from_owner`` (``None``: those made in single-user
        mode, which have no owner); how many.

        Raises:
            AccountError: ``username`` is no account, or is ``from_owner``.
        """
        user = self._existing(username)
        source = normalized(from_owner) if from_owner is not None else None
        if source == user.username:
            raise AccountError(f"the sessions of {source} are already theirs; --from names someone else")
        count = self.store.reassign_sessions(source, user.username)
        if count:
            self._audit(AuditAction.ADOPT, user.username, actor, sessions=count, source=source)
        return count

    def delete_session(self, session_id: str, *, actor: str | None = None) -> dict[str, int] | None:
        """Delete a session for good, with everything of it (``Store.delete_session``), and audit
        it under its owner's account. Deciding who may is the caller's (the app: its rep).

        Returns:
            How many rows went, by table; ``None`` if there is no such session.
        """
        exists, owner = self.store.session_owner(session_id)
        deleted = self.store.delete_session(session_id) if exists else None
        if deleted is not None:
            self._audit(AuditAction.DELETE_SESSION, owner, actor, session_id=session_id)
        return deleted

    def check(self, username: str, password: str) -> User | None:
        """The user whose password this is, disabled or not; else ``None`` (same cost either way)."""
        row = self.store.get_user(normalized(username))
        ok = verify_password(password or "", row["password_hash"] if row else dummy_hash())
        return _user(row) if ok and row else None

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if ``password`` is theirs and the account is not disabled, else ``None``."""
        user = self.check(username, password)
        if user is None or user.disabled:
            log.info("sign-in refused for %r", (username or "")[:64])
            return None
        return user

    def audit(self, limit: int = 50, account: str | None = None) -> list[AuditEntry]:
        """The latest entries of the audit log, newest first (of one account, or all)."""
        rows = self.store.audit_rows(limit, normalized(account) if account else None)
        return [AuditEntry(at=r["created_at"], **{k: r[k] for k in ("action", "account", "actor", "address",
                                                                    "detail")}) for r in rows]

    def record(self, action: AuditAction, account: str | None, *, actor: str | None = None,
               address: str | None = None, at: datetime | None = None, **detail: Any) -> None:
        """Write one entry to the audit log (``detail`` must never hold a password)."""
        self.store.add_audit(action.value, account, actor=actor, address=address, detail=detail or None, at=at)

    def _audit(self, action: AuditAction, account: str | None, actor: str | None, **detail: Any) -> None:
        """Audit and log an admin's change."""
        self.record(action, account, actor=actor, **detail)
        log.info("account %s: %s by %s %s", account, action.value, actor or "?", detail or "")

    def _existing(self, username: str) -> User:
        user = self.get(username)
        if user is None:
            raise _no_account(username)
        return user

    def get(self, username: str | None) -> User | None:
        row = self.store.get_user(normalized(username)) if username else None
        return _user(row) if row else None

    def users(self, team: str | None = None) -> list[User]:
        return [_user(r) for r in self.store.list_users(team)]

    @property
    def empty(self) -> bool:
        return not self.store.list_users()

    def viewer(self, username: str | None, team_mode: bool) -> Viewer:
        """The viewer for a request signed in as ``username``.

        Raises:
            PermissionError: team mode and nobody (or an account that no longer exists, or is
                disabled) signed in.
        """
        if not team_mode:
            return Viewer()
        user = self.get(username)
        if user is None:
            raise PermissionError("Sign in to use the app.")
        if user.disabled:
            raise PermissionError(DISABLED_MESSAGE)
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
        name = normalized(username)
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


def _check_team(team: str | None) -> str | None:
    """A team name as stored (``None`` for none)."""
    name = (team or "").strip()
    if len(name) > MAX_TEAM_CHARS:
        raise AccountError(f"the team name is too long: use at most {MAX_TEAM_CHARS} characters")
    return name or None


def _no_account(username: str | None) -> AccountError:
    return AccountError(f"there is no account '{normalized(username)}' (see `roleplay users list`)")


def _user(row: dict) -> User:
    return User(username=row["username"], role=UserRole(row["role"]), team=row["team"],
                disabled=bool(row.get("disabled")))
