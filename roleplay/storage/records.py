"""What the store hands out: sessions, turns and score rows as typed records, and the
conversion of a grade to and from its row. Times are UTC-aware on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, field_validator

from roleplay.judge import Grade


def utc_aware(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes (the UTC they were stored in); make them aware."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def without_nul(value: Any) -> Any:
    """``value`` without NUL characters, which PostgreSQL cannot store in text (or JSON text).

    Rep messages never have them (``call.clean_message``); a model's raw output might.
    """
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value


class NewTurn(BaseModel):
    """A turn to store (``Store.add_turns``); ``state`` also becomes the session's state."""

    speaker: str
    text: str
    move: str | None = None
    state: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class TurnRecord(NewTurn):
    """A stored turn: its id, and its position in the session (from 0)."""

    id: int
    idx: int


class TurnConflict(RuntimeError):
    """A turn was to be stored at a position the session has moved past, or after it ended
    (another process stored a turn or ended the call first). Nothing was stored."""


class Job(BaseModel):
    """A rep reply's grading, leased to a process (``Store.claim_jobs``)."""

    turn_id: int
    session_id: str
    #: How many times a process has taken it, this time included.
    attempts: int


class Delivery(BaseModel):
    """How a spoken reply was said, as stored (``Store.add_delivery``)."""

    turn_id: int
    #: ``roleplay.voice.delivery.ReplyDelivery`` as JSON: ``words``, ``speaking_s``, ``pace_wpm``,
    #: ``fillers``, ``talk_over_s`` and ``summary``, one plain line about them.
    figures: dict[str, Any]
    #: Seconds of the prospect's spoken answer to the reply; ``None`` when it was not spoken.
    prospect_s: float | None = None

    @property
    def summary(self) -> str:
        return str(self.figures.get("summary") or "")


class Recording(BaseModel):
    """The audio of one spoken line of a call that keeps its film (``Store.add_recording``)."""

    turn_id: int
    #: The audio's media type, as a browser's ``<audio>`` takes it (``audio/ogg``: Ogg/Opus).
    mime: str
    seconds: float
    audio: bytes


class Attempt(BaseModel):
    """One session taking reply ``reply`` of another again."""

    session_id: str  # the attempt
    parent_id: str  # the session whose moment it takes again
    reply: int


class SessionRecord(BaseModel):
    id: str
    persona_id: str
    persona_version: str
    persona: dict[str, Any]
    prompt_versions: dict[str, str]
    models: dict[str, str]
    owner: str | None
    created_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    state: dict[str, Any] | None
    turns: list[TurnRecord] = []
    grades: dict[int, Grade] = {}
    report: dict[str, Any] | None = None
    #: When this session takes a moment of another again: that session and the reply number.
    attempt_of: Attempt | None = None
    #: The sessions that take a moment of this one again, oldest first.
    attempts: list[Attempt] = []
    #: The drill this session plays (``roleplay.drills``), if it is one.
    drill_id: str | None = None
    #: When this session is a follow-up call: the first call's session id.
    follow_up_of: str | None = None
    #: The follow-up calls placed after this one, oldest first.
    follow_ups: list[str] = []
    #: How each spoken reply was said, by rep turn id (typed replies have none).
    deliveries: dict[int, Delivery] = {}

    @field_validator("created_at", "ended_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return utc_aware(value)


class ScoreRow(BaseModel):
    """One rep reply with its scores, for progress views and exports (``Store.score_rows``)."""

    owner: str | None
    session_id: str
    session_started: datetime
    persona_id: str
    persona_version: str
    turn_id: int
    #: The reply's number in its call, from 1 (as in the coach's report).
    turn: int
    replied_at: datetime
    #: ``None`` while the reply has no grade yet; ``False`` for an unscored grade.
    scored: bool | None
    curiosity: int | None = None
    composure: int | None = None
    restraint: int | None = None
    unscored_reason: str | None = None

    @field_validator("session_started", "replied_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return utc_aware(value)


def audit_json(grade: Grade) -> dict[str, Any]:
    """What the ``signals`` column holds: the reader's reading and why notes are missing (grades
    since the reader), or the code signals (older grades): one JSON column, as in the schema of
    release 0.1.0 (splitting it would now be a revision, docs/migrations.md)."""
    if grade.reading:
        return {"reading": grade.reading, "notes_unavailable": grade.notes_unavailable}
    return grade.signals


def grade_from_row(row: Any) -> Grade:
    audit = row["signals"] or {}
    if "reading" in audit:
        audit = {"reading": audit["reading"], "notes_unavailable": audit.get("notes_unavailable")}
    else:
        audit = {"signals": audit}
    return Grade(
        scored=row["scored"], dimensions=row["dimensions"] or {}, unscored_reason=row["unscored_reason"],
        prompt=row["prompt"] or "", raw_output=row["raw_output"] or "", model=row["model"] or "",
        prompt_hash=row["prompt_hash"] or "", seconds=row["seconds"] or 0.0, **audit,
    )
