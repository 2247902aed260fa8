"""The game film of a call, and deleting a call: ``Store`` has these methods.

A call's audio is kept only with the rep's consent, stored per session (``film_consents``):
``add_recording`` writes nothing without it, and withdrawing it deletes what was kept. The audio is
in the database (``recordings``), so it works the same on SQLite and PostgreSQL and from every
app process, and ``delete_session`` takes it with the rest of the call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from sqlalchemy import delete, insert, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from roleplay.storage.people import _delete_sessions
from roleplay.storage.records import Delivery, Recording
from roleplay.storage.tables import deliveries, film_consents, recordings, sessions, turns


class Films:
    """Consent, recordings and deleting a session, mixed into ``Store``, whose ``_begin`` (a
    transaction) and ``_connect`` (a read) these methods use."""

    _begin: Callable[[], contextlib.AbstractContextManager[Connection]]
    _connect: Callable[[], contextlib.AbstractContextManager[Connection]]

    def set_film(self, session_id: str, keep: bool) -> int:
        """Record the rep's choice for a session: keep its audio, or not.

        ``keep=False`` withdraws the consent and deletes the audio already kept, in one transaction.

        Returns:
            How many recordings were deleted (0 when keeping).
        """
        if keep:
            if not self.keeps_film(session_id):
                with contextlib.suppress(IntegrityError), self._begin() as conn:  # or another tab chose it too
                    conn.execute(insert(film_consents).values(session_id=session_id, created_at=datetime.now(UTC)))
            return 0
        with self._begin() as conn:
            conn.execute(delete(film_consents).where(film_consents.c.session_id == session_id))
            return conn.execute(delete(recordings).where(recordings.c.session_id == session_id)).rowcount

    def keeps_film(self, session_id: str) -> bool:
        """Did the rep choose to keep this session's audio?"""
        with self._connect() as conn:
            query = select(film_consents.c.session_id).where(film_consents.c.session_id == session_id)
            return conn.execute(query).first() is not None

    def add_recording(self, session_id: str, turn_id: int, audio: bytes, seconds: float,
                      mime: str = "audio/ogg") -> bool:
        """Keep the audio of turn ``turn_id`` if the session keeps its film; a turn keeps the first.

        The consent is read, locked, in the same transaction, so a withdrawal at the same moment
        either comes first (nothing is written) or deletes this recording too.

        Args:
            session_id: The session of the turn.
            turn_id: The turn whose words the audio says (a rep's reply or a prospect's line).
            audio: The encoded audio (``roleplay.voice.encode_opus``).
            seconds: How long it plays.
            mime: Its media type.

        Returns:
            Whether it was kept (``False``: no consent, or the turn already has its audio).
        """
        consent = select(film_consents.c.session_id).where(film_consents.c.session_id == session_id)
        row = {"session_id": session_id, "turn_id": turn_id, "mime": mime, "seconds": round(seconds, 3),
               "audio": audio, "created_at": datetime.now(UTC)}
        # One statement that writes only while the consent exists: atomic on SQLite (one writer).
        values = select(*(literal(v, recordings.c[k].type).label(k) for k, v in row.items())).where(consent.exists())
        try:
            with self._begin() as conn:
                if conn.dialect.name != "sqlite":  # a withdrawal waits for this write, or this for it
                    conn.execute(consent.with_for_update())
                if conn.execute(select(recordings.c.id).where(recordings.c.turn_id == turn_id)).first():
                    return False
                # (RETURNING, as psycopg gives no row count for an INSERT … SELECT)
                written = conn.execute(insert(recordings).from_select(list(row), values)
                                       .returning(recordings.c.id)).first()
        except IntegrityError:  # the turn's audio was kept meanwhile
            return False
        return written is not None

    def last_turn_id(self, session_id: str) -> int | None:
        """The id of the session's latest turn (the line a call just opened on), if any."""
        with self._connect() as conn:
            return conn.execute(select(turns.c.id).where(turns.c.session_id == session_id)
                                .order_by(turns.c.idx.desc()).limit(1)).scalar_one_or_none()

    def recordings_for(self, session_id: str) -> dict[int, Recording]:
        """The audio kept of a session, by turn id, in the order of the turns."""
        with self._connect() as conn:
            rows = conn.execute(
                select(recordings.c.turn_id, recordings.c.mime, recordings.c.seconds, recordings.c.audio)
                .where(recordings.c.session_id == session_id).order_by(recordings.c.turn_id)
            ).mappings().all()
        return {row["turn_id"]: Recording(**row) for row in rows}

    def deliveries_of(self, owners: Collection[str] | None = None) -> dict[int, Delivery]:
        """The delivery of every spoken reply in the sessions of ``owners`` (``None``: all), by turn id."""
        query = select(deliveries).join(sessions, sessions.c.id == deliveries.c.session_id)
        if owners is not None:
            query = query.where(sessions.c.owner.in_(list(owners)))
        with self._connect() as conn:
            rows = conn.execute(query.order_by(deliveries.c.turn_id)).mappings().all()
        return {row["turn_id"]: Delivery(turn_id=row["turn_id"], figures=row["figures"], prospect_s=row["prospect_s"])
                for row in rows}

    def delete_session(self, session_id: str) -> dict[str, int] | None:
        """Delete a session and everything of it, in one transaction: its turns, grades, report,
        deliveries, recordings and film consent, and its place in retakes and follow-ups (those
        calls stay, as calls of their own).

        Returns:
            How many rows went, by table name (``sessions`` 1); ``None`` if there is no such session.
        """
        with self._begin() as conn:
            if conn.execute(select(sessions.c.id).where(sessions.c.id == session_id)).first() is None:
                return None
            return _delete_sessions(conn, select(sessions.c.id).where(sessions.c.id == session_id))
