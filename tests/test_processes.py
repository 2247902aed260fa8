"""More than one app process on one database: a call's turns may go to any of them, and a process
killed mid-grade leaves its grades to the others.

The unit tests run two gyms (as two processes would be) over one database, SQLite and PostgreSQL
(``ROLEPLAY_TEST_POSTGRES_URL``, as in tests/test_storage.py): a call catches up with turns stored
elsewhere, of two processes racing for one turn only one stores it, and a lapsed lease hands a
grade over. The last test runs two real app processes (``serve`` over the fakes, the grader slow)
on PostgreSQL, alternates one call's turns between them through ``gradio_client`` and SIGKILLs
one while it grades.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from roleplay.backends.fakes import FakeChatModel, fake_grader, fake_model_for, fake_prospect
from roleplay.call import Call, CallEnded, CallMoved, Gym
from roleplay.call.jobs import MAX_ATTEMPTS
from roleplay.config import Role, Settings, load_settings
from roleplay.judge import Grade
from roleplay.rendering import plain
from roleplay.storage import Lease, NewTurn, Store, TurnConflict, create_store

from .conftest import CALL_VIEW, POSTGRES_URL, PROJECT_ROOT, empty_postgres, endpoint, free_port, running_server
from .test_app import lines
from .test_storage import new_session

pytestmark = pytest.mark.timeout(300)
PERSONA = "happy_incumbent"
#: One call's replies: the first two need no line to try instead, the last two do (the grader's
#: model is asked, so a slow grader is slow on them).
REPLIES = ["Totally fair. What made Fleetly the right fit?", "How does dispatch handle a moved pickup today?",
           "Could we book 20 minutes next Tuesday?", "Understood. Would it be okay if I checked back in February?"]


@pytest.fixture
def shared(settings: Settings, db_url: str) -> Settings:
    """Settings over the test's database, with leases short enough to lapse within a test."""
    return settings.model_copy(update={"database_url": db_url, "grading_lease_s": 1.0, "grading_poll_s": 0.1})


def said(store: Store, session_id: str) -> list[tuple[int, str, str]]:
    """The session's stored turns: (position, speaker, text)."""
    return [(t.idx, t.speaker, t.text) for t in store.get_session(session_id).turns]


def test_a_call_acts_on_the_turns_another_process_stored(shared: Settings, new_gym: Callable[..., Gym]) -> None:
    one, other = new_gym(shared), new_gym(shared)
    here = one.start(PERSONA)
    there = other.call(here.id)  # opened in the other process, then left behind
    here.say(REPLIES[0])
    there.say(REPLIES[1])  # the other process catches up before its turn
    assert [ln.text for ln in there.lines][:3] == [ln.text for ln in here.lines]
    stored = said(other.store, here.id)
    assert [(i, s) for i, s, _ in stored] == list(enumerate(["prospect", "rep", "prospect", "rep", "prospect"]))
    assert [t for _, s, t in stored if s == "rep"] == REPLIES[:2]

    again = one.call(here.id)  # the first process's call, caught up on being opened
    assert again is here and [ln.text for ln in here.lines] == [t for _, _, t in stored]
    assert here.state == there.state and here.rep_turns == there.rep_turns
    there.end(grade_timeout=10)
    assert one.call(here.id).over and here.report is not None and here.report.replies == 2


@pytest.mark.parametrize("meanwhile", ["takes the turn", "ends the call"])
def test_of_two_processes_racing_for_one_turn_only_one_stores_it(
    shared: Settings, new_gym: Callable[..., Gym], meanwhile: str,
) -> None:
    one = new_gym(shared)
    here = one.start(PERSONA)
    rival: list[Call] = []

    def prospect_while_the_other_process_acts(messages: list[Any]) -> str:
        if not rival[0].over and len(rival[0].lines) == 1:  # once: the other process wins the race
            rival[0].say(REPLIES[0]) if meanwhile == "takes the turn" else rival[0].end(grade_timeout=10)
        return fake_prospect(messages)

    other = new_gym(shared, prospect=FakeChatModel(responder=prospect_while_the_other_process_acts, calls=[]))
    rival.append(here)
    there = other.call(here.id)
    lost = "Sorry, who is this again?"
    with pytest.raises(CallMoved if meanwhile == "takes the turn" else CallEnded):
        for _ in there.send(lost):
            pass
    stored = said(other.store, here.id)
    assert lost not in [t for _, _, t in stored], "the losing turn was stored"
    assert [ln.text for ln in there.lines] == [t for _, _, t in stored], "the loser shows the call as stored"
    if meanwhile == "takes the turn":
        assert [t for _, s, t in stored if s == "rep"] == [REPLIES[0]]
        there.say(lost)  # sent again, it takes the next position
        assert [(i, t) for i, s, t in said(other.store, here.id) if s == "rep"] == [(1, REPLIES[0]), (3, lost)]


def test_a_turn_is_stored_at_the_position_it_was_taken_from_or_not_at_all(store: Store) -> None:
    session_id = new_session(store)
    store.add_turn(session_id, "prospect", "Dana Whitfield.", move="open")
    pair = [NewTurn(speaker="rep", text="Hi Dana."), NewTurn(speaker="prospect", text="Hello.", state={"p": 1})]
    with pytest.raises(TurnConflict):
        store.add_turns(session_id, pair, at=0)  # the writer saw no turn: it is behind
    assert [t.idx for t in store.get_session(session_id).turns] == [0]
    assert len(store.add_turns(session_id, pair, at=1)) == 2
    assert store.get_session(session_id).state == {"p": 1}  # the last state given is the session's
    store.end_session(session_id, "rep", None)
    with pytest.raises(TurnConflict):
        store.add_turns(session_id, pair, at=3)  # in order, but the call has ended
    assert [(t.idx, t.speaker) for t in store.get_session(session_id).turns] == [(0, "prospect"), (1, "rep"),
                                                                                  (2, "prospect")]


def test_a_grading_job_is_held_while_its_lease_runs_and_taken_over_when_it_lapses(store: Store) -> None:
    session_id = new_session(store)
    alive, dead, other = Lease("alive", 60), Lease("dead", 0), Lease("other", 60)
    held, = store.add_turns(session_id, [NewTurn(speaker="rep", text="Hi Dana.")], grading=alive)
    lapsed, = store.add_turns(session_id, [NewTurn(speaker="rep", text="Hello?")], grading=dead)
    assert store.renew_jobs(alive, [held, lapsed]) == 1  # a lease is renewed only by its holder

    taken = store.claim_jobs(other, limit=10)
    assert [(j.turn_id, j.attempts) for j in taken] == [(lapsed, 2)]
    assert store.claim_jobs(Lease("third", 60), limit=10) == [], "a job is taken by one process at a time"
    store.add_grade(session_id, lapsed, Grade.unscored("graded"))
    assert list(store.jobs_of(session_id)) == [held], "a stored grade ends its job"


def test_a_killed_process_s_grade_is_finished_by_another(shared: Settings, new_gym: Callable[..., Gym]) -> None:
    release, asked = threading.Event(), threading.Event()

    def stuck_grader(messages: list[Any]) -> str:  # the first process dies while grading
        asked.set()
        release.wait(60)
        return fake_grader(messages)

    first = new_gym(shared, grader=FakeChatModel(responder=stuck_grader, calls=[]))
    call = first.start(PERSONA)
    turn = call.say(REPLIES[2])  # needs the grader's model
    assert asked.wait(10), "the grade never reached the grader's model"
    first.jobs.stop()  # as if killed: its lease is no longer renewed
    try:
        survivor = new_gym(shared)
        grades = survivor.call(call.id).grades(wait=30)  # waits for the lease to lapse, then grades it
        assert grades[turn.rep_turn_id] is not None and grades[turn.rep_turn_id].scored
        assert survivor.store.jobs_of(call.id) == {}
    finally:
        release.set()  # the first process's late grade does not replace the stored one
    first.close()
    assert first.store.grades_for(call.id)[turn.rep_turn_id] == grades[turn.rep_turn_id]


def test_a_grade_that_keeps_killing_its_process_is_stored_unscored(shared: Settings,
                                                                   new_gym: Callable[..., Gym]) -> None:
    gym = new_gym(shared.model_copy(update={"grading_lease_s": 600.0, "grading_poll_s": 60.0}))  # the test takes over
    session_id = new_session(gym.store)
    turn_id, = gym.store.add_turns(session_id, [NewTurn(speaker="rep", text="Hi Dana.")], grading=Lease("dead", 0))
    for _ in range(MAX_ATTEMPTS - 1):  # taken again and again by processes that died
        gym.store.claim_jobs(Lease("dead", 0), limit=1)
    assert gym.jobs.take_over() == 1
    grade = gym.store.grades_for(session_id)[turn_id]
    assert not grade.scored and f"cut short {MAX_ATTEMPTS} times" in grade.unscored_reason


# --- Two app processes on one PostgreSQL ---------------------------------------------------------

#: Seconds the slow grader's model takes: the kill lands while it is at work.
SLOW_GRADER_S = 5.0


def serve_slowly() -> None:
    """A child process: ``roleplay serve`` over the fakes, the grader's model slow (settings from
    the environment: ``ROLEPLAY_DATABASE_URL`` and the leases)."""
    from roleplay.ui.serving import serve

    settings = load_settings(backend="fake")
    models = {role: fake_model_for(role, latency_s=SLOW_GRADER_S if role == Role.GRADER else 0.0) for role in Role}
    serve(settings, port=int(os.environ["PORT"]), gym=Gym(settings, models=models))


@pytest.fixture
def two_apps(tmp_path: Path) -> Iterator[tuple[list[str], list[subprocess.Popen]]]:
    """Two app processes over one empty PostgreSQL database: their URLs and processes."""
    empty_postgres()
    urls, servers = [], []
    with ExitStack() as stack:
        for name in ("a", "b"):
            port = free_port()
            env = {**os.environ, "PORT": str(port), "ROLEPLAY_DATABASE_URL": POSTGRES_URL,
                   "ROLEPLAY_DATA_DIR": str(tmp_path / name), "ROLEPLAY_GRADING_LEASE_S": "2",
                   "ROLEPLAY_GRADING_POLL_S": "0.5", "GRADIO_ANALYTICS_ENABLED": "False"}
            urls.append(f"http://127.0.0.1:{port}/")
            servers.append(stack.enter_context(running_server(
                [sys.executable, "-c", "from tests.test_processes import serve_slowly; serve_slowly()"],
                urls[-1], tmp_path / f"{name}.log", wait_s=120, cwd=PROJECT_ROOT, env=env)))
        yield urls, servers


@pytest.mark.skipif(not POSTGRES_URL, reason="ROLEPLAY_TEST_POSTGRES_URL is not set (scripts/test sets it)")
def test_two_app_processes_share_a_call_and_one_is_killed_mid_grade(two_apps: Any) -> None:
    from gradio_client import Client

    (url_a, url_b), (server_a, _) = two_apps
    a, b = Client(url_a, verbose=False), Client(url_b, verbose=False)
    store = create_store(POSTGRES_URL)
    endpoint(a, "/start", CALL_VIEW, PERSONA, False)
    (row,) = store.list_sessions()
    session_id = row["id"]
    endpoint(b, "/review", CALL_VIEW, session_id)  # the rep's next request lands on the other process

    for n, reply in enumerate(REPLIES[:3]):  # a, b, a
        chat = lines(endpoint(a if n % 2 == 0 else b, "/send", CALL_VIEW, reply, False)["chat"])
        stored = said(store, session_id)
        assert [plain(t) for _, _, t in stored] == [text for _, text in chat], f"turn {n + 1}: the chat is the call"
    killed_turn = store.get_session(session_id).turns[-2].id
    server_a.send_signal(signal.SIGKILL)  # while its slow grader is at the last reply
    server_a.wait(timeout=30)
    assert killed_turn not in store.grades_for(session_id), "the kill came after the grade"

    endpoint(b, "/send", CALL_VIEW, REPLIES[3], False)
    report = endpoint(b, "/end", CALL_VIEW)["report"]["value"]
    assert "Coaching report" in report

    record = store.get_session(session_id)
    assert [(t.idx, t.speaker) for t in record.turns] == list(enumerate(["prospect", "rep"] * 4 + ["prospect"]))
    assert [t.text for t in record.turns if t.speaker == "rep"] == REPLIES, "every reply once, in order"
    replies = [t.id for t in record.turns if t.speaker == "rep"]
    assert sorted(record.grades) == replies and all(record.grades[t].scored for t in replies), "every reply graded"
    assert record.report is not None and record.report["graded"] == 4
    assert store.jobs_of(session_id) == {}
    store.close()
