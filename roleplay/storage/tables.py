"""The schema: sessions, turns, grades, the grading jobs of replies not graded yet, reports, attempts,
drill runs, follow-ups, the delivery of spoken replies and their recordings (game film), and the
people of team mode: accounts, disabled accounts, failed sign-ins and the audit log (SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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
#: A call's turns have one position each: of two processes storing turn n of one call, one wins.
Index("ux_turns_session_idx", turns.c.session_id, turns.c.idx, unique=True)
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
#: A rep reply waiting for its grade, leased to the process grading it (``leased_by``) until
#: ``leased_until``. That process renews the lease while it lives; when the lease lapses (the
#: process was killed), any process takes the job over. The row goes when the grade is stored.
#: A table of its own, so databases made before it gain it without a column change.
grading_jobs = Table(
    "grading_jobs", metadata,
    Column("turn_id", Integer, ForeignKey("turns.id"), primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False, index=True),
    Column("leased_by", String(128)),
    Column("leased_until", DateTime(timezone=True), index=True),
    #: How many times a process took the job; after a few, the reply is stored unscored.
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
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
#: An account that may not sign in (``roleplay users disable``); it keeps its sessions. A table of
#: its own, so databases made before it gain it without a column change.
disabled_users = Table(
    "disabled_users", metadata,
    Column("username", String(64), ForeignKey("users.username"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: A failed sign-in, kept while it counts for the throttle (``roleplay.team.signin``) and pruned
#: after. ``name_key`` is a slow hash of the name that was typed, never the name itself: a name
#: that is no account may be a password typed into the wrong box.
sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name_key", String(64), nullable=False, index=True),
    Column("address", String(64), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)
#: Who did what to which account, when: sign-ins (with the client's address) and every change an
#: admin makes. Never a password; a sign-in's ``account`` is empty when the name typed is no account.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(32), nullable=False),
    Column("account", String(64), index=True),
    Column("actor", String(128)),
    Column("address", String(64)),
    Column("detail", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
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
#: A session whose audio the rep chose to keep (the voice panel's game film box, off unless
#: ticked). Without a row, no audio of the session is stored: ``recordings`` are written only while
#: it exists, and removing it removes them. A table of its own, so databases made before it gain it.
film_consents = Table(
    "film_consents", metadata,
    Column("session_id", String(36), ForeignKey("sessions.id"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: The audio of one spoken line of a session that keeps its film: the rep's recording of a spoken
#: reply, or the prospect's voice as the rep heard it (Ogg/Opus, a few kB a second). In the
#: database, so every app process (and PostgreSQL) serves it and deleting the session deletes it.
recordings = _of_a_session(
    "recordings",
    Column("turn_id", Integer, ForeignKey("turns.id"), nullable=False, unique=True),
    Column("mime", String(32), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("audio", LargeBinary, nullable=False),
)
