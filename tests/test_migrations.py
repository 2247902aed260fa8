"""Migrations: a new database is made at the head revision with exactly the schema of
``roleplay/storage/tables.py``; a database made by release 0.1.0 (before migrations) is upgraded
when a store opens it, and every call in it reads back; a newer database is refused; processes
that start at once upgrade once; ``roleplay db`` shows and upgrades the settings' database.

Each runs on SQLite and on PostgreSQL (``db_url`` in conftest.py: skipped when
``ROLEPLAY_TEST_POSTGRES_URL`` is unset). The release's databases are tests/fixtures/ (how they
were made: tests/fixtures/release_0_1_0.py).
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from roleplay.cli import main
from roleplay.judge.coach import Report
from roleplay.storage import SchemaError, Store, create_store
from roleplay.storage.migrations import schema_state, upgrade
from roleplay.storage.tables import metadata
from roleplay.team import Accounts
from roleplay.team.exports import session_markdown

from .fixtures.release_0_1_0 import CALLS, PASSWORD, READING, USERS

FIXTURES = Path(__file__).parent / "fixtures"


def schema_differences(url: str) -> list:
    """What autogenerate would write for the database at ``url`` against the tables."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


def release_database(db_url: str) -> str:
    """``db_url`` (empty) holding the database release 0.1.0 made: the SQLite file copied in,
    or the PostgreSQL dump run (without its psql commands, ``\\restrict`` and the like)."""
    if db_url.startswith("sqlite"):
        shutil.copyfile(FIXTURES / "release-0.1.0.sqlite", db_url.removeprefix("sqlite:///"))
        return db_url
    dump = (FIXTURES / "release-0.1.0.postgresql.sql").read_text(encoding="utf-8")
    engine = create_engine(db_url)
    raw = engine.raw_connection()  # the dump is many statements: the driver runs them as one script
    try:
        raw.cursor().execute("\n".join(line for line in dump.splitlines() if not line.startswith("\\")))
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return db_url


def stamped(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": revision})
    engine.dispose()


# --- a new database ------------------------------------------------------------------------------

def test_a_new_database_is_made_at_head_with_exactly_the_tables(db_url: str) -> None:
    store = create_store(db_url)
    state = schema_state(store.engine)
    store.close()
    assert state.current == state.head and state.head
    assert schema_differences(db_url) == []


def test_opening_a_database_at_head_again_changes_nothing(db_url: str) -> None:
    create_store(db_url).close()
    engine = create_engine(db_url)
    before, after = upgrade(engine)
    engine.dispose()
    assert before == after and after.current == after.head


def test_foreign_keys_are_enforced_again_after_the_upgrade_on_sqlite() -> None:
    store = Store("sqlite://")  # one connection: the one the upgrade used
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_an_upgrade_that_fails_changes_nothing(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:  # in the way of the baseline's index on grades.session_id
        conn.execute(text("CREATE TABLE grades (id INTEGER PRIMARY KEY)"))
    with pytest.raises(SchemaError, match="from empty to .* failed, and nothing was changed: .*session_id"):
        create_store(db_url)
    assert sorted(inspect(engine).get_table_names()) == ["grades"]  # no sessions, no alembic_version
    engine.dispose()


# --- a database of release 0.1.0 -----------------------------------------------------------------

def test_a_database_of_release_0_1_0_is_upgraded_and_every_call_reads_back(db_url: str) -> None:
    url = release_database(db_url)
    engine = create_engine(url)
    before = schema_state(engine)
    engine.dispose()
    assert (before.current, before.has_tables) == (None, True)
    assert before.where == "made before migrations (release 0.1.0 or older)"

    store = create_store(url)
    assert schema_state(store.engine).current == before.head
    assert schema_differences(url) == []
    by_first_line = {}
    for row in store.list_sessions():
        record = store.get_session(row["id"])
        by_first_line[record.turns[0].text] = record
    found = {key: by_first_line.pop(call["lines"][0][1]) for key, call in CALLS.items()}
    assert by_first_line == {}
    for key, call in CALLS.items():
        record = found[key]
        assert record.owner == call["owner"] and record.persona["name"] == "Dana Whitfield"
        assert [(t.speaker, t.text, t.move) for t in record.turns] == call["lines"]
        assert [t.idx for t in record.turns] == list(range(len(call["lines"])))
        replies = [t.id for t in record.turns if t.speaker == "rep"]
        for number, turn_id in enumerate(replies, start=1):
            expected = call["grades"].get(number)
            if expected is None:
                assert turn_id not in record.grades
            elif isinstance(expected, str):
                grade = record.grades[turn_id]
                assert not grade.scored and grade.unscored_reason == expected and grade.prompt == "CALL SO FAR: …"
            else:
                grade = record.grades[turn_id]
                assert grade.scored and grade.scores == expected and grade.reading == READING
                assert grade.model == "fake-grader" and grade.raw_output == '{"line": "…"}'
        spoken = {replies.index(turn_id) + 1: (d.figures, d.prospect_s) for turn_id, d in record.deliveries.items()}
        assert spoken == call.get("deliveries", {})
        assert record.ended_by == call.get("ended_by") and (record.ended_at is None) == ("ended_by" not in call)
        if "report" in call:
            assert {k: record.report[k] for k in call["report"]} == call["report"]
            assert Report.model_validate(record.report).drill_title == "Let the no stand"
        else:
            assert record.report is None
        assert record.drill_id == call.get("drill")
        assert session_markdown(record).startswith("# Practice call with Dana Whitfield")
    first = found["first"]
    assert found["again"].attempt_of.parent_id == first.id and found["again"].attempt_of.reply == 2
    assert [a.session_id for a in first.attempts] == [found["again"].id]
    assert found["callback"].follow_up_of == first.id and first.follow_ups == [found["callback"].id]
    assert len(store.score_rows()) == 5  # the attempt's first reply is a copy of the original's: not counted

    accounts = Accounts(store)
    for name, role, team in USERS:
        user = accounts.authenticate(name, PASSWORD)
        assert user is not None and (user.role.value, user.team) == (role, team)

    later = store.add_turn(first.id, "rep", "One more thing?")  # the old database takes new rows
    assert later > max(t.id for r in found.values() for t in r.turns)
    assert store.get_session(first.id).turns[-1].idx == len(CALLS["first"]["lines"])
    store.close()


def test_a_database_newer_than_the_code_is_refused_and_left_alone(db_url: str) -> None:
    create_store(db_url).close()
    stamped(db_url, "f00dcafe1234")
    with pytest.raises(SchemaError, match="at f00dcafe1234, a revision this release does not know .*newer release"):
        create_store(db_url)
    engine = create_engine(db_url)
    assert schema_state(engine).current == "f00dcafe1234"
    engine.dispose()


def _open_store(url: str, start: Any) -> None:
    """A process that opens a store on ``url`` when the others do."""
    start.wait()
    create_store(url).close()


def test_processes_that_open_an_old_database_at_once_upgrade_it_once(db_url: str) -> None:
    url = release_database(db_url)
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(3)
    processes = [spawn.Process(target=_open_store, args=(url, start)) for _ in range(3)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        p.kill()
    assert [p.exitcode for p in processes] == [0, 0, 0]
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar() == len(CALLS)
    engine.dispose()


def test_stores_of_different_databases_open_at_once_on_threads(tmp_path: Path) -> None:
    start = threading.Barrier(6)
    made: dict[int, list[str]] = {}

    def open_store(n: int) -> None:
        start.wait()
        store = create_store(f"sqlite:///{tmp_path / f'{n}.db'}")
        made[n] = sorted(inspect(store.engine).get_table_names())
        store.close()

    threads = [threading.Thread(target=open_store, args=(n,), daemon=True) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert made == {n: sorted([*metadata.tables, "alembic_version"]) for n in range(6)}


# --- roleplay db ---------------------------------------------------------------------------------

def test_db_current_and_upgrade_on_the_settings_database(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ROLEPLAY_DATABASE_URL", release_database(db_url))
    assert main(["db", "current", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["current"] is None and not shown["up_to_date"] and "made before migrations" in shown["summary"]
    assert main(["db", "current", "--check"]) == 1
    assert "`roleplay db upgrade`" in capsys.readouterr().out

    assert main(["db", "upgrade"]) == 0
    head = shown["head"]
    assert capsys.readouterr().out == (f"upgraded: the database was made before migrations (release 0.1.0 or older); "
                                       f"it is now at {head} (head)\n")
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"already up to date: at {head} (head)\n"
    assert main(["db", "current", "--check"]) == 0
    assert capsys.readouterr().out == f"at {head} (head): up to date\n"

    stamped(db_url, "f00dcafe1234")
    assert main(["db", "upgrade"]) == 1
    assert "a newer release of roleplay upgraded it" in capsys.readouterr().err
    assert main(["users", "list"]) == 1  # any command that opens the store says so, without a traceback
    assert "error: the database is at f00dcafe1234" in capsys.readouterr().err


def test_db_commands_never_create_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "roleplay.db"
    monkeypatch.setenv("ROLEPLAY_DATABASE_URL", f"sqlite:///{missing}")
    for command in ("current", "upgrade"):
        assert main(["db", command]) == 1
        assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_db_revision_writes_nothing_when_the_tables_have_not_changed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "revision", "nothing changed"]) == 1
    assert "tables.py matches the head revision: nothing to generate" in capsys.readouterr().err
