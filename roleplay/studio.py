"""The persona studio: enablement teams write, check, version, try and publish personas in the app.

A draft is persona YAML in an editor. Every check is the validation ``roleplay personas
validate`` runs (``parse_persona``), so the studio shows the same problems, each with its
field and fix; a valid draft shows the brief the rep will read and the system prompt the
prospect's model will get.

- **Save as new version** keeps the draft under ``data_dir/personas/<id>/<version>.yaml``,
  where the version is the persona's content hash (``persona_version``, which every session
  records), and never touches the published file.
- **Try it** plays scripted reps (``rep_scripts_dir``) against the draft with the gym's
  prospect model, ungraded, in a throwaway in-memory database, and shows the outcome table.
- **Preview voice** speaks the draft's opening line in its ``voice`` at its rate, as typed, with
  the voice the app's calls would use (``roleplay.voice.speaker_for``); nothing is saved.
- **Publish** saves the version and writes it to ``personas_dir/<id>.yaml`` (only a valid
  persona, replaced atomically, so the folder is valid at all times); new calls use it at once.
"""

from __future__ import annotations

import json
import os
import re
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from roleplay import prompts
from roleplay.call import Gym
from roleplay.errors import ConfigError, InvalidInput
from roleplay.measure.simulation import load_rep_script, outcome_row, rep_script_names, simulate
from roleplay.personas import Persona, parse_persona, persona_version
from roleplay.storage import create_store

if TYPE_CHECKING:  # the voice package needs the optional voice extra; it is imported when used
    from roleplay.voice import Speech

#: The most runs of each script one "Try it" may ask for.
MAX_RUNS = 10

#: The columns of the studio's outcome table: row key (see ``measure.simulation.outcome_row``), heading.
TABLE_COLUMNS: list[tuple[str, str]] = [
    ("persona", "persona"), ("script", "script"), ("runs", "runs"), ("agreed", "agreed"),
    ("closed", "door closed"), ("not_now", "not now"), ("open", "door open"), ("hung_up", "hung up"),
    ("broke", "broke character"), ("facts", "facts revealed"), ("turns", "turns"),
]

_ID_LINE = re.compile(r"^id:[^\n]*$", re.MULTILINE)
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")
_VERSION = re.compile(r"[0-9a-f]{12}")


def _inside_installed_packages(folder: Path) -> Path | None:
    """The site-packages folder that holds ``folder`` (an installed, not a checked-out, copy of
    the app), or ``None``."""
    folder = folder.resolve()
    for key in ("purelib", "platlib"):
        root = Path(sysconfig.get_paths()[key]).resolve()
        if folder.is_relative_to(root):
            return root
    return None


class StudioError(InvalidInput):
    """A studio action cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Version:
    """One saved version of a persona."""

    persona_id: str
    version: str
    path: Path
    saved_at: datetime

    @property
    def key(self) -> str:
        """``<id>/<version>``: names the version in the studio's version picker."""
        return f"{self.persona_id}/{self.version}"


def with_id(text: str, new_id: str) -> str:
    """Persona YAML ``text`` with its top-level ``id`` set to ``new_id`` (comments elsewhere kept).

    An id that is not a plain word is written quoted, so it can only ever be the id's value;
    whether it is a valid id is for the validation to say.
    """
    value = new_id if _PLAIN_ID.fullmatch(new_id) else json.dumps(new_id)
    replaced, count = _ID_LINE.subn(lambda _: f"id: {value}", text, count=1)
    if count:
        return replaced
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise StudioError("The persona to copy is not a mapping of fields.")
    data["id"] = new_id
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _normalise(text: str) -> str:
    """Draft text as it is stored: Unix line ends and one final newline."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part.

    The temporary file's name starts with ``_`` and ends in ``.tmp``, so it is never read as a
    persona meanwhile.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f"_{path.stem}.",
                                     suffix=".tmp", delete=False) as tmp:
        tmp.write(text)
    try:
        os.replace(tmp.name, path)
    except OSError:
        Path(tmp.name).unlink(missing_ok=True)
        raise


class Studio:
    """What the studio tab does, over one gym: drafts, versions, trials and publishing."""

    def __init__(self, gym: Gym):
        self.gym = gym

    @property
    def scripts_dir(self) -> Path:
        return self.gym.settings.rep_scripts_dir

    @property
    def versions_dir(self) -> Path:
        return self.gym.settings.data_dir / "personas"

    def published_path(self, persona_id: str) -> Path:
        return self.gym.settings.personas_dir / f"{persona_id}.yaml"

    def published_text(self, persona_id: str) -> str:
        """The published YAML of ``persona_id``, as its author wrote it (comments included)."""
        persona = self.gym.personas.get(persona_id)
        if persona is None:
            raise StudioError(f"There is no published persona '{persona_id}'.")
        try:
            return self.published_path(persona_id).read_text(encoding="utf-8")
        except OSError:  # loaded at start, the file has gone since: the loaded persona is the truth
            return yaml.safe_dump(persona.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)

    def template(self, source_id: str, new_id: str) -> str:
        """A new persona's YAML: a copy of published ``source_id`` with the id ``new_id``."""
        new_id = new_id.strip()
        if not new_id:
            raise StudioError("Type an id for the new persona first (lower_snake_case, e.g. gatekeeper_monday).")
        if new_id in self.gym.personas or self.published_path(new_id).exists():
            raise StudioError(f"The id '{new_id}' is already used by a published persona. Pick another id, "
                              "or open that persona to edit it.")
        return with_id(self.published_text(source_id), new_id)

    def check(self, text: str, source: str = "draft") -> Persona:
        """Validate a draft exactly like ``roleplay personas validate``; raise ``PersonaError``.

        A relative ``voice.path`` is read from ``personas_dir``, where the draft is published.
        """
        return parse_persona(text, source, self.gym.settings.personas_dir)

    def preview_voice(self, text: str, source: str = "draft") -> tuple[Persona, Speech]:
        """The draft's opening line, spoken in the draft's voice at its rate; nothing is saved.

        Args:
            text: The draft's YAML, as typed.
            source: What problems call the draft.

        Returns:
            The draft and its opening line's audio (``Speech.pcm`` is what Gradio's ``Audio`` plays).

        Raises:
            PersonaError: the draft has problems (its voice's among them).
            StudioError: the voice extra is not installed, or the voice cannot be loaded.
        """
        persona = self.check(text, source)
        try:
            from roleplay.voice import speaker_for
        except ImportError as exc:
            raise StudioError(f"Voice preview needs the voice extra ({exc.name} is missing). Fix: pip install -e "
                              "'.[voice]' (or run ./scripts/setup).") from exc
        try:
            speaker = speaker_for(persona, self.gym.settings)
        except ConfigError as exc:
            raise StudioError(f"The voice cannot be loaded: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - a file that is not a Piper voice fails inside onnxruntime or json
            raise StudioError(f"The voice cannot be loaded ({type(exc).__name__}: {str(exc)[:200]}). Fix: give "
                              "voice.path a Piper .onnx voice and the .onnx.json that came with it.") from exc
        return persona, speaker.synthesize(persona.opening_line)

    def prompt_preview(self, persona: Persona) -> str:
        """The system prompt the prospect's model gets for ``persona`` (``prompts/prospect_system.md``)."""
        return prompts.render(self.gym.settings.prompts_dir, "prospect_system.md", persona=persona)

    def versions(self, persona_id: str) -> list[Version]:
        """The saved versions of ``persona_id``, newest first."""
        directory = self.versions_dir / persona_id
        if not _PLAIN_ID.fullmatch(persona_id) or not directory.is_dir():
            return []
        found = [
            Version(persona_id, path.stem, path, datetime.fromtimestamp(path.stat().st_mtime, UTC))
            for path in directory.glob("*.yaml") if _VERSION.fullmatch(path.stem)
        ]
        return sorted(found, key=lambda v: (v.saved_at, v.version), reverse=True)

    def version(self, key: str) -> Version:
        """The saved version named ``<id>/<version>`` (see ``Version.key``)."""
        persona_id, _, version = (key or "").partition("/")
        for saved in self.versions(persona_id):
            if saved.version == version:
                return saved
        raise StudioError(f"There is no saved version '{key}'.")

    def save(self, text: str, source: str = "draft") -> tuple[Persona, Version, bool]:
        """Save a valid draft as a version of its persona; the published file is not touched.

        Returns the persona, its version and whether it is new (a draft equal to a saved
        version, comments and layout aside, is not saved twice). Raises ``PersonaError``
        naming ``source``.
        """
        text = _normalise(text)
        persona = self.check(text, source)
        version = persona_version(persona)
        path = self.versions_dir / persona.id / f"{version}.yaml"
        created = not path.exists()
        if created:
            _write_atomic(path, text)
        saved = Version(persona.id, version, path, datetime.fromtimestamp(path.stat().st_mtime, UTC))
        return persona, saved, created

    def publish(self, text: str, source: str = "draft") -> tuple[Persona, Version, str | None]:
        """Save the draft as a version and publish it: ``personas_dir/<id>.yaml``, used by new calls.

        Only a valid draft is written (raises ``PersonaError`` naming ``source`` otherwise),
        and the file is replaced atomically. Returns the persona, its version and the version
        it replaced (``None`` for a new persona).
        """
        if installed := _inside_installed_packages(self.gym.settings.personas_dir):
            raise StudioError(f"Personas can't be published into the installed app ({installed}): the next upgrade "
                              "would replace them. Fix: set ROLEPLAY_PERSONAS_DIR (or personas_dir in roleplay.toml) "
                              "to a folder of your own, starting from a copy of the shipped personas (README: "
                              "Installing it as a package).")
        text = _normalise(text)
        persona, saved, _ = self.save(text, source)
        previous = self.gym.personas.get(persona.id)
        _write_atomic(self.published_path(persona.id), text)
        self.gym.add_persona(persona)
        return persona, saved, persona_version(previous) if previous else None

    def script_names(self) -> list[str]:
        return rep_script_names(self.scripts_dir)

    def try_draft(self, persona: Persona, scripts: list[str], runs: int = 1) -> Iterator[dict[str, Any]]:
        """Play each of ``scripts`` ``runs`` times against ``persona``; yield one outcome row per script.

        Uses the gym's models and skips grading and the coach's report; the calls go to a
        throwaway in-memory database, so practice sessions never show trials.
        """
        known = set(self.script_names())
        if unknown := [name for name in scripts if name not in known]:
            raise StudioError(f"Unknown rep script(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        if not 1 <= runs <= MAX_RUNS:
            raise StudioError(f"Runs must be between 1 and {MAX_RUNS}.")
        trial = Gym(self.gym.settings, store=create_store("sqlite://"), models=self.gym.models)
        try:
            for name in scripts:
                script = load_rep_script(self.scripts_dir / f"{name}.json")
                outcomes = [simulate(trial.settings, persona, script, gym=trial, report=False, grade=False)
                            for _ in range(runs)]
                yield outcome_row(persona.id, name, outcomes)
        finally:
            trial.close()
