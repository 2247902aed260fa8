"""Storage of sessions, turns, grades and reports (and, through ``People``, accounts; through
``Films``, recordings and deleting a session), through SQLAlchemy.

Any database URL works (``sqlite:///path.db`` by default, ``postgresql+psycopg://...``; the
tests run against both). Opening a store brings its database to the schema's head revision
(``roleplay.storage.migrations``). Every turn and grade is committed as soon as it exists, so a crash
loses nothing. Times are stored and returned as UTC-aware datetimes on every database.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from roleplay.judge import Grade
from roleplay.storage.films import Films
from roleplay.storage.jobs import Jobs, Lease
from roleplay.storage.migrations import upgrade
from roleplay.storage.people import People
from roleplay.storage.records import (
    Attempt,
    Delivery,
    NewTurn,
    ScoreRow,
    SessionRecord,
    TurnConflict,
    TurnRecord,
    audit_json,
    grade_from_row,
    utc_aware,
    without_nul,
)
from roleplay.storage.tables import (
    attempts,
    deliveries,
    drill_runs,
    follow_ups,
    grades,
    reports,
    sessions,
    turns,
)

log = logging.getLogger(__name__)
#: A turn appended at the end of its session (its position is the number of turns before it),
#: built once: SQLAlchemy then reuses its compiled form for every turn.
_INSERT_TURN = insert(turns).values(
    session_id=bindparam("sid"), speaker=bindparam("speaker"), text=bindparam("text"), move=bindparam("move"),
    # (None stays SQL NULL, as a literal None in ``values()`` is)
    state=bindparam("state", type_=JSON(none_as_null=True)), meta=bindparam("meta", type_=JSON(none_as_null=True)),
    created_at=bindparam("created_at"),
    idx=select(func.count()).select_from(turns).where(turns.c.session_id == bindparam("sid")).scalar_subquery(),
)


def _now() -> datetime:
    return datetime.now(UTC)


class Store(People, Jobs, Films):
    """The database behind the app. Safe to share between threads and between processes. The rows
    about people (accounts, sign-ins, the audit log) are ``People``'s methods, the grading jobs
    ``Jobs``', a call's audio and deleting a call ``Films``'."""

    def __init__(self, url: str):
        self._lock: Any = contextlib.nullcontext()
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if url in ("sqlite://", "sqlite:///:memory:"):
                # One shared connection, or each thread would see its own empty database;
                # the lock keeps threads from using that connection at the same time.
                kwargs["poolclass"] = StaticPool
                self._lock = threading.RLock()
        else:
            # A database server may restart under the app: check a pooled connection before use.
            kwargs["pool_pre_ping"] = True
        self.url = url
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # A new database is created at the head revision, an older one upgraded to it; one that
        # a newer release upgraded is refused (SchemaError).
        upgrade(self.engine)

    def close(self) -> None:
        """Close every pooled connection (the store can still be used; it reconnects)."""
        self.engine.dispose()

    @contextlib.contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self._lock, self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._lock, self.engine.connect() as conn:
            yield conn

    def create_session(
        self, persona_id: str, persona_version: str, persona: dict[str, Any],
        prompt_versions: dict[str, str], models: dict[str, str], owner: str | None = None,
    ) -> str:
        session_id = str(uuid.uuid4())
        with self._begin() as conn:
            conn.execute(insert(sessions).values(
                id=session_id, persona_id=persona_id, persona_version=persona_version, persona=without_nul(persona),
                prompt_versions=prompt_versions, models=without_nul(models), owner=owner, created_at=_now(),
            ))
        return session_id

    def add_turn(
        self, session_id: str, speaker: str, text: str, move: str | None = None,
        state: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
    ) -> int:
        """Append a turn to the session; returns its id. ``state`` also becomes the session's state."""
        return self.add_turns(session_id, [NewTurn(speaker=speaker, text=text, move=move, state=state, meta=meta)])[0]

    def add_turns(self, session_id: str, new: Sequence[NewTurn], at: int | None = None,
                  grading: Lease | None = None) -> list[int]:
        """Append ``new`` to the session in one transaction; returns their ids.

        Args:
            session_id: The session.
            new: The turns, in order. The last ``state`` given becomes the session's state.
            at: The position the first turn must take (the number of turns the writer saw): when
                another process has stored a turn since, or ended the session, nothing is stored.
            grading: When given, each rep turn gets its grading job, leased by it (``Jobs``).

        Raises:
            TurnConflict: the session is no longer at ``at``, or has ended (only with ``at``).
        """
        try:
            with self._begin() as conn:
                if conn.dialect.name != "sqlite":
                    # Writers of one session take turns (SQLite has a single writer anyway), so
                    # two turns never get the same position.
                    conn.execute(select(sessions.c.id).where(sessions.c.id == session_id).with_for_update())
                ids = [int(conn.execute(_INSERT_TURN, {
                    "sid": session_id, "speaker": turn.speaker, "text": without_nul(turn.text), "move": turn.move,
                    "state": turn.state, "meta": without_nul(turn.meta), "created_at": _now(),
                }).inserted_primary_key[0]) for turn in new]
                if at is not None:  # checked after the insert, which holds SQLite's write lock
                    first = conn.execute(select(turns.c.idx).where(turns.c.id == ids[0])).scalar_one()
                    ended = conn.execute(select(sessions.c.ended_by).where(sessions.c.id == session_id)).scalar()
                    if first != at or ended is not None:
                        raise TurnConflict(f"session {session_id} is at turn {first}, not {at}"
                                           + (f", and ended by the {ended}" if ended else ""))
                if (state := next((t.state for t in reversed(new) if t.state is not None), None)) is not None:
                    conn.execute(update(sessions).where(sessions.c.id == session_id).values(state=state))
                if grading is not None:
                    self._add_jobs(conn, session_id, [i for i, t in zip(ids, new, strict=True) if t.speaker == "rep"],
                                   grading)
                return ids
        except IntegrityError as exc:  # two writers got one position (where the unique index exists)
            if at is None or "idx" not in str(exc):
                raise
            raise TurnConflict(f"session {session_id} moved past turn {at}") from exc

    def progress(self, session_id: str) -> tuple[int, str | None, bool] | None:
        """How far a session has got, as any process sees it: its number of turns, who ended it
        and whether its report is written (``None``: no such session)."""
        count = select(func.count()).select_from(turns).where(turns.c.session_id == session_id).scalar_subquery()
        reported = select(reports.c.session_id).where(reports.c.session_id == session_id).exists()
        with self._connect() as conn:
            row = conn.execute(select(count, sessions.c.ended_by, reported).where(sessions.c.id == session_id)).first()
        return (int(row[0]), row[1], bool(row[2])) if row is not None else None

    def add_grade(self, session_id: str, turn_id: int, grade: Grade) -> None:
        """Store the grade of rep turn ``turn_id`` (its grading job is done); a turn keeps the
        first grade stored for it."""
        scores = grade.scores
        try:
            with self._begin() as conn:
                self._drop_job(conn, turn_id)
                conn.execute(insert(grades).values(
                    session_id=session_id, turn_id=turn_id, scored=grade.scored,
                    curiosity=scores.get("curiosity"), composure=scores.get("composure"),
                    restraint=scores.get("restraint"),
                    dimensions=without_nul({k.value: v.model_dump() for k, v in grade.dimensions.items()}),
                    unscored_reason=without_nul(grade.unscored_reason), prompt=without_nul(grade.prompt),
                    raw_output=without_nul(grade.raw_output), model=grade.model, prompt_hash=grade.prompt_hash,
                    signals=without_nul(audit_json(grade)), seconds=grade.seconds, created_at=_now(),
                ))
        except IntegrityError:
            if turn_id not in self.grades_for(session_id):
                raise
            with self._begin() as conn:
                self._drop_job(conn, turn_id)
            log.info("turn %s of session %s was already graded; the first grade stays", turn_id, session_id)

    def add_delivery(self, session_id: str, turn_id: int, figures: dict[str, Any],
                     prospect_s: float | None = None) -> None:
        """Store how rep turn ``turn_id`` was said (a spoken reply); a turn keeps the first one stored.

        Args:
            session_id: The session of the turn.
            turn_id: The rep's turn.
            figures: Its delivery (``ReplyDelivery`` as JSON).
            prospect_s: Seconds of the prospect's spoken answer, if it was spoken.
        """
        try:
            with self._begin() as conn:
                conn.execute(insert(deliveries).values(
                    session_id=session_id, turn_id=turn_id, figures=without_nul(figures), prospect_s=prospect_s,
                    created_at=_now(),
                ))
        except IntegrityError:
            if turn_id not in self.deliveries_for(session_id):
                raise
            log.info("turn %s of session %s already has its delivery; the first stays", turn_id, session_id)

    def deliveries_for(self, session_id: str) -> dict[int, Delivery]:
        """How the spoken replies of a session were said, by rep turn id, in the order of the turns."""
        with self._connect() as conn:
            rows = conn.execute(
                select(deliveries).where(deliveries.c.session_id == session_id).order_by(deliveries.c.turn_id)
            ).mappings().all()
        return {row["turn_id"]: Delivery(turn_id=row["turn_id"], figures=row["figures"], prospect_s=row["prospect_s"])
                for row in rows}

    def end_session(self, session_id: str, ended_by: str, state: dict[str, Any] | None) -> None:
        with self._begin() as conn:
            conn.execute(update(sessions).where(sessions.c.id == session_id).values(
                ended_at=_now(), ended_by=ended_by, state=state,
            ))

    def add_attempt(self, session_id: str, parent_id: str, at_reply: int) -> None:
        """Record that ``session_id`` takes reply ``at_reply`` of ``parent_id`` again."""
        with self._begin() as conn:
            conn.execute(insert(attempts).values(
                session_id=session_id, parent_id=parent_id, at_reply=at_reply, created_at=_now()))

    def add_drill_run(self, session_id: str, drill_id: str) -> None:
        """Record that ``session_id`` plays drill ``drill_id``."""
        with self._begin() as conn:
            conn.execute(insert(drill_runs).values(session_id=session_id, drill_id=drill_id, created_at=_now()))

    def add_follow_up(self, session_id: str, parent_id: str) -> None:
        """Record that ``session_id`` is the follow-up call of ``parent_id``."""
        with self._begin() as conn:
            conn.execute(insert(follow_ups).values(session_id=session_id, parent_id=parent_id, created_at=_now()))

    def save_report(self, session_id: str, body: dict[str, Any]) -> None:
        with self._begin() as conn:
            conn.execute(reports.delete().where(reports.c.session_id == session_id))
            conn.execute(insert(reports).values(session_id=session_id, body=without_nul(body), created_at=_now()))

    def grades_for(self, session_id: str) -> dict[int, Grade]:
        """Grades of a session keyed by the rep turn's id, in the order of the turns."""
        with self._connect() as conn:
            rows = conn.execute(
                select(grades).where(grades.c.session_id == session_id).order_by(grades.c.turn_id)
            ).mappings().all()
        return {row["turn_id"]: grade_from_row(row) for row in rows}

    def get_session(self, session_id: str) -> SessionRecord | None:
        with self._connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.id == session_id)).mappings().first()
            if row is None:
                return None
            turn_rows = conn.execute(
                select(turns).where(turns.c.session_id == session_id).order_by(turns.c.idx)
            ).mappings().all()
            report = conn.execute(
                select(reports.c.body).where(reports.c.session_id == session_id)
            ).scalar_one_or_none()
            related = conn.execute(
                select(attempts).where((attempts.c.session_id == session_id) | (attempts.c.parent_id == session_id))
                .order_by(attempts.c.created_at)
            ).mappings().all()
            drill_id = conn.execute(
                select(drill_runs.c.drill_id).where(drill_runs.c.session_id == session_id)
            ).scalar_one_or_none()
            follow_up_of = conn.execute(
                select(follow_ups.c.parent_id).where(follow_ups.c.session_id == session_id)
            ).scalar_one_or_none()
            called_back = conn.execute(
                select(follow_ups.c.session_id).where(follow_ups.c.parent_id == session_id)
                .order_by(follow_ups.c.created_at)
            ).scalars().all()
        found = [Attempt(session_id=r["session_id"], parent_id=r["parent_id"], reply=r["at_reply"]) for r in related]
        return SessionRecord(
            **dict(row), turns=[TurnRecord(**{k: r[k] for k in TurnRecord.model_fields}) for r in turn_rows],
            grades=self.grades_for(session_id), report=report, deliveries=self.deliveries_for(session_id),
            attempt_of=next((a for a in found if a.session_id == session_id), None),
            attempts=[a for a in found if a.parent_id == session_id], drill_id=drill_id,
            follow_up_of=follow_up_of, follow_ups=list(called_back),
        )

    def session_owner(self, session_id: str) -> tuple[bool, str | None]:
        """(does the session exist, its owner)."""
        with self._connect() as conn:
            row = conn.execute(select(sessions.c.owner).where(sessions.c.id == session_id)).first()
        return (row is not None, row[0] if row is not None else None)

    def list_sessions(
        self, owner: str | None = None, limit: int = 50, owners: Collection[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Most recent sessions first, with their persona, owner and end state.

        ``owner`` keeps one owner's sessions, ``owners`` those of any of them (``None``: all).
        """
        query = select(
            sessions.c.id, sessions.c.persona_id, sessions.c.owner, sessions.c.created_at, sessions.c.ended_by,
            sessions.c.ended_at,
        ).order_by(sessions.c.created_at.desc()).limit(limit)
        if owner is not None:
            query = query.where(sessions.c.owner == owner)
        if owners is not None:
            query = query.where(sessions.c.owner.in_(list(owners)))
        with self._connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings().all()]
        for row in rows:
            row["created_at"], row["ended_at"] = utc_aware(row["created_at"]), utc_aware(row["ended_at"])
        return rows

    def score_rows(self, owners: Collection[str] | None = None) -> list[ScoreRow]:
        """Every rep reply of the sessions of ``owners`` (``None``: all sessions), with its scores.

        One query over sessions, turns and grades. Replies not graded yet come with
        ``scored=None``; sessions without a rep reply do not appear. In a session that takes a
        reply again, the replies before it are the original's and are not counted twice.

        Args:
            owners: usernames (``sessions.owner``) to keep; ``None`` keeps every session.

        Returns:
            Rows ordered by session start, then by reply within the session.
        """
        query = (
            select(
                sessions.c.owner, sessions.c.id.label("session_id"), sessions.c.created_at.label("session_started"),
                sessions.c.persona_id, sessions.c.persona_version, turns.c.id.label("turn_id"),
                turns.c.created_at.label("replied_at"), grades.c.scored, grades.c.curiosity, grades.c.composure,
                grades.c.restraint, grades.c.unscored_reason, attempts.c.at_reply,
            )
            .select_from(sessions.join(turns, turns.c.session_id == sessions.c.id)
                         .outerjoin(grades, grades.c.turn_id == turns.c.id)
                         .outerjoin(attempts, attempts.c.session_id == sessions.c.id))
            .where(turns.c.speaker == "rep")
            .order_by(sessions.c.created_at, sessions.c.id, turns.c.idx)
        )
        if owners is not None:
            query = query.where(sessions.c.owner.in_(list(owners)))
        with self._connect() as conn:
            found = conn.execute(query).mappings().all()
        numbers: dict[str, int] = {}
        out = []
        for row in found:
            numbers[row["session_id"]] = number = numbers.get(row["session_id"], 0) + 1
            if number >= (row["at_reply"] or 0):  # a copy of the original's reply is not counted
                out.append(ScoreRow(**{k: v for k, v in row.items() if k != "at_reply"}, turn=number))
        return out


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL still survives a crash of the app (only power loss can drop the last
    # commits) and spares an fsync per turn.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_store(url: str) -> Store:
    """Open (and create if needed) the database at ``url``."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return Store(url)
