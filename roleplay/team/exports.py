"""Exports: one session as Markdown or JSON, a team's scores as CSV.

Markdown is for people: every word a rep or a model wrote goes through ``rendering.plain``, so it
renders as text (never a tag, a script, a link or an image). JSON is for scripts: a stable,
versioned structure (``SessionExport``, ``SCHEMA_VERSION``); the grader's prompts and raw
answers are left out unless asked for (``audit=True``). CSV is for spreadsheets: a cell that a
spreadsheet would read as a formula gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from roleplay.judge import DIMENSIONS, Grade, Report
from roleplay.rendering import plain, report_markdown
from roleplay.storage import Attempt, Delivery, ScoreRow, SessionRecord, TurnRecord

log = logging.getLogger(__name__)

#: Bumped whenever a field of ``SessionExport`` changes meaning or disappears (adding one does not).
SCHEMA_VERSION = 1


def iso_utc(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 in UTC to the second, e.g. ``2025-03-01T09:30:00Z``."""
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- JSON ---------------------------------------------------------------------------------


class DimensionExport(BaseModel):
    score: int
    #: The model's own score, on grades made before the reader scored (None since).
    model_score: int | None = None
    #: The rep's own words the score rests on (``None`` when the model's quote was not found).
    evidence: str | None
    note: str
    #: A line to say instead, proven by the reader to score higher here; where it came from
    #: ("model" or "library"), and why the model's line was not shown, when it was not.
    try_instead: str | None = None
    try_instead_source: str | None = None
    fallback_reason: str | None = None


class GradeAudit(BaseModel):
    prompt: str
    raw_output: str
    #: Code signals, on grades made before the reader.
    signals: dict[str, Any]
    #: The reader's reading of the reply (``roleplay.understanding.Reading``), behind the scores.
    reading: dict[str, Any] = {}


class GradeExport(BaseModel):
    scored: bool
    #: ``{"curiosity": 4, ...}``; empty when unscored.
    scores: dict[str, int]
    dimensions: dict[str, DimensionExport]
    unscored_reason: str | None
    #: Why the notes are missing when the model could not write them (the scores stand).
    notes_unavailable: str | None = None
    model: str
    prompt_hash: str
    #: The grader's full prompt, raw answer and the reading: only with ``audit=True``.
    audit: GradeAudit | None = None


class TurnExport(BaseModel):
    #: Position in the call, from 0 (the prospect's opening line).
    index: int
    speaker: str
    text: str
    #: The prospect's move (``open``, ``object``, ``refuse``, ``hang_up``...); ``None`` for the rep.
    move: str | None
    #: The rep's reply number, from 1; ``None`` for the prospect.
    reply: int | None
    #: Why the persona's own line replaced the prospect model's words, if it did.
    fallback_reason: str | None
    #: Rep turns only; ``None`` while the reply is not graded yet.
    grade: GradeExport | None
    #: A spoken reply's delivery (``roleplay.voice.delivery.ReplyDelivery``: words, speaking_s,
    #: pace_wpm, fillers, talk_over_s, summary) and ``prospect_s``, how long the prospect's spoken
    #: answer lasted; ``None`` for a typed reply and for the prospect.
    delivery: dict[str, Any] | None = None
    #: The turn's stored metadata (the model's raw words, retries): only with ``audit=True``.
    audit: dict[str, Any] | None = None


class SessionMeta(BaseModel):
    id: str
    #: The rep's username; ``None`` in single-user mode.
    owner: str | None
    persona_id: str
    persona_version: str
    persona_name: str
    prompt_versions: dict[str, str]
    models: dict[str, str]
    created_at: str
    ended_at: str | None
    #: ``rep``, ``prospect`` (hung up), or ``None`` while the call is going on.
    ended_by: str | None
    #: ``closed``, ``not_now`` or ``open``; ``None`` if unknown.
    door: str | None
    #: When this call takes a moment of another again: ``{"session_id", "parent_id", "reply"}``.
    attempt_of: Attempt | None = None
    #: The calls that take a moment of this one again, oldest first.
    attempts: list[Attempt] = []
    #: The drill this call played (``prompts/drills.yaml``), if it was one.
    drill_id: str | None = None
    #: When this is a follow-up call: the first call's id; and the follow-ups placed after this one.
    follow_up_of: str | None = None
    follow_ups: list[str] = []


class SessionExport(BaseModel):
    """The JSON export of one session (``session_dict``)."""

    schema_version: int = SCHEMA_VERSION
    session: SessionMeta
    turns: list[TurnExport]
    #: The coach's report (the fields of ``roleplay.judge.coach.Report``), or ``None`` before the end.
    #: Its ``coach_raw`` (the model's raw answer) is kept only with ``audit=True``.
    report: dict[str, Any] | None


def _grade_export(grade: Grade, audit: bool) -> GradeExport:
    return GradeExport(
        scored=grade.scored, scores=grade.scores if grade.scored else {},
        dimensions={d.value: DimensionExport(**g.model_dump()) for d, g in grade.dimensions.items()},
        unscored_reason=grade.unscored_reason, notes_unavailable=grade.notes_unavailable, model=grade.model,
        prompt_hash=grade.prompt_hash,
        audit=GradeAudit(prompt=grade.prompt, raw_output=grade.raw_output, signals=grade.signals,
                         reading=grade.reading) if audit else None,
    )


def _delivery_export(spoken: Delivery | None) -> dict[str, Any] | None:
    return None if spoken is None else {**spoken.figures, "prospect_s": spoken.prospect_s}


def _door(record: SessionRecord) -> str | None:
    door = (record.report or {}).get("door") or (record.state or {}).get("door")
    return str(door) if door is not None else None


def persona_name(record: SessionRecord) -> str:
    """The persona's name on one line (it heads the Markdown and labels each prospect turn)."""
    return " ".join(str(record.persona.get("name") or record.persona_id).split()) or record.persona_id


def _replies(turns: list[TurnRecord]) -> dict[int, int]:
    """Reply number (from 1) of each rep turn, by turn id."""
    rep_ids = [t.id for t in turns if t.speaker == "rep"]
    return {turn_id: n for n, turn_id in enumerate(rep_ids, start=1)}


def session_export(record: SessionRecord, audit: bool = False) -> SessionExport:
    """The stored session ``record`` as a ``SessionExport``.

    Args:
        record: what ``Store.get_session`` returned.
        audit: include the grader's prompts, raw answers and signals, each prospect turn's
            stored metadata and the coach's raw answer.

    Returns:
        The export model; ``session_dict`` and ``session_json`` serialise it.
    """
    replies = _replies(record.turns)
    turns = []
    for turn in record.turns:
        grade = record.grades.get(turn.id) if turn.speaker == "rep" else None
        turns.append(TurnExport(
            index=turn.idx, speaker=turn.speaker, text=turn.text, move=turn.move, reply=replies.get(turn.id),
            fallback_reason=(turn.meta or {}).get("fallback_reason"),
            grade=_grade_export(grade, audit) if grade is not None else None,
            delivery=_delivery_export(record.deliveries.get(turn.id)),
            audit=(turn.meta or {}) if audit else None,
        ))
    report = dict(record.report) if record.report is not None else None
    if report is not None and not audit:
        report.pop("coach_raw", None)
    meta = SessionMeta(
        id=record.id, owner=record.owner, persona_id=record.persona_id, persona_version=record.persona_version,
        persona_name=persona_name(record), prompt_versions=record.prompt_versions, models=record.models,
        created_at=iso_utc(record.created_at), ended_at=iso_utc(record.ended_at), ended_by=record.ended_by,
        door=_door(record), attempt_of=record.attempt_of, attempts=record.attempts, drill_id=record.drill_id,
        follow_up_of=record.follow_up_of, follow_ups=record.follow_ups,
    )
    return SessionExport(session=meta, turns=turns, report=report)


def session_dict(record: SessionRecord, audit: bool = False) -> dict[str, Any]:
    """The session as a JSON-ready dict (see ``SessionExport`` for every field).

    Args:
        record: what ``Store.get_session`` returned.
        audit: also include the grader's prompts and raw answers (see ``session_export``).

    Returns:
        ``{"schema_version": 1, "session": {...}, "turns": [...], "report": {...} | None}``.
    """
    return session_export(record, audit).model_dump(mode="json")


def session_json(record: SessionRecord, audit: bool = False) -> str:
    """The session as indented JSON text (UTF-8 characters kept as they are).

    Args:
        record: what ``Store.get_session`` returned.
        audit: also include the grader's prompts and raw answers (see ``session_export``).

    Returns:
        The JSON document, ending with a newline.
    """
    return json.dumps(session_dict(record, audit), ensure_ascii=False, indent=2) + "\n"


# --- Markdown -----------------------------------------------------------------------------

_DOORS = {"closed": "closed", "not_now": "not now", "open": "open"}
_ENDED_BY = {"rep": "the rep", "prospect": "the prospect (hung up)"}


def _grade_lines(grade: Grade | None) -> list[str]:
    if grade is None:
        return ["*not graded yet*"]
    if not grade.scored:
        return [f"*unscored: {plain(grade.unscored_reason or 'no reason recorded')}*"]
    lines = [", ".join(f"{d.value} **{grade.dimensions[d].score}**" for d in DIMENSIONS if d in grade.dimensions)]
    if grade.notes_unavailable:
        lines.append(f"- *no notes*: {plain(grade.notes_unavailable)}")
    for dim in DIMENSIONS:
        g = grade.dimensions.get(dim)
        if g is None:
            continue
        evidence = f"“{plain(g.evidence)}” — " if g.evidence else ""
        lines.append(f"- *{dim.value}*: {evidence}{plain(g.shown)}")
    return lines


def _report_section(record: SessionRecord) -> str | None:
    if record.report is None:
        return None
    try:
        report = Report.model_validate(record.report)
    except ValidationError as exc:
        log.warning("session %s: the stored report cannot be read: %s", record.id, exc)
        return "## Coaching report\n\n*The stored report could not be read.*"
    return report_markdown(report, persona_name(record))


def _multiline(text: str) -> str:
    """Escaped ``text`` as one paragraph whose line breaks stay line breaks once rendered.

    Blank lines are dropped: they would end the paragraph, and an indented line after one
    would become a code block (where the escapes show).
    """
    return "  \n".join(plain(line.strip()) for line in text.split("\n") if line.strip())


def session_markdown(record: SessionRecord) -> str:
    """The session as a Markdown document: header, transcript with every grade, the report.

    Everything a rep or a model wrote is escaped with ``rendering.plain``: it renders as text.

    Args:
        record: what ``Store.get_session`` returned.

    Returns:
        Markdown text, ending with a newline.
    """
    name = persona_name(record)
    door = _door(record)
    door_text = _DOORS.get(door, plain(door)) if door else "unknown"
    when = (record.report or {}).get("door_when")
    if door == "not_now" and when:
        door_text += f" — try again {plain(str(when))}"
    header = [
        f"# Practice call with {plain(name)}",
        "",
        f"- **Persona:** {plain(name)} ({plain(record.persona_id)}), version {plain(record.persona_version)}",
        f"- **Date:** {record.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
    ]
    if record.owner is not None:
        header.append(f"- **Rep:** {plain(record.owner)}")
    ended = _ENDED_BY.get(record.ended_by, plain(record.ended_by)) if record.ended_by else "not ended yet"
    header += [f"- **Ended by:** {ended}", f"- **Door:** {door_text}"]
    if (source := record.attempt_of) is not None:
        header.append(f"- **Takes again:** reply {source.reply} of session {source.parent_id} "
                      "(the replies before it are that call's)")
    header += [f"- **Taken again:** reply {a.reply} in session {a.session_id}" for a in record.attempts]
    if record.drill_id:
        header.append(f"- **Drill:** {plain(record.drill_id)} (the first lines are the drill's)")
    if record.follow_up_of:
        header.append(f"- **Follow-up of:** session {record.follow_up_of}")
    header += [f"- **Called back:** session {s}" for s in record.follow_ups]
    blocks = ["\n".join(header), "## Transcript"]
    replies = _replies(record.turns)
    for turn in record.turns:
        if turn.speaker == "rep":
            blocks.append(f"**Rep, reply {replies[turn.id]}:** {_multiline(turn.text)}")
            graded = _grade_lines(record.grades.get(turn.id))
            if (spoken := record.deliveries.get(turn.id)) is not None:
                graded.append(f"- *delivery*: {plain(spoken.summary)}")
            blocks.append("\n".join(graded))
        else:
            blocks.append(f"**{plain(name)}:** {_multiline(turn.text)}")
    if (report := _report_section(record)) is not None:
        blocks.append(report)
    return "\n\n".join(blocks) + "\n"


# --- CSV ----------------------------------------------------------------------------------

#: The columns of ``scores_csv``, in order.
SCORE_COLUMNS = ("owner", "session_id", "session_started", "persona_id", "persona_version", "turn",
                 "curiosity", "composure", "restraint", "scored", "unscored_reason")

#: A cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text: formulas get a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def scores_csv(rows: Iterable[ScoreRow]) -> str:
    """Scores as CSV: a header (``SCORE_COLUMNS``), then one line per rep reply.

    ``scored`` is ``true`` or ``false`` (unscored, with its ``unscored_reason``); it is empty,
    like the scores, for a reply not graded yet. An unscored reply has empty scores, never a
    default. Times are ISO 8601 UTC.

    Args:
        rows: what ``Store.score_rows`` returned.

    Returns:
        CSV text (RFC 4180: comma-separated, CRLF line ends, quoted where needed).
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SCORE_COLUMNS)
    for row in rows:
        values = {**row.model_dump(), "session_started": iso_utc(row.session_started)}
        writer.writerow([csv_cell(values[column]) for column in SCORE_COLUMNS])
    return out.getvalue()
