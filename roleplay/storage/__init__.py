"""Storage of sessions, turns, grades, grading jobs, reports, attempts, drill runs, the delivery of
spoken replies and their recordings, and the people of team mode, through SQLAlchemy.

- ``store``: ``Store`` and ``create_store(url)``, the only way the app reads or writes.
- ``people``: the store's methods for accounts, failed sign-ins and the audit log.
- ``jobs``: the store's methods for grading jobs, leased to the process grading them.
- ``films``: the store's methods for a call's audio (kept only with the rep's consent) and for
  deleting a call with everything of it.
- ``records``: the typed records it returns.
- ``tables``: the schema.
- ``migrations``: its revisions (Alembic); a store brings its database to the newest when it
  opens it, and ``SchemaError`` says when it cannot.
"""

from roleplay.storage.jobs import Lease
from roleplay.storage.migrations import SchemaError
from roleplay.storage.records import (
    Attempt,
    Delivery,
    Job,
    NewTurn,
    Recording,
    ScoreRow,
    SessionRecord,
    TurnConflict,
    TurnRecord,
)
from roleplay.storage.store import Store, create_store

__all__ = [
    "Attempt", "Delivery", "Job", "Lease", "NewTurn", "Recording", "SchemaError", "ScoreRow", "SessionRecord", "Store",
    "TurnConflict", "TurnRecord", "create_store",
]
