"""Storage of sessions, turns, grades, reports, attempts and drill runs, through SQLAlchemy.

- ``store``: ``Store`` and ``create_store(url)``, the only way the app reads or writes.
- ``records``: the typed records it returns.
- ``tables``: the schema.
"""

from roleplay.storage.records import Attempt, ScoreRow, SessionRecord, TurnRecord
from roleplay.storage.store import Store, create_store

__all__ = ["Attempt", "ScoreRow", "SessionRecord", "Store", "TurnRecord", "create_store"]
