"""Exports: a session as Markdown (rendered as text, whatever was said) and JSON, scores as CSV
(safe in a spreadsheet), the store's score rows, and the ``roleplay export`` commands."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from roleplay.call import GRADING_SKIPPED, Gym
from roleplay.cli import main
from roleplay.config import Settings
from roleplay.judge.coach import Moment, Report
from roleplay.judge.grading import Dimension, DimensionGrade, Grade
from roleplay.storage import ScoreRow, SessionRecord, Store, TurnRecord
from roleplay.team.exports import (
    SCHEMA_VERSION,
    SCORE_COLUMNS,
    csv_cell,
    iso_utc,
    scores_csv,
    session_dict,
    session_json,
    session_markdown,
)

from .test_storage import new_session

PERSONA = "happy_incumbent"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


LINES = ("Totally fair. What made Fleetly the right fit?", "Understood. Could I check back in March?")


def play(gym: Gym, owner: str | None = "ana", lines: tuple[str, ...] = LINES, grade: bool = True) -> str:
    """A real stored session on the fake models: the rep says ``lines``, then ends the call."""
    call = gym.start(PERSONA, owner=owner, grade=grade)
    for line in lines:
        for _ in call.send(line):
            pass
        if call.over:
            break
    call.grades(wait=None)
    call.end()
    return call.id


# --- Markdown: everything said renders as text -----------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "[click](http://127.0.0.1/evil)",  # markdown-it drops javascript: links itself; this one it would make
    "![i](http://e/x.png)",
    "<img src=x onerror=alert(1)>",
    "<a href='javascript:alert(1)'>click</a>",
    "\"><svg onload=alert(1)>",
    "<iframe src=//127.0.0.1/evil></iframe>",
    "<https://127.0.0.1/autolink>",
    "[ref]: http://e/x\n[ref]",
    "**bold** _em_ `code` ~~gone~~ # heading",
    "| a | b |\n|---|---|\n| c | d |",
    "1. first\n- second\n---\n\n    indented",
    "&lt;script&gt; &#60;b&#62; \\[escaped\\]",
]

#: As permissive as a renderer gets: raw HTML allowed, GFM tables and strikethrough.
MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
#: The only tags an export may render to: structure, without attributes (a code block can come
#: from a model's text with an indented line after a blank one: still text).
STRUCTURE = {"h1", "h2", "p", "strong", "em", "ul", "li", "br", "pre", "code"}


def hostile_record(text: str) -> SessionRecord:
    """A session in which the rep, every model and the persona's author wrote ``text`` everywhere."""
    dims = {d: DimensionGrade(score=2, model_score=3, evidence=text, note=text) for d in Dimension}
    moment = Moment(turn=1, rep=text, scores={"curiosity": 2}, evidence=text, note=text)
    report = Report(persona_id=PERSONA, ended_by="prospect", door="not_now", door_when=text, replies=3, graded=1,
                    unscored=1, averages={"curiosity": 2.0, "composure": 2.0, "restraint": 2.0},
                    weakest_dimension="curiosity", strongest=moment, weakest=moment.model_copy(update={"turn": 2}),
                    summary=text, drill=text, follow_up=text, coach_error=text)
    turns = [TurnRecord(id=i + 1, idx=i, speaker="prospect" if i % 2 == 0 else "rep", text=text,
                        move="object" if i % 2 == 0 else None) for i in range(7)]
    return SessionRecord(
        id="s-1", persona_id=PERSONA, persona_version="abc123", persona={"name": text}, prompt_versions={},
        models={}, owner=text, created_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC), ended_at=None,
        ended_by="prospect", state={"door": "not_now"}, turns=turns,
        grades={2: Grade(scored=True, dimensions=dims), 4: Grade.unscored(text)},  # turn 6: not graded yet
        report=report.model_dump(mode="json"),
    )


def visible(markdown: str) -> str:
    """What a reader sees of ``markdown``; fails if it rendered to anything but plain structure."""
    rendered = MARKDOWN.render(markdown)
    lowered = rendered.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<a " not in lowered, rendered
    tags = re.findall(r"<(/?)([a-zA-Z][\w-]*)([^>]*)>", rendered)
    unexpected = [t for t in tags if t[1].lower() not in STRUCTURE or t[2].strip() not in ("", "/")]
    assert not unexpected, f"markup {unexpected} in {rendered!r}"
    return html.unescape(re.sub(r"<[^>]*>", "", rendered))


@pytest.mark.parametrize("text", HOSTILE)
def test_whatever_was_said_renders_as_text_in_the_markdown(text: str) -> None:
    seen = visible(session_markdown(hostile_record(text)))
    # Each line shows exactly as typed (blank lines apart): rep, prospect, evidence, notes, report.
    for line in filter(None, (ln.strip() for ln in text.split("\n"))):
        assert seen.count(line) >= 20, (line, seen)


def test_the_markdown_has_the_header_every_grade_and_the_report(gym: Gym) -> None:
    session_id = play(gym)
    record = gym.store.get_session(session_id)
    rep_turns = [t for t in record.turns if t.speaker == "rep"]
    later = rep_turns[1].id
    record.grades[rep_turns[0].id] = Grade.unscored("the grader's model failed: it timed out, tried twice")
    del record.grades[later]
    seen = visible(session_markdown(record))
    assert "Practice call with Dana Whitfield" in seen
    assert f"Persona: Dana Whitfield ({PERSONA}), version {record.persona_version}" in seen
    assert f"Date: {record.created_at:%Y-%m-%d %H:%M} UTC" in seen and "Rep: ana" in seen
    assert "Ended by: the rep" in seen and f"Door: {record.report['door'].replace('_', ' ')}" in seen
    assert "Rep, reply 1: Totally fair. What made Fleetly the right fit?" in seen
    assert "unscored: the grader's model failed: it timed out, tried twice" in seen
    assert "Rep, reply 2: Understood. Could I check back in March?\nnot graded yet" in seen
    assert "Coaching report" in seen and "(fake coach)" in seen


def test_scores_evidence_and_notes_follow_each_reply(gym: Gym) -> None:
    record = gym.store.get_session(play(gym, lines=("Totally fair. What made Fleetly the right fit?",)))
    (grade,) = record.grades.values()
    seen = visible(session_markdown(record))
    scores = ", ".join(f"{d.value} {grade.dimensions[d].score}" for d in Dimension)
    assert f"Rep, reply 1: Totally fair. What made Fleetly the right fit?\n{scores}" in seen
    for dim in Dimension:
        assert f"{dim.value}: “{grade.dimensions[dim].evidence}” — {grade.dimensions[dim].note}" in seen


# --- JSON: a stable structure, without the grader's prompts unless asked ------------------------

SESSION_KEYS = {"id", "owner", "persona_id", "persona_version", "persona_name", "prompt_versions", "models",
                "created_at", "ended_at", "ended_by", "door", "attempt_of", "attempts", "drill_id", "follow_up_of",
                "follow_ups"}
TURN_KEYS = {"index", "speaker", "text", "move", "reply", "fallback_reason", "grade", "delivery", "audit"}
GRADE_KEYS = {"scored", "scores", "dimensions", "unscored_reason", "notes_unavailable", "model", "prompt_hash", "audit"}


def test_the_json_export_is_the_documented_structure(gym: Gym) -> None:
    record = gym.store.get_session(play(gym))
    data = json.loads(session_json(record))
    assert data == session_dict(record)
    assert set(data) == {"schema_version", "session", "turns", "report"} and data["schema_version"] == SCHEMA_VERSION
    meta = data["session"]
    assert set(meta) == SESSION_KEYS
    assert (meta["id"], meta["owner"], meta["persona_id"], meta["persona_name"]) == (
        record.id, "ana", PERSONA, "Dana Whitfield")
    assert ISO.match(meta["created_at"]) and ISO.match(meta["ended_at"]) and meta["ended_by"] == "rep"
    assert meta["models"]["grader"] == "fake-grader" and meta["prompt_versions"] == record.prompt_versions
    assert meta["door"] == record.state["door"]

    turns = data["turns"]
    assert [t["index"] for t in turns] == list(range(len(record.turns)))
    assert [(t["speaker"], t["text"]) for t in turns] == [(t.speaker, t.text) for t in record.turns]
    assert turns[0]["move"] == "open" and turns[0]["grade"] is None
    reps = [t for t in turns if t["speaker"] == "rep"]
    assert [t["reply"] for t in reps] == [1, 2]
    for turn in turns:
        assert set(turn) == TURN_KEYS and turn["audit"] is None and turn["delivery"] is None
    for turn in reps:
        grade = turn["grade"]
        assert set(grade) == GRADE_KEYS and grade["scored"] and grade["audit"] is None
        assert set(grade["scores"]) == set(grade["dimensions"]) == {d.value for d in Dimension}
        assert all(set(d) == {"score", "model_score", "evidence", "note", "try_instead", "try_instead_source",
                              "fallback_reason"} for d in grade["dimensions"].values())
        assert grade["model"] == "fake-grader" and grade["prompt_hash"] and grade["unscored_reason"] is None
    assert data["report"]["replies"] == 2 and "coach_raw" not in data["report"]


def test_the_grader_s_prompt_and_raw_answer_only_come_with_audit(gym: Gym) -> None:
    # replies that need a line to try instead: the grader's model is asked for one
    record = gym.store.get_session(play(gym, lines=("Could we book twenty minutes on Thursday?",
                                                    "Come on, just fifteen minutes then?")))
    plain_text = session_json(record)
    stored = next(iter(record.grades.values()))
    for secret in (stored.prompt, stored.raw_output, record.report["coach_raw"]):
        assert secret and json.dumps(secret, ensure_ascii=False)[1:-1] not in plain_text
    assert '"prompt"' not in plain_text and '"raw_output"' not in plain_text and '"coach_raw"' not in plain_text
    audited = session_dict(record, audit=True)
    # Grades come back keyed by turn id in no set order (two workers grade in parallel): match by turn.
    first_reply = next(t for t in record.turns if t.speaker == "rep")
    stored = record.grades[first_reply.id]
    grade = next(t["grade"] for t in audited["turns"] if t["speaker"] == "rep")
    assert grade["audit"]["prompt"] == stored.prompt and grade["audit"]["raw_output"] == stored.raw_output
    assert grade["audit"]["signals"] == stored.signals
    assert "coach_raw" in audited["report"]


@pytest.mark.parametrize(("grades", "expected"), [
    ("skip", {"scored": False, "scores": {}, "dimensions": {}, "unscored_reason": GRADING_SKIPPED}),
    ("missing", None),
])
def test_unscored_and_missing_grades_in_the_json(gym: Gym, grades: str, expected: dict | None) -> None:
    record = gym.store.get_session(play(gym, owner=None, grade=False))
    if grades == "missing":
        record.grades.clear()
    data = session_dict(record)
    assert data["session"]["owner"] is None
    reps = [t["grade"] for t in data["turns"] if t["speaker"] == "rep"]
    assert len(reps) == 2
    for got in reps:
        if expected is None:
            assert got is None
        else:
            assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize(("value", "expected"), [
    (datetime(2025, 3, 1, 9, 30, 5, 123456, tzinfo=UTC), "2025-03-01T09:30:05Z"),
    (datetime(2025, 3, 1, 9, 30, 5), "2025-03-01T09:30:05Z"),  # naive: UTC, as SQLite gives it back
    (datetime.fromisoformat("2025-03-01T11:30:05+02:00"), "2025-03-01T09:30:05Z"),
    (None, None),
])
def test_times_are_iso_8601_utc(value: datetime | None, expected: str | None) -> None:
    assert iso_utc(value) == expected


# --- CSV: safe in a spreadsheet --------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://e/x","click")', '\'=HYPERLINK("http://e/x","click")'),
    ("+1", "'+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("a=b", "a=b"),
    ("ana", "ana"),
    ("", ""),
    (None, ""),
    (True, "true"),
    (False, "false"),
    (4, "4"),
])
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(value: object, expected: str) -> None:
    assert csv_cell(value) == expected
    started = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    text = value if isinstance(value, str) else None
    row = ScoreRow(owner=text, session_id="s1", session_started=started, persona_id=text or PERSONA,
                   persona_version="v1", turn_id=1, turn=1, replied_at=started, scored=False, unscored_reason=text)
    (header, line) = list(csv.reader(io.StringIO(scores_csv([row]))))
    cells = dict(zip(header, line, strict=True))
    assert cells["owner"] == cells["unscored_reason"] == (expected if text is not None else "")
    if text:
        assert cells["persona_id"] == expected


def test_scores_csv_has_one_line_per_reply_and_never_a_default_score() -> None:
    started = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    base = {"owner": "ana", "session_id": "s1", "session_started": started, "persona_id": PERSONA,
            "persona_version": "v1", "replied_at": started}
    rows = [
        ScoreRow(**base, turn_id=2, turn=1, scored=True, curiosity=4, composure=5, restraint=3),
        ScoreRow(**base, turn_id=4, turn=2, scored=False, unscored_reason="the grader's model failed, tried twice"),
        ScoreRow(**base, turn_id=6, turn=3, scored=None),
    ]
    text = scores_csv(rows)
    assert text.startswith(",".join(SCORE_COLUMNS) + "\r\n")
    assert list(csv.reader(io.StringIO(text)))[1:] == [
        ["ana", "s1", "2025-03-01T09:30:00Z", PERSONA, "v1", "1", "4", "5", "3", "true", ""],
        ["ana", "s1", "2025-03-01T09:30:00Z", PERSONA, "v1", "2", "", "", "", "false",
         "the grader's model failed, tried twice"],
        ["ana", "s1", "2025-03-01T09:30:00Z", PERSONA, "v1", "3", "", "", "", "", ""],
    ]
    assert scores_csv([]) == ",".join(SCORE_COLUMNS) + "\r\n"


# --- The store's score rows ------------------------------------------------------------------

def a_grade(score: int) -> Grade:
    dims = {d: DimensionGrade(score=score, model_score=score, evidence=None, note="n") for d in Dimension}
    return Grade(scored=True, dimensions=dims, model="fake-grader")


def test_score_rows_join_sessions_turns_and_grades(store: Store) -> None:  # noqa: F811
    ana = new_session(store, owner="ana")
    store.add_turn(ana, "prospect", "Dana.", move="open")
    first = store.add_turn(ana, "rep", "What made Fleetly the right fit?")
    store.add_grade(ana, first, a_grade(4))
    store.add_turn(ana, "prospect", "Price.", move="answer")
    second = store.add_turn(ana, "rep", "And why now?")
    store.add_grade(ana, second, Grade.unscored("the grader's model failed"))
    third = store.add_turn(ana, "rep", "Could I call in March?")  # not graded yet
    ben = new_session(store, owner="ben")
    bens = store.add_turn(ben, "rep", "Hi")
    store.add_grade(ben, bens, a_grade(2))
    nobody = new_session(store, owner=None)
    store.add_turn(nobody, "rep", "Hello")
    new_session(store, owner="ana")  # no reply: not a row

    rows = store.score_rows()
    assert [(r.owner, r.session_id, r.turn_id, r.turn) for r in rows] == [
        ("ana", ana, first, 1), ("ana", ana, second, 2), ("ana", ana, third, 3), ("ben", ben, bens, 1),
        (None, nobody, rows[-1].turn_id, 1),
    ]
    assert [(r.scored, r.curiosity, r.composure, r.restraint, r.unscored_reason) for r in rows[:4]] == [
        (True, 4, 4, 4, None), (False, None, None, None, "the grader's model failed"),
        (None, None, None, None, None), (True, 2, 2, 2, None),
    ]
    assert rows[0].persona_id == "happy_incumbent" and rows[0].persona_version == "abc123"
    assert rows[0].session_started.tzinfo is not None and rows[0].replied_at >= rows[0].session_started
    assert [r.turn_id for r in store.score_rows(["ana"])] == [first, second, third]
    assert [r.owner for r in store.score_rows({"ben", "ana"})] == ["ana", "ana", "ana", "ben"]
    assert store.score_rows([]) == [] and store.score_rows(["nobody"]) == []


# --- roleplay export ... ---------------------------------------------------------------------

@pytest.fixture
def cli_db(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the command line at the test database."""
    monkeypatch.setenv("ROLEPLAY_DATABASE_URL", settings.db_url)
    return settings.db_url


def test_export_session_prints_markdown_or_writes_json(gym: Gym, cli_db: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    session_id = play(gym, lines=("Could we book twenty minutes on Thursday?", "Come on, just fifteen minutes then?"))
    assert main(["export", "session", session_id]) == 0
    out = capsys.readouterr().out
    assert out == session_markdown(gym.store.get_session(session_id))
    assert out.startswith("# Practice call with Dana Whitfield")

    target = tmp_path / "session.json"
    assert main(["export", "session", session_id, "--format", "json", "--out", str(target)]) == 0
    assert capsys.readouterr().out == ""
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["session"]["id"] == session_id
    assert all(t["grade"]["audit"] is None for t in data["turns"] if t["speaker"] == "rep")
    assert main(["export", "session", session_id, "--format", "json", "--audit"]) == 0
    assert json.loads(capsys.readouterr().out)["turns"][1]["grade"]["audit"]["prompt"]


def test_export_of_an_unknown_session_fails_clearly(gym: Gym, cli_db: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    play(gym)
    assert main(["export", "session", "no-such-session"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "no session 'no-such-session'" in captured.err


def test_export_without_a_database_fails_and_creates_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "roleplay.db"
    monkeypatch.setenv("ROLEPLAY_DATABASE_URL", f"sqlite:///{missing}")
    assert main(["export", "scores"]) == 1
    assert f"no database at {missing}" in capsys.readouterr().err and not missing.exists()


@pytest.mark.parametrize(("owners", "expected"), [
    ([], ["ana", "ana", "ben", ""]),
    (["--owner", "ana"], ["ana", "ana"]),
    (["--owner", "ben", "--owner", "ana"], ["ana", "ana", "ben"]),
    (["--owner", "cy"], []),
])
def test_export_scores_writes_csv_by_owner(gym: Gym, cli_db: str, capsys: pytest.CaptureFixture[str],
                                           owners: list[str], expected: list[str]) -> None:
    play(gym, owner="ana")
    play(gym, owner="ben", lines=("What made Fleetly the right fit?",))
    play(gym, owner=None, lines=("Hello?",))
    assert main(["export", "scores", *owners]) == 0
    header, *lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(header) == SCORE_COLUMNS
    assert [line[0] for line in lines] == expected
    assert all(line[9] == "true" and line[6] for line in lines)


def test_export_scores_of_a_team_takes_its_members(gym: Gym, cli_db: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    gym.accounts.scrypt_n = 2**10
    gym.accounts.add("ana", "correct horse battery", "rep", "east")
    gym.accounts.add("ben", "correct horse battery", "rep", "west")
    play(gym, owner="ana")
    play(gym, owner="ben", lines=("What made Fleetly the right fit?",))
    assert main(["export", "scores", "--team", "east"]) == 0
    _, *lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert {line[0] for line in lines} == {"ana"}
    assert main(["export", "scores", "--team", "north"]) == 1
    assert "no accounts in team 'north'" in capsys.readouterr().err
