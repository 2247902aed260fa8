"""What the commands share: settings for a backend, progress bars on stderr, reading inputs."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from roleplay.config import Backend, load_settings

if TYPE_CHECKING:
    from roleplay.storage import SessionRecord, Store


def backend_settings(args: argparse.Namespace, **extra: object):
    overrides: dict[str, object] = dict(extra)
    role: dict[str, object] = {}
    if getattr(args, "backend", None):
        overrides["backend"] = role["backend"] = Backend(args.backend)
    if getattr(args, "model", None):
        role["model"] = args.model
    if role:
        for name in ("prospect", "grader", "coach"):
            overrides[name] = dict(role)
    return load_settings(**overrides)


def golden_or_none(path: str):
    """The cases of a golden file, or None after saying on stderr why it can't be read."""
    from roleplay.measure.golden import GoldenError, load_golden

    try:
        return load_golden(Path(path))
    except (GoldenError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


class Progress:
    """A progress bar on stderr with the rate and the time left (tqdm), fed ``(done, total)`` as
    work finishes; use it as a context manager so the bar is closed."""

    def __init__(self, desc: str, unit: str = "case") -> None:
        self.desc, self.unit = desc, unit
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=total, desc=self.desc, unit=self.unit, file=sys.stderr, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


def sqlite_file_missing(url: str) -> bool:
    """Whether ``url`` names a SQLite file that does not exist (saying so on stderr)."""
    path = url.removeprefix("sqlite:///").split("?")[0]
    if url.startswith("sqlite:///") and not Path(path).exists():
        print(f"error: no database at {path} "
              "(set ROLEPLAY_DATABASE_URL or database_url in roleplay.toml)", file=sys.stderr)
        return True
    return False


@contextlib.contextmanager
def existing_store(url: str) -> Iterator[Store | None]:
    """The store at ``url``, closed afterwards; ``None`` (after saying why) when a SQLite file
    is missing: an export must not create an empty database."""
    from roleplay.storage import Store

    if sqlite_file_missing(url):
        yield None
        return
    store = Store(url)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def stored_session(session_id: str) -> Iterator[tuple[Store, SessionRecord] | None]:
    """The settings' store (closed afterwards) and session ``session_id`` in it; ``None`` after
    saying on stderr why not (no database, or no such session)."""
    with existing_store(load_settings().db_url) as store:
        record = store.get_session(session_id) if store is not None else None
        if store is not None and record is None:
            print(f"error: no session '{session_id}' (see the app's past sessions for ids)", file=sys.stderr)
        yield (store, record) if store is not None and record is not None else None


def write_out(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8", newline="")
        print(f"written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
