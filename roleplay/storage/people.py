"""The rows about people in team mode: accounts, disabled accounts, failed sign-ins, the audit log,
and who owns which session. ``Store`` has these methods; the hashing, the rules and the throttle
are in ``roleplay.team``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from roleplay.storage.records import utc_aware, without_nul
from roleplay.storage.tables import audit_log, disabled_users, metadata, sessions, sign_in_failures, users


def _now() -> datetime:
    return datetime.now(UTC)


class People:
    """Accounts and their traces, mixed into ``Store``, whose ``_begin`` (a transaction) and
    ``_connect`` (a read) these methods use."""

    _begin: Callable[[], contextlib.AbstractContextManager[Connection]]
    _connect: Callable[[], contextlib.AbstractContextManager[Connection]]

    # --- Accounts -----------------------------------------------------------------------------

    def add_user(self, username: str, password_hash: str, role: str, team: str | None) -> None:
        """Create an account; ``ValueError`` if the username is taken."""
        try:
            with self._begin() as conn:
                conn.execute(insert(users).values(
                    username=username, password_hash=password_hash, role=role, team=team, created_at=_now(),
                ))
        except IntegrityError:
            raise ValueError(f"the username '{username}' is taken") from None

    def get_user(self, username: str) -> dict[str, Any] | None:
        """The account row (with its password hash and ``disabled``), or ``None``."""
        query = _with_disabled(select(users)).where(users.c.username == username)
        with self._connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row is not None else None

    def list_users(self, team: str | None = None) -> list[dict[str, Any]]:
        """Accounts by username (without their password hashes), of one team or all."""
        query = _with_disabled(select(users.c.username, users.c.role, users.c.team, users.c.created_at))
        query = query.order_by(users.c.username)
        if team is not None:
            query = query.where(users.c.team == team)
        with self._connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def update_user(self, username: str, **values: Any) -> bool:
        """Change an account's ``password_hash``, ``role`` or ``team``; ``False`` if there is no such user."""
        with self._begin() as conn:
            result = conn.execute(update(users).where(users.c.username == username).values(**values))
        return result.rowcount > 0

    def set_disabled(self, username: str, disabled: bool) -> bool | None:
        """Disable or enable an account: ``True`` if that changed it, ``False`` if it already was
        so, ``None`` if there is no such account."""
        with self._begin() as conn:
            if conn.execute(select(users.c.username).where(users.c.username == username)).first() is None:
                return None
            was = conn.execute(select(disabled_users.c.username).where(disabled_users.c.username == username)).first()
            if disabled and was is None:
                conn.execute(insert(disabled_users).values(username=username, created_at=_now()))
            elif not disabled and was is not None:
                conn.execute(delete(disabled_users).where(disabled_users.c.username == username))
            return (was is None) == disabled

    def remove_user(self, username: str, delete_sessions: bool = False) -> int | None:
        """Delete an account in one transaction, if it owns no session or ``delete_sessions``
        (which deletes those sessions and everything of theirs with it).

        Returns:
            The sessions the account owned (deleted with it, or the reason it was kept), or
            ``None`` if there is no such account.
        """
        with self._begin() as conn:
            if conn.execute(select(users.c.username).where(users.c.username == username)).first() is None:
                return None
            owned = select(sessions.c.id).where(sessions.c.owner == username)
            count = conn.execute(select(func.count()).select_from(owned.subquery())).scalar_one()
            if count and not delete_sessions:
                return count
            if count:
                _delete_sessions(conn, owned)
            conn.execute(delete(disabled_users).where(disabled_users.c.username == username))
            conn.execute(delete(users).where(users.c.username == username))
        return count

    def reassign_sessions(self, from_owner: str | None, to_owner: str) -> int:
        """Give every session of ``from_owner`` (``None``: those of single-user mode, which have no
        owner) to ``to_owner``; how many."""
        owner = sessions.c.owner.is_(None) if from_owner is None else sessions.c.owner == from_owner
        with self._begin() as conn:
            return conn.execute(update(sessions).where(owner).values(owner=to_owner)).rowcount

    # --- Failed sign-ins (the throttle's state) -------------------------------------------------

    def add_sign_in_failure(self, name_key: str, address: str | None, at: datetime) -> None:
        with self._begin() as conn:
            conn.execute(insert(sign_in_failures).values(name_key=name_key, address=address, created_at=at))

    def sign_in_failures(self, since: datetime, *, name_key: str | None = None,
                         address: str | None = None) -> list[datetime]:
        """When the failed sign-ins after ``since`` of one name or from one address were, newest first."""
        query = select(sign_in_failures.c.created_at).where(sign_in_failures.c.created_at > since)
        if name_key is not None:
            query = query.where(sign_in_failures.c.name_key == name_key)
        if address is not None:
            query = query.where(sign_in_failures.c.address == address)
        with self._connect() as conn:
            found = conn.execute(query.order_by(sign_in_failures.c.created_at.desc())).scalars().all()
        return [utc_aware(at) for at in found]

    def forget_sign_in_failures(self, *, name_key: str | None = None, before: datetime | None = None) -> None:
        """Delete the failed sign-ins of one name (after it signed in), or those older than ``before``."""
        query = delete(sign_in_failures)
        if name_key is not None:
            query = query.where(sign_in_failures.c.name_key == name_key)
        if before is not None:
            query = query.where(sign_in_failures.c.created_at <= before)
        with self._begin() as conn:
            conn.execute(query)

    # --- The audit log -------------------------------------------------------------------------

    def add_audit(self, action: str, account: str | None, *, actor: str | None = None, address: str | None = None,
                  detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
        with self._begin() as conn:
            conn.execute(insert(audit_log).values(
                action=action, account=account, actor=actor, address=address, detail=without_nul(detail),
                created_at=at or _now(),
            ))

    def audit_rows(self, limit: int = 50, account: str | None = None) -> list[dict[str, Any]]:
        """The latest entries of the audit log, newest first (of one account, or all)."""
        query = select(audit_log).order_by(audit_log.c.created_at.desc(), audit_log.c.id.desc()).limit(limit)
        if account is not None:
            query = query.where(audit_log.c.account == account)
        with self._connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings().all()]
        for row in rows:
            row["created_at"] = utc_aware(row["created_at"])
        return rows


def _with_disabled(query: Any) -> Any:
    """``query`` over users, with a ``disabled`` column (is the account in ``disabled_users``)."""
    disabled = select(disabled_users.c.username).where(disabled_users.c.username == users.c.username).exists()
    return query.add_columns(disabled.label("disabled"))


def _delete_sessions(conn: Connection, ids: Any) -> dict[str, int]:
    """Delete the sessions ``ids`` (a select of their ids) and every row that belongs to them: every
    table with a ``session_id`` (turns, grades, reports, deliveries, recordings, the film consent…),
    and the links (``parent_id``) of retakes and follow-ups made from them, which stay as calls.

    Returns:
        How many rows went from each table, by table name (tables with none left out).
    """
    deleted: dict[str, int] = {}
    for table in reversed(metadata.sorted_tables):  # children before their parents
        for column in ("session_id", "parent_id"):
            if column in table.c:
                count = conn.execute(delete(table).where(table.c[column].in_(ids))).rowcount
                if count:
                    deleted[table.name] = deleted.get(table.name, 0) + count
    deleted[sessions.name] = conn.execute(delete(sessions).where(sessions.c.id.in_(ids))).rowcount
    return deleted

