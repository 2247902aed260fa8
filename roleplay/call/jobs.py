"""Grading workers: a reply is graded at once in the process that took it, and its job is kept in
the database, so a process that dies mid-grade leaves nothing ungraded.

``GradingJobs.submit`` starts a grade in this process's workers (the reply's job was stored with
the reply, leased to this process: ``Store.add_turns``). A watcher thread renews the leases of the
grades under way and takes over jobs whose lease lapsed: a killed process's, which this process
then grades. A job taken ``MAX_ATTEMPTS`` times without a grade (it keeps killing its process) is
stored unscored, with the reason. A grade that raises is stored unscored with the error.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from roleplay.judge import Grade
from roleplay.storage import Job, Lease
from roleplay.transcript import Line
from roleplay.understanding import Reading

if TYPE_CHECKING:
    from roleplay.call.call import Call
    from roleplay.call.gym import Gym

log = logging.getLogger(__name__)

#: Times a job may be taken before its reply is stored unscored (``cut_short``).
MAX_ATTEMPTS = 3


def cut_short(attempts: int) -> str:
    """The unscored reason of a reply whose grading was taken ``attempts`` times and never finished."""
    return (f"grading was cut short {attempts} times (the process grading it stopped, or could not read the "
            "call); it is not tried again")


class GradingJobs:
    """This process's grading workers, and its share of the grading jobs in the database."""

    def __init__(self, gym: Gym, workers: int = 2):
        self.gym = gym
        self.workers = workers
        #: This process's name on the jobs it holds.
        self.lease = Lease(f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                           gym.settings.grading_lease_s)
        # Two workers: grading one call never waits for another call's report.
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grader")
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="grading-jobs", daemon=True)
        self._watcher.start()

    def submit(self, call: Call, turn_id: int, context: list[Line], reply: str,
               reading: Reading | None = None) -> Future[Grade]:
        """Grade rep turn ``turn_id`` of ``call`` (said after ``context``) in this process, now.

        Its job must be held by this process (``lease``); the future goes in ``call.pending``.
        """
        with self._lock:
            self._held.add(turn_id)
        future = self.pool.submit(self._run, call, turn_id, context, reply, reading)
        call.pending[turn_id] = future
        return future

    def _run(self, call: Call, turn_id: int, context: list[Line], reply: str, reading: Reading | None) -> Grade:
        try:
            return call._grade(context, reply, turn_id, reading)
        except Exception as exc:  # noqa: BLE001 - stored as unscored, never lost
            log.exception("call %s: grading turn %s crashed", call.id, turn_id)
            grade = Grade.unscored(f"grading crashed ({exc.__class__.__name__}: {exc})")
            self.gym.store.add_grade(call.id, turn_id, grade)
            return grade
        finally:
            with self._lock:
                self._held.discard(turn_id)

    def take_over(self, session_id: str | None = None) -> int:
        """Take the jobs nobody holds (of one session, when ``session_id``) and grade them here, as
        many as the workers can start soon. Returns how many were taken."""
        with self._lock:
            room = 2 * self.workers - len(self._held)
        if room <= 0:
            return 0
        jobs = self.gym.store.claim_jobs(self.lease, room, session_id)
        for job in jobs:
            self._resume(job)
        return len(jobs)

    def _resume(self, job: Job) -> None:
        """Grade a job taken over (its call read again from the database)."""
        if job.attempts > MAX_ATTEMPTS:
            log.warning("session %s: grading turn %s never finished; stored unscored", job.session_id, job.turn_id)
            self.gym.store.add_grade(job.session_id, job.turn_id, Grade.unscored(cut_short(job.attempts - 1)))
            return
        call = self.gym.call(job.session_id)
        rep_turns, lines = list(call.rep_turns), call.lines  # in this order: lines never lag behind
        running = call.pending.get(job.turn_id)
        if running is not None and not running.done():
            return  # graded here already (its lease lapsed while this process was stalled)
        found = [k for k, (turn_id, _) in enumerate(rep_turns) if turn_id == job.turn_id]
        if not found:  # the call is mid-turn here: its lease lapses and it is taken again
            log.warning("session %s: turn %s is not among the call's replies yet", job.session_id, job.turn_id)
            return
        at = [i for i, line in enumerate(lines) if line.speaker == "rep"][found[0]]
        log.info("session %s: grading turn %s, taken over (attempt %d)", job.session_id, job.turn_id, job.attempts)
        self.submit(call, job.turn_id, lines[:at], rep_turns[found[0]][1])

    def wait_for(self, session_id: str, turn_ids: list[int], wait: float | None) -> dict[int, Grade | None]:
        """The grades of ``turn_ids`` (replies graded in another process) once the database has
        them all, or after ``wait`` seconds (``None``: as long as a job can take, lapsed leases and
        retries included), by turn id; ``None`` for those still missing."""
        longest = (MAX_ATTEMPTS + 1) * (self.lease.seconds + self.gym.settings.grading_poll_s)
        deadline = time.monotonic() + (longest if wait is None else wait)
        stored = self.gym.store.grades_for(session_id)
        while any(t not in stored for t in turn_ids) and time.monotonic() < deadline:
            time.sleep(0.25)
            stored = self.gym.store.grades_for(session_id)
        return {t: stored.get(t) for t in turn_ids}

    def _watch(self) -> None:
        """Renew the leases of the grades under way and take over lapsed jobs, until ``stop``."""
        period = min(self.gym.settings.grading_poll_s, self.lease.seconds / 3)
        while not self._stop.wait(period):
            try:
                with self._lock:
                    held = set(self._held)
                self.gym.store.renew_jobs(self.lease, held)
                self.take_over()
            except Exception as exc:  # noqa: BLE001 - the database may be away for a moment: next round
                log.warning("grading jobs: %s: %s", exc.__class__.__name__, exc)

    def stop(self) -> None:
        """Stop renewing leases and taking jobs over (grades under way still finish and are
        stored; the jobs of those that do not are taken over elsewhere once their lease lapses)."""
        self._stop.set()
        self._watcher.join(timeout=30)

    def close(self) -> None:
        """Stop, and wait for the grades under way."""
        self.stop()
        self.pool.shutdown(wait=True)
