"""What the commands share: settings for a backend, progress on stderr, reading inputs."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from roleplay.config import Backend, load_settings

if TYPE_CHECKING:
    from roleplay.storage import Store


def backend_settings(args: argparse.Namespace, **extra: object):
    overrides: dict[str, object] = dict(extra)
    if getattr(args, "backend", None):
        overrides["backend"] = Backend(args.backend)
        for role in ("prospect", "grader", "coach"):
            overrides[role] = {"backend": Backend(args.backend)}
    return load_settings(**overrides)


def golden_or_none(path: str):
    """The cases of a golden file, or None after saying on stderr why it can't be read."""
    from roleplay.measure.golden import GoldenError, load_golden

    try:
        return load_golden(Path(path))
    except (GoldenError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def progress(i: int, n: int) -> None:
    print(f"\rgraded {i}/{n}", end="", file=sys.stderr, flush=True)


@contextlib.contextmanager
def existing_store(url: str) -> Iterator[Store | None]:
    """The store at ``url``, closed afterwards; ``None`` (after saying why) when a SQLite file
    is missing: an export must not create an empty database."""
    from roleplay.storage import Store

    path = url.removeprefix("sqlite:///").split("?")[0]
    if url.startswith("sqlite:///") and not Path(path).exists():
        print(f"error: no database at {path} "
              "(set ROLEPLAY_DATABASE_URL or database_url in roleplay.toml)", file=sys.stderr)
        yield None
        return
    store = Store(url)
    try:
        yield store
    finally:
        store.close()


def write_out(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8", newline="")
        print(f"written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
