"""Storage on SQLite and on a real PostgreSQL server: round trips, concurrent writers, resuming.

The PostgreSQL variant runs against ``ROLEPLAY_TEST_POSTGRES_URL`` (``scripts/test`` starts a
throwaway server on loopback and sets it, see ``scripts/with-postgres``); it is skipped only
when that variable is unset, so a plain ``pytest`` works without a server. When it is set, a
server that cannot be reached is a failure, not a skip. The ``db_url`` fixture is in conftest.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection

from roleplay.call import Gym
from roleplay.config import Settings
from roleplay.judge.grading import Dimension, DimensionGrade, Grade
from roleplay.storage import Store, create_store
from roleplay.storage.tables import metadata, turns

PERSONA = "happy_incumbent"


def new_session(store: Store, owner: str | None = "rep@example.com") -> str:
    return store.create_session(
        PERSONA, "abc123", {"id": PERSONA, "name": "Dana Whitfield", "notes": ["ü", "👍", {"nested": [1, 2.5, None]}]},
        {"prospect_system.md": "v1"}, {"prospect": "fake-prospect", "grader": "fake-grader"}, owner,
    )


def a_grade(score: int = 4) -> Grade:
    dims = {d: DimensionGrade(score=score, model_score=5, evidence="What made", note=f"{d.value} note")
            for d in Dimension}
    return Grade(scored=True, dimensions=dims, prompt="CALL SO FAR: …", raw_output='{"curiosity": 5}',
                 model="fake-grader", prompt_hash="h", signals={"best_question": "open", "words": 7}, seconds=0.25)


def test_the_dialect_is_the_one_asked_for(store: Store, db_url: str) -> None:
    assert store.engine.dialect.name == db_url.split(":")[0].split("+")[0]


def test_sessions_turns_grades_and_reports_round_trip(store: Store) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    session_id = new_session(store)
    opening = store.add_turn(session_id, "prospect", "Dana Whitfield.", move="open", state={"patience": 6})
    said = "Totally fair 👍🏽 — なるほど. '; DROP TABLE turns; -- \"quoted\" \\ back\\slash"
    rep = store.add_turn(session_id, "rep", said)
    reply = store.add_turn(session_id, "prospect", "No thanks.", move="refuse", state={"patience": 5, "refusals": 1},
                           meta={"fallback_reason": "empty reply", "raw": "bad\x00bytes", "retried_after": ["x"]})
    assert opening < rep < reply  # ids are assigned by the database, in order

    store.add_grade(session_id, rep, a_grade())
    unscored = store.add_turn(session_id, "rep", "And why?")
    store.add_grade(session_id, unscored, Grade.unscored("the grader's model failed: it timed out, tried twice"))
    store.end_session(session_id, "rep", {"patience": 5, "refusals": 1, "door": "not_now"})
    store.save_report(session_id, {"door": "not_now", "summary": "first"})
    store.save_report(session_id, {"door": "not_now", "summary": "second", "averages": {"curiosity": 4.0}})

    record = store.get_session(session_id)
    assert record is not None
    assert record.persona["notes"] == ["ü", "👍", {"nested": [1, 2.5, None]}]
    assert record.prompt_versions == {"prospect_system.md": "v1"} and record.models["grader"] == "fake-grader"
    assert record.owner == "rep@example.com" and record.ended_by == "rep"
    assert record.created_at.tzinfo is not None and record.ended_at.tzinfo is not None
    assert before < record.created_at <= record.ended_at < datetime.now(UTC) + timedelta(seconds=5)
    assert record.state == {"patience": 5, "refusals": 1, "door": "not_now"}
    assert [(t.idx, t.speaker) for t in record.turns] == [(0, "prospect"), (1, "rep"), (2, "prospect"), (3, "rep")]
    assert record.turns[1].text == said
    assert record.turns[2].meta == {"fallback_reason": "empty reply", "raw": "badbytes", "retried_after": ["x"]}
    assert record.turns[2].state == {"patience": 5, "refusals": 1}
    assert record.grades[rep].model_dump() == a_grade().model_dump()
    assert record.grades[unscored].unscored_reason.endswith("tried twice") and not record.grades[unscored].scored
    assert record.report == {"door": "not_now", "summary": "second", "averages": {"curiosity": 4.0}}
    assert store.grades_for(session_id) == record.grades
    assert store.get_session("no-such-session") is None


def test_sessions_are_listed_newest_first_and_by_owner(store: Store) -> None:
    first = new_session(store, owner="ana")
    second = new_session(store, owner="ben")
    rows = store.list_sessions()
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["created_at"].tzinfo is not None and rows[0]["ended_by"] is None
    assert [r["id"] for r in store.list_sessions(owner="ana")] == [first]


def test_a_turn_keeps_its_first_grade(store: Store) -> None:
    session_id = new_session(store)
    rep = store.add_turn(session_id, "rep", "What made Fleetly the right fit?")
    store.add_grade(session_id, rep, a_grade(4))
    store.add_grade(session_id, rep, a_grade(2))  # e.g. a late grade from a process that was restarted
    assert store.grades_for(session_id)[rep].scores["curiosity"] == 4


def test_concurrent_writers_lose_nothing(db_url: str) -> None:
    """Threads, each with its own sessions, plus threads sharing one session, all writing at once."""
    store = create_store(db_url)
    shared = new_session(store)
    errors: list[BaseException] = []
    own_sessions: list[str] = []
    start = threading.Barrier(12)

    def own(n: int) -> None:
        try:
            start.wait()
            session_id = new_session(store, owner=f"rep{n}")
            own_sessions.append(session_id)
            for i in range(10):
                turn_id = store.add_turn(session_id, "rep", f"rep {n} says {i}")
                store.add_grade(session_id, turn_id, a_grade())
                store.add_turn(session_id, "prospect", f"reply {i}", move="object", state={"i": i})
            store.end_session(session_id, "rep", {"i": 9})
            store.save_report(session_id, {"rep": n})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def into_shared(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                store.add_turn(shared, "rep", f"writer {n} line {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=own, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=into_shared, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(own_sessions) == 8

    for session_id in own_sessions:
        record = store.get_session(session_id)
        assert [t.idx for t in record.turns] == list(range(20))
        assert len(record.grades) == 10 and record.report is not None and record.ended_by == "rep"
    record = store.get_session(shared)
    assert sorted(t.idx for t in record.turns) == list(range(60)), "two turns of one session got one position"
    assert len({t.text for t in record.turns}) == 60
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(turns)).scalar_one() == 8 * 20 + 60
    store.close()


def test_a_call_resumes_from_the_database_after_a_restart(
    settings: Settings, db_url: str, new_gym: Callable[..., Gym],
) -> None:
    settings = settings.model_copy(update={"database_url": db_url})
    first = new_gym(settings)
    call = first.start(PERSONA)
    call.say("Totally fair. What made Fleetly the right fit? 🤔")
    call.say("Could we book 20 minutes next Tuesday?")
    call.grades(wait=10)
    first.close()
    first.store.close()

    second: Gym = new_gym(settings)  # a new process, over the same database
    resumed = second.call(call.id)
    assert [ln.text for ln in resumed.lines] == [ln.text for ln in call.lines]
    assert resumed.state == call.state and resumed.rep_turns == call.rep_turns
    assert all(g is not None and g.scored for g in resumed.grades().values())
    result = resumed.say("Understood. Would it be okay if I checked back in February?")
    assert result.text
    report = resumed.end(grade_timeout=10)
    assert report.replies == 3 and report.graded == 3
    stored = second.store.get_session(call.id)
    assert len(stored.turns) == 7 and stored.report["replies"] == 3 and stored.ended_by == "rep"
    second.close()
    second.store.close()


def test_the_delivery_of_a_spoken_reply_round_trips_and_a_turn_keeps_its_first(store: Store) -> None:
    session_id = new_session(store)
    typed = store.add_turn(session_id, "rep", "What made Fleetly the right fit?")
    spoken = store.add_turn(session_id, "rep", "Um, how do you handle late changes?")
    figures = {"words": 7, "speaking_s": 2.4, "pace_wpm": None, "fillers": [{"word": "um", "at": 10.2}],
               "talk_over_s": 0.0, "summary": "7 words in 2.4 s: too short to time; at least 1 filler (“um”)."}
    store.add_delivery(session_id, spoken, figures, prospect_s=3.5)
    store.add_delivery(session_id, spoken, {**figures, "words": 99})  # a second write changes nothing

    record = store.get_session(session_id)
    assert list(record.deliveries) == [spoken] and typed not in record.deliveries
    assert record.deliveries[spoken].figures == figures and record.deliveries[spoken].prospect_s == 3.5
    assert record.deliveries[spoken].summary.startswith("7 words in 2.4 s")
    assert store.deliveries_for(session_id) == record.deliveries


#: Tables that revisions after the baseline (release 0.1.0) add, and an index.
LATER_THAN_BASELINE = ("audit_log", "sign_in_failures", "disabled_users", "grading_jobs", "recordings",
                       "film_consents")


def back_to_the_baseline(conn: Connection, *also: str) -> None:
    """Drop what revisions after the baseline added (and the tables ``also``), as an older release left it."""
    for name in (*also, *LATER_THAN_BASELINE):
        metadata.tables[name].drop(conn)
    conn.execute(text("DROP INDEX ux_turns_session_idx"))


def test_a_database_made_before_deliveries_gains_their_table_and_keeps_its_calls(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    before = create_store(url)
    session_id = new_session(before)
    typed = before.add_turn(session_id, "rep", "What made Fleetly the right fit?")
    before.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:  # the database as a release before spoken replies and migrations left it
        back_to_the_baseline(conn, "deliveries")
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()

    store = create_store(url)
    assert store.get_session(session_id).turns[0].id == typed and store.deliveries_for(session_id) == {}
    spoken = store.add_turn(session_id, "rep", "How do you handle late changes?")
    store.add_delivery(session_id, spoken, {"words": 6, "summary": "6 words in 1.9 s: too short to time."})
    assert store.get_session(session_id).deliveries[spoken].figures["words"] == 6
    store.close()


def test_the_rows_about_people_round_trip(store: Store) -> None:
    """Accounts, disabling, removing with or without sessions, handing sessions over, failed
    sign-ins and the audit log."""
    for name in ("ana", "ben"):
        store.add_user(name, "scrypt$hash", "rep", "east")
    anas = new_session(store, "ana")
    store.add_grade(anas, store.add_turn(anas, "rep", "What made you pick Fleetly?"), a_grade())
    store.save_report(anas, {"summary": "ok"})
    retake, call_back, solo = new_session(store, "ana"), new_session(store, "ben"), new_session(store, None)
    store.add_attempt(retake, anas, 1)
    store.add_follow_up(call_back, anas)  # ben's call back of ana's call (after a hand-over, say)

    assert (store.set_disabled("ana", True), store.set_disabled("ana", True), store.set_disabled("zed", True)) == (
        True, False, None)
    assert [(u["username"], u["disabled"]) for u in store.list_users()] == [("ana", True), ("ben", False)]
    assert store.get_user("ana")["disabled"] is True and store.get_user("ben")["disabled"] is False

    assert store.remove_user("ana") == 2 and store.get_user("ana") is not None  # owns sessions: kept
    assert store.remove_user("ana", delete_sessions=True) == 2
    assert store.get_user("ana") is None and store.remove_user("ana") is None
    assert {r["id"] for r in store.list_sessions()} == {call_back, solo}
    assert store.get_session(call_back).follow_up_of is None and store.score_rows(["ana"]) == []
    assert store.reassign_sessions(None, "ben") == 1 and store.session_owner(solo) == (True, "ben")

    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for minutes, key, address in [(0, "k1", "10.0.0.1"), (1, "k1", "10.0.0.2"), (2, "k2", "10.0.0.1")]:
        store.add_sign_in_failure(key, address, t0 + timedelta(minutes=minutes))
    assert store.sign_in_failures(t0 - timedelta(seconds=1), name_key="k1") == [t0 + timedelta(minutes=1), t0]
    assert store.sign_in_failures(t0, address="10.0.0.1") == [t0 + timedelta(minutes=2)]
    store.forget_sign_in_failures(before=t0)
    store.forget_sign_in_failures(name_key="k2")
    assert store.sign_in_failures(t0 - timedelta(days=1)) == [t0 + timedelta(minutes=1)]

    store.add_audit("sign-in", "ben", address="::1", at=t0)
    store.add_audit("set-team", "ben", actor="cli:root", detail={"team": "Équipe 👍", "was": "east"})
    newest, oldest = store.audit_rows()
    assert (newest["action"], newest["actor"], newest["detail"]) == ("set-team", "cli:root", {"team": "Équipe 👍",
                                                                                              "was": "east"})
    assert (oldest["address"], oldest["created_at"]) == ("::1", t0)
    assert store.audit_rows(limit=1) == [newest] and store.audit_rows(account="ana") == []


def test_a_database_at_the_baseline_revision_gains_the_people_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    before = create_store(url)
    before.add_user("ana", "scrypt$hash", "rep", None)
    before.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:  # the database as the baseline revision (release 0.1.0) left it
        back_to_the_baseline(conn)
        conn.execute(text("UPDATE alembic_version SET version_num = 'd411d6dc2a09'"))
    engine.dispose()

    store = create_store(url)
    assert store.get_user("ana")["disabled"] is False and store.set_disabled("ana", True) is True
    store.close()
