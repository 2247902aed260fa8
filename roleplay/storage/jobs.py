"""The grading jobs: a row per rep reply waiting for its grade, leased to the process grading it.

Any number of app processes share one database. The process that stores a reply leases its job
at once (in the same transaction) and grades it in its own workers; it renews the lease while it
lives. When a process is killed its leases lapse, and any other process takes the jobs over
(``claim_jobs``: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so claimers never wait on each
other; on SQLite, a single writer, the conditional update alone decides). Storing the grade
removes the job in the same transaction (``Store.add_grade``). Times are the processes' clocks,
which must agree to well within a lease (as NTP keeps them).

``Store`` has these methods; the workers that run the jobs are in ``roleplay.call.jobs``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from roleplay.storage.records import Job
from roleplay.storage.tables import grading_jobs


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Lease:
    """Who holds a job (a process's worker id), and for how many seconds without renewing it."""

    worker: str
    seconds: float

    def until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.seconds)


class Jobs:
    """The grading jobs' rows, mixed into ``Store``, whose ``_begin`` (a transaction) and
    ``_connect`` (a read) these methods use."""

    _begin: Callable[[], contextlib.AbstractContextManager[Connection]]
    _connect: Callable[[], contextlib.AbstractContextManager[Connection]]

    @staticmethod
    def _add_jobs(conn: Connection, session_id: str, turn_ids: Collection[int], lease: Lease | None) -> None:
        """Insert the jobs of ``turn_ids``, leased by ``lease`` (``None``: free for any process)."""
        now = _now()
        for turn_id in turn_ids:
            conn.execute(insert(grading_jobs).values(
                turn_id=turn_id, session_id=session_id, leased_by=lease.worker if lease else None,
                leased_until=lease.until(now) if lease else None, attempts=1 if lease else 0, created_at=now,
            ))

    def ensure_jobs(self, session_id: str, turn_ids: Collection[int]) -> None:
        """Make sure each reply of ``turn_ids`` has a job: those without one get a free one (replies
        stored before jobs existed, or whose job another process is adding at the same moment)."""
        with self._connect() as conn:
            have = set(conn.execute(select(grading_jobs.c.turn_id).where(
                grading_jobs.c.session_id == session_id)).scalars())
        missing = [t for t in turn_ids if t not in have]
        if not missing:
            return
        with contextlib.suppress(IntegrityError), self._begin() as conn:  # IntegrityError: added elsewhere first
            self._add_jobs(conn, session_id, missing, None)

    def claim_jobs(self, lease: Lease, limit: int, session_id: str | None = None) -> list[Job]:
        """Lease to ``lease.worker`` up to ``limit`` jobs that nobody holds: free ones, and those
        whose lease lapsed (their process died). Oldest first; of one session when ``session_id``.

        Returns:
            The jobs taken, each with how many times it has been taken now.
        """
        now = _now()
        free = or_(grading_jobs.c.leased_until.is_(None), grading_jobs.c.leased_until <= now)
        query = (select(grading_jobs.c.turn_id, grading_jobs.c.session_id, grading_jobs.c.attempts)
                 .where(free).order_by(grading_jobs.c.created_at, grading_jobs.c.turn_id).limit(limit)
                 .with_for_update(skip_locked=True))
        if session_id is not None:
            query = query.where(grading_jobs.c.session_id == session_id)
        taken = []
        with self._begin() as conn:
            for turn_id, session, attempts in conn.execute(query).all():
                # Still free? (SQLite has no row locks: another process may have taken it since.)
                done = conn.execute(update(grading_jobs).where(grading_jobs.c.turn_id == turn_id, free).values(
                    leased_by=lease.worker, leased_until=lease.until(now), attempts=attempts + 1))
                if done.rowcount == 1:
                    taken.append(Job(turn_id=turn_id, session_id=session, attempts=attempts + 1))
        return taken

    def renew_jobs(self, lease: Lease, turn_ids: Collection[int]) -> int:
        """Extend ``lease`` on the jobs of ``turn_ids`` it still holds; returns how many."""
        if not turn_ids:
            return 0
        with self._begin() as conn:
            return conn.execute(update(grading_jobs).where(
                grading_jobs.c.leased_by == lease.worker, grading_jobs.c.turn_id.in_(list(turn_ids)),
            ).values(leased_until=lease.until(_now()))).rowcount

    def jobs_of(self, session_id: str) -> dict[int, Job]:
        """The grading jobs of a session still waiting, by rep turn id."""
        with self._connect() as conn:
            rows = conn.execute(select(grading_jobs).where(grading_jobs.c.session_id == session_id)).mappings().all()
        return {r["turn_id"]: Job(turn_id=r["turn_id"], session_id=r["session_id"], attempts=r["attempts"])
                for r in rows}

    @staticmethod
    def _drop_job(conn: Connection, turn_id: int) -> None:
        conn.execute(delete(grading_jobs).where(grading_jobs.c.turn_id == turn_id))
