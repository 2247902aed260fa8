"""The database commands: where its schema stands, upgrading it, and new revisions (developers)."""

from __future__ import annotations

import argparse
import json
import sys

from roleplay.cli.common import sqlite_file_missing
from roleplay.config import load_settings


def _engine_of_settings():
    """An engine on the settings' database, or ``None`` (after saying why) if its SQLite file is
    missing: these commands never create a database."""
    from sqlalchemy import create_engine

    url = load_settings().db_url
    return None if sqlite_file_missing(url) else create_engine(url)


def cmd_db_current(args: argparse.Namespace) -> int:
    from roleplay.storage.migrations import schema_state

    engine = _engine_of_settings()
    if engine is None:
        return 1
    try:
        state = schema_state(engine)
    finally:
        engine.dispose()
    up_to_date = state.current == state.head
    if args.json:
        print(json.dumps({"current": state.current, "head": state.head, "up_to_date": up_to_date,
                          "known": state.known, "summary": state.summary}))
    else:
        print(state.summary)
    return 1 if not state.known or (args.check and not up_to_date) else 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from roleplay.storage.migrations import SchemaError, upgrade

    engine = _engine_of_settings()
    if engine is None:
        return 1
    try:
        before, after = upgrade(engine)
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if before == after:
        print(f"already up to date: {after.where}")
    else:
        print(f"upgraded: the database was {before.where}; it is now {after.where}")
    return 0


def cmd_db_revision(args: argparse.Namespace) -> int:
    from roleplay.storage.migrations import SchemaError, new_revision

    try:
        path = new_revision(args.message, url=args.database_url, autogenerate=not args.empty)
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"written {path}: read it, then run tests/test_migrations.py (docs/migrations.md)")
    return 0
