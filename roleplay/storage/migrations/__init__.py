"""Migrations of the schema (Alembic), inside the package so that they ship with it.

- ``env.py``: the environment Alembic runs, always on a connection this module hands it;
- ``script.py.mako``: the template of a new revision;
- ``versions/``: the revisions. The first, the baseline, is the schema of release 0.1.0, the
  last made without migrations.

A store brings its database to the head revision when it opens it (``upgrade``). A new database
runs every revision. One made before migrations has no revision but tables: it runs the
baseline, which creates only the tables it lacks (each release before created whatever was
missing at start), and the revisions after. One at an older revision runs the revisions after
it. One at a revision this code does not know was upgraded by a newer release and is refused
(``SchemaError``). Processes that open one database at once take turns: an upgrade runs in one
transaction that holds PostgreSQL's advisory lock or SQLite's write lock, and reads the
revision only once it holds it, so the second process finds the work done. Within a process,
Alembic runs one migration at a time (its ``op`` is module-wide).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from roleplay.errors import ConfigError
from roleplay.storage.tables import sessions

log = logging.getLogger(__name__)

#: The migration environment: this folder.
SCRIPTS = Path(__file__).resolve().parent
#: The PostgreSQL advisory lock an upgrade holds (a number the app uses for nothing else).
_LOCK_KEY = 0x726F6C65  # "role"
#: Alembic's ``op`` and ``context`` are module-wide: one migration command at a time in a process
#: (stores of different databases may open at once on different threads).
_ALEMBIC = threading.Lock()
#: New revisions sort by date: ``20270115_1a2b3c4d5e6f_add_the_rep_s_goal.py``.
_FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"


class SchemaError(ConfigError):
    """The database's schema cannot be used by this code; the message says what to do."""


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against the code's revisions."""

    #: The revision stamped in the database; ``None`` when it has none (new, or made before migrations).
    current: str | None
    #: The code's newest revision.
    head: str
    #: Whether the database holds the app's tables (sessions).
    has_tables: bool
    #: Whether ``current`` is one of the code's revisions (``True`` when there is none).
    known: bool

    @property
    def where(self) -> str:
        """Where the database stands, in a few words."""
        if self.current is not None:
            return f"at {self.current}" + (" (head)" if self.current == self.head else "")
        return "made before migrations (release 0.1.0 or older)" if self.has_tables else "empty"

    @property
    def summary(self) -> str:
        """One line for an admin: where the database stands and what, if anything, to do."""
        if self.current == self.head:
            return f"{self.where}: up to date"
        if not self.known:
            return f"{self.where}, a revision this release does not know (head: {self.head}): {_NEWER}"
        if self.current is None and not self.has_tables:
            return f"empty (head: {self.head}): the app creates the tables when it starts"
        return f"{self.where}, behind head {self.head}: `roleplay db upgrade` or starting the app upgrades it"

    def check(self) -> None:
        """Raise ``SchemaError`` if this code cannot use or upgrade the database."""
        if not self.known:
            raise SchemaError(f"the database is {self.summary}")


_NEWER = ("a newer release of roleplay upgraded it; run that release (or restore a backup made before the "
          "upgrade)")


def schema_state(engine: Engine) -> SchemaState:
    """Where the database behind ``engine`` stands; it is only read.

    Args:
        engine: The database.

    Returns:
        Its revision, the code's head, and whether it holds tables.
    """
    with engine.connect() as conn:
        return _state(conn)


def upgrade(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Bring the database behind ``engine`` to the head revision, creating it if it is empty.

    Args:
        engine: The database.

    Returns:
        Where it stood before and where it stands after.

    Raises:
        SchemaError: It is at a revision this code does not know (a newer release's), or a
            revision failed (and nothing was changed).
    """
    with _migrating(engine) as conn:
        before = _state(conn)
        before.check()
        if before.current == before.head:
            return before, before
        try:
            with _ALEMBIC:
                command.upgrade(alembic_config(conn), "head")
        except SQLAlchemyError as exc:  # the transaction is rolled back as the error leaves it
            raise SchemaError(f"upgrading the database from {before.where} to {before.head} failed, and nothing was "
                              f"changed: {getattr(exc, 'orig', None) or exc}") from exc
        after = _state(conn)
    log.info("database upgraded from %s to %s", before.where, after.where)
    return before, after


def new_revision(message: str, url: str | None = None, autogenerate: bool = True) -> Path:
    """Write a new revision into ``versions/``: what ``roleplay.storage.tables`` changed since the
    head revision (autogenerated), or an empty one to write by hand.

    Args:
        message: What the revision does (it also names the file).
        url: The database to compare with, at head; by default a new SQLite database that the
            revisions so far bring to head.
        autogenerate: Compare with the tables; ``False`` for an empty revision.

    Returns:
        The new file.

    Raises:
        SchemaError: The database is not at head, or the tables have not changed.
    """
    with contextlib.ExitStack() as stack:
        fresh = url is None
        if fresh:
            url = f"sqlite:///{Path(stack.enter_context(tempfile.TemporaryDirectory())) / 'head.db'}"
        engine = create_engine(url)
        stack.callback(engine.dispose)
        if fresh:
            upgrade(engine)
        with _migrating(engine) as conn:
            state = _state(conn)
            if state.current != state.head:
                raise SchemaError(f"the database to compare with is {state.summary}")
            config = alembic_config(conn)
            config.attributes["skip_empty"] = autogenerate
            with _ALEMBIC:
                script = command.revision(config, message=message, autogenerate=autogenerate)
    _scripts.cache_clear()  # the new revision is the head from now on
    if not script:  # autogenerate found nothing (env.py drops an empty revision)
        raise SchemaError("roleplay/storage/tables.py matches the head revision: nothing to generate "
                          "(an empty revision to write by hand: --empty)")
    return Path(script.path)  # type: ignore[union-attr]


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(SCRIPTS))


def alembic_config(conn: Connection) -> Config:
    """Alembic's configuration, made here (no alembic.ini), for ``env.py`` to run on ``conn``:
    for ``alembic.command``'s other commands (history, downgrade) in a checkout.

    Args:
        conn: The connection to migrate; the command runs inside its transaction.

    Returns:
        The configuration, with ``script_location`` this folder.
    """
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("file_template", _FILE_TEMPLATE)
    config.attributes["connection"] = conn
    return config


def _state(conn: Connection) -> SchemaState:
    heads = MigrationContext.configure(conn).get_current_heads()
    if len(heads) > 1:
        raise SchemaError(f"the database has several revisions stamped ({', '.join(heads)}); "
                          "roleplay's revisions follow one line, so it was changed by hand")
    current = heads[0] if heads else None
    return SchemaState(current=current, head=_scripts().get_current_head() or "", known=_knows(current),
                       has_tables=inspect(conn).has_table(sessions.name))


def _knows(revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


@contextlib.contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the database's lock for upgrades, committed
    when the block ends without an error."""
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            if conn.dialect.name == "postgresql":
                # Released when the transaction ends, whatever happens to the process.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield conn
            conn.commit()
            return
        with _sqlite_write_lock(conn):
            yield conn


@contextlib.contextmanager
def _sqlite_write_lock(conn: Connection) -> Iterator[None]:
    """SQLite's procedure for schema changes: foreign keys off (batch mode copies tables that
    others refer to), one transaction that takes the write lock at once, a foreign key check
    before the commit, and foreign keys as they were afterwards."""
    enforced: Any = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # no effect inside a transaction: before BEGIN
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise SchemaError(f"the upgrade would leave rows that refer to missing rows ({broken[:3]}…); "
                              "nothing was changed")
        conn.commit()
    finally:
        conn.rollback()
        conn.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")
        conn.commit()
