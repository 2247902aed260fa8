"""The schema: sessions, turns, grades, reports, attempts, drill runs, follow-ups and the delivery of
spoken replies (SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

sessions = Table(
    "sessions", metadata,
    Column("id", String(36), primary_key=True),
    Column("persona_id", String(64), nullable=False),
    Column("persona_version", String(32), nullable=False),
    Column("persona", JSON, nullable=False),
    Column("prompt_versions", JSON, nullable=False),
    Column("models", JSON, nullable=False),
    Column("owner", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("ended_by", String(16)),
    Column("state", JSON),
)
def _of_a_session(name: str, *columns: Column) -> Table:
    """A table whose rows belong to a session: an id, the session, ``columns``, when it was made."""
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False, index=True),
        *columns,
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


turns = _of_a_session(
    "turns",
    Column("idx", Integer, nullable=False),
    Column("speaker", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("move", String(16)),
    Column("state", JSON),
    Column("meta", JSON),
)
grades = _of_a_session(
    "grades",
    Column("turn_id", Integer, ForeignKey("turns.id"), nullable=False, unique=True),
    Column("scored", Boolean, nullable=False),
    Column("curiosity", Integer),
    Column("composure", Integer),
    Column("restraint", Integer),
    Column("dimensions", JSON),
    Column("unscored_reason", Text),
    Column("prompt", Text),
    Column("raw_output", Text),
    Column("model", String(200)),
    Column("prompt_hash", String(32)),
    Column("signals", JSON),
    Column("seconds", Float),
)
users = Table(
    "users", metadata,
    Column("username", String(64), primary_key=True),
    #: ``scrypt$n$r$p$salt$hash`` (roleplay.team.accounts); never the password itself.
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("team", String(64), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
reports = Table(
    "reports", metadata,
    Column("session_id", String(36), ForeignKey("sessions.id"), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: A session that takes a moment of another again: it starts as a copy of ``parent_id`` up to
#: the rep's reply ``at_reply`` (its prospect state as it was then), and the rep answers anew.
#: A table of its own, so databases made before it gain it without a column change.
attempts = Table(
    "attempts", metadata,
    Column("session_id", String(36), ForeignKey("sessions.id"), primary_key=True),
    Column("parent_id", String(36), ForeignKey("sessions.id"), nullable=False, index=True),
    Column("at_reply", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: A session that plays a drill (``roleplay.drills``): its first lines are the drill's moment.
drill_runs = Table(
    "drill_runs", metadata,
    Column("session_id", String(36), ForeignKey("sessions.id"), primary_key=True),
    Column("drill_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: A follow-up call: the same persona calling back after ``parent_id`` ended.
follow_ups = Table(
    "follow_ups", metadata,
    Column("session_id", String(36), ForeignKey("sessions.id"), primary_key=True),
    Column("parent_id", String(36), ForeignKey("sessions.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: How a spoken reply was said: its delivery figures (``roleplay.voice.delivery.ReplyDelivery``
#: as JSON: words, pace, fillers, talking over, a one-line summary) and how many seconds the
#: prospect's spoken answer to it lasted. Typed replies have no row. A table of its own, so
#: databases made before it gain it without a column change.
deliveries = _of_a_session(
    "deliveries",
    Column("turn_id", Integer, ForeignKey("turns.id"), nullable=False, unique=True),
    Column("figures", JSON, nullable=False),
    Column("prospect_s", Float),
)
