"""Baseline: the schema of release 0.1.0, the last made without migrations.

Each release before migrations created, when it started, whichever of these tables the database
lacked; so a database it made holds all of them, or the first few for an older one. Every table
and index is therefore created only if it is missing: a database without a revision runs this
one to become the baseline, whatever release made it, and a new database gets every table.
Never change this file once released; later changes are later revisions.

Revision ID: d411d6dc2a09
Revises:
Create Date: 2026-12-06 18:21:41.291892
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d411d6dc2a09"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def _session_id() -> sa.Column:
    return sa.Column("session_id", sa.String(length=36), nullable=False)


def _of_a_session(name: str, *items: sa.schema.SchemaItem) -> None:
    """A table whose rows belong to a session: an id, the session (indexed), ``items``, when it was made."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _session_id(),
        *items,
        _created_at(),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(f"ix_{name}_session_id", name, ["session_id"], unique=False, if_not_exists=True)


def _one_per_session(name: str, *items: sa.schema.SchemaItem) -> None:
    """A table with at most one row for a session, keyed by it: the session, ``items``, when it was made."""
    op.create_table(
        name,
        _session_id(),
        *items,
        _created_at(),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.PrimaryKeyConstraint("session_id"),
        if_not_exists=True,
    )


def _of_a_turn() -> tuple[sa.schema.SchemaItem, ...]:
    """The rep's turn a row is about: at most one row for each."""
    return (sa.Column("turn_id", sa.Integer(), nullable=False), sa.ForeignKeyConstraint(["turn_id"], ["turns.id"]),
            sa.UniqueConstraint("turn_id"))


def _parent() -> tuple[sa.schema.SchemaItem, ...]:
    """The session another is made from (indexed by the caller)."""
    return (sa.Column("parent_id", sa.String(length=36), nullable=False),
            sa.ForeignKeyConstraint(["parent_id"], ["sessions.id"]))


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("persona_id", sa.String(length=64), nullable=False),
        sa.Column("persona_version", sa.String(length=32), nullable=False),
        sa.Column("persona", sa.JSON(), nullable=False),
        sa.Column("prompt_versions", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        _created_at(),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _of_a_session(
        "turns",
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("move", sa.String(length=16), nullable=True),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
    )
    _of_a_session(
        "grades",
        *_of_a_turn(),
        sa.Column("scored", sa.Boolean(), nullable=False),
        sa.Column("curiosity", sa.Integer(), nullable=True),
        sa.Column("composure", sa.Integer(), nullable=True),
        sa.Column("restraint", sa.Integer(), nullable=True),
        sa.Column("dimensions", sa.JSON(), nullable=True),
        sa.Column("unscored_reason", sa.Text(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("raw_output", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("prompt_hash", sa.String(length=32), nullable=True),
        sa.Column("signals", sa.JSON(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("username"),
        if_not_exists=True,
    )
    op.create_index("ix_users_team", "users", ["team"], unique=False, if_not_exists=True)
    _one_per_session("reports", sa.Column("body", sa.JSON(), nullable=False))
    _one_per_session("attempts", *_parent(), sa.Column("at_reply", sa.Integer(), nullable=False))
    op.create_index("ix_attempts_parent_id", "attempts", ["parent_id"], unique=False, if_not_exists=True)
    _one_per_session("drill_runs", sa.Column("drill_id", sa.String(length=64), nullable=False))
    _one_per_session("follow_ups", *_parent())
    op.create_index("ix_follow_ups_parent_id", "follow_ups", ["parent_id"], unique=False, if_not_exists=True)
    _of_a_session(
        "deliveries",
        *_of_a_turn(),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("prospect_s", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    for table in ("deliveries", "follow_ups", "drill_runs", "attempts", "reports", "users", "grades", "turns",
                  "sessions"):
        op.drop_table(table)  # its indexes go with it
