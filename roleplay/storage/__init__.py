"""Storage of sessions, turns, grades, reports, attempts, drill runs, the delivery of spoken
replies and their recordings, and the people of team mode, through SQLAlchemy.

- ``store``: ``Store`` and ``create_store(url)``, the only way the app reads or writes.
- ``people``: the store's methods for accounts, failed sign-ins and the audit log.
- ``films``: the store's methods for a call's audio (kept only with the rep's consent) and for
  deleting a call with everything of it.
- ``records``: the typed records it returns.
- ``tables``: the schema.
"""

from roleplay.storage.records import Attempt, Delivery, Recording, ScoreRow, SessionRecord, TurnRecord
from roleplay.storage.store import Store, create_store

__all__ = ["Attempt", "Delivery", "Recording", "ScoreRow", "SessionRecord", "Store", "TurnRecord", "create_store"]
