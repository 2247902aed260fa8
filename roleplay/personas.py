"""Personas: YAML files that enablement teams write, validated strictly.

A persona describes one prospect in one pushback situation: who they are, what they object
to, what they only tell a rep who is genuinely curious, what drains and restores their
patience, when they hang up, and what "not now" sounds like for them, and how they sound on a
spoken call (``voice``). The state machine in ``call.state`` reads these numbers; the prompts
``prompts/prospect_*.md`` read the words; ``roleplay.voice.speaker_for`` reads the voice.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from roleplay.errors import InvalidInput

SCHEMA_VERSION = 1

Level = Annotated[int, Field(ge=0, le=10)]
Amount = Annotated[int, Field(ge=0, le=10)]
Text = Annotated[str, Field(min_length=1)]

#: The Piper voices that ship with the app, by the name a persona gives in ``voice.name``
#: (``roleplay.voice.persona`` maps each name to its model).
BUNDLED_VOICES = ("joe",)
#: The slowest and the fastest speaking rate a persona may ask for (``voice.rate``).
MIN_RATE, MAX_RATE = 0.5, 2.0
#: The validation context key of the folder a relative ``voice.path`` is read from.
PERSONA_DIR = "persona_dir"


class Difficulty(StrEnum):
    EASY = "easy"
    NORMAL = "normal"
    HARD = "hard"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HiddenFact(_Strict):
    fact: Text = Field(description="something true the prospect only tells a curious rep")
    after_questions: int = Field(
        default=1, ge=1, le=5,
        description="how many genuine open questions the rep must ask before it comes out (1-5)",
    )


class Drains(_Strict):
    """How much patience (0-10 scale) each rep behaviour costs."""

    push: Amount = Field(3, description="asking again for a commitment after a refusal")
    first_ask: Amount = Field(0, description="the rep's first ask, before any refusal")
    argue: Amount = Field(2, description="contradicting, correcting or lecturing the prospect")
    pitch: Amount = Field(1, description="pitching without asking anything")
    monologue: Amount = Field(2, description="a long reply (over about 60 words)")
    hostile: Amount = Field(6, description="sarcasm, insults, blame")
    off_topic: Amount = Field(1, description="chatter or requests that have nothing to do with the call")


class Restores(_Strict):
    """How much patience each rep behaviour gives back."""

    open_question: Amount = Field(1, description="a genuine open question about their view")
    acknowledge: Amount = Field(1, description="acknowledging the objection calmly")
    accept_no: Amount = Field(2, description="accepting the no or asking permission to follow up")


class Patience(_Strict):
    start: Level = Field(description="patience at the start of the call, 0-10")
    drains: Drains = Field(default_factory=Drains, description="patience lost per behaviour")
    restores: Restores = Field(default_factory=Restores, description="patience regained")


class Interest(_Strict):
    start: Level = Field(2, description="interest in the rep's offer at the start, 0-10")
    open_door_at: Level = Field(
        6, description="interest at which the prospect leaves the door open (agrees to a later talk)"
    )


class HangUp(_Strict):
    patience_at: Level = Field(0, description="hangs up when patience falls to this level or below")
    after_pushes: int = Field(
        3, ge=1, le=6,
        description="hangs up on this many pushes after the first refusal, whatever the patience",
    )
    line: Text = Field(description="how they end the call when they hang up (an example line)")


class NotNow(_Strict):
    when: Text = Field(description="the time they give for trying again, e.g. 'after the March renewal'")
    line: Text = Field(description="what 'not now' sounds like from them (an example line)")


class Voice(_Strict):
    """How the prospect sounds on a spoken call: which voice, and how fast it speaks.

    With neither ``name`` nor ``path`` the prospect has the app's default voice (the setting
    ``voice.tts_voice``, or else the bundled "joe"). Files are checked only when the persona is
    read with its folder known (``parse_persona(..., base_dir=)``, as ``load_persona`` and the
    studio do), never when a stored session's persona is read back.
    """

    name: str | None = Field(None, description=f"a bundled voice: {', '.join(BUNDLED_VOICES)}")
    path: Text | None = Field(
        None, description="a Piper .onnx voice file with its .onnx.json beside it; a relative path is read from "
                          "the folder of the persona file")
    rate: float = Field(
        1.0, ge=MIN_RATE, le=MAX_RATE, strict=True,
        description=f"speaking rate from {MIN_RATE} to {MAX_RATE}: 1.0 is the voice's own pace, 1.2 is 20% faster, "
                    "0.9 10% slower")

    @field_validator("name")
    @classmethod
    def _bundled(cls, name: str | None) -> str | None:
        if name is not None and name not in BUNDLED_VOICES:
            raise PydanticCustomError(
                "voice_name", "unknown voice '{name}'",
                {"name": name, "fix": f"use a bundled voice ({', '.join(BUNDLED_VOICES)}), or give a Piper voice "
                                      "file as voice.path instead of voice.name"})
        return name

    @field_validator("path")
    @classmethod
    def _voice_file(cls, path: str | None, info: ValidationInfo) -> str | None:
        """A Piper voice is an ``.onnx`` file and its ``.onnx.json`` config; both must be there."""
        if path is None:
            return None
        if not path.endswith(".onnx"):
            raise PydanticCustomError("voice_path", "'{path}' is not a Piper voice file (.onnx)", {
                "path": path, "fix": "give the voice's .onnx file (e.g. voices/en_GB-alba-medium.onnx); its "
                                     ".onnx.json goes beside it"})
        base = (info.context or {}).get(PERSONA_DIR)
        if base is None:
            return path
        try:
            found = voice_file(path, Path(base))
            exists, configured = found.is_file(), found.with_name(found.name + ".json").is_file()
        except (OSError, ValueError, RuntimeError) as exc:  # too long, a NUL byte, ~nobody
            raise PydanticCustomError("voice_path", "'{path}' cannot be looked up ({problem})", {
                "path": path[:80], "problem": str(exc)[:120],
                "fix": "give a short plain path to the .onnx file, relative to the persona file's folder"}) from None
        where = "" if Path(path).is_absolute() or path.startswith("~") else (
            f" (a relative path is read from the persona file's folder, {base})")
        if not exists:
            raise PydanticCustomError("voice_path", "no voice file at {found}{where}", {
                "found": str(found), "where": where,
                "fix": "put the .onnx voice and its .onnx.json there, or correct the path: relative to the folder "
                       "of the persona file, or absolute"})
        if not configured:
            config = f"{found.name}.json"
            raise PydanticCustomError("voice_path", "{found} has no config {config} beside it{where}", {
                "found": str(found), "config": config, "where": where,
                "fix": f"put the voice's config (downloaded with it) beside it as {config}"})
        return path

    @model_validator(mode="after")
    def _one_voice(self) -> Voice:
        if self.name is not None and self.path is not None:
            raise PydanticCustomError("voice_both", "both voice.name and voice.path are given", {
                "fix": "keep one: name for a bundled voice, path for a Piper voice file"})
        return self

    @property
    def length_scale(self) -> float:
        """Piper's ``length_scale`` for this rate: 1/rate (a faster rate, shorter sounds)."""
        return 1.0 / self.rate

    def file(self, base_dir: Path) -> Path | None:
        """The Piper ``.onnx`` file this voice names, a relative path read from ``base_dir`` (the
        persona file's folder); ``None`` for a bundled voice or the default."""
        return voice_file(self.path, base_dir) if self.path is not None else None


def voice_file(path: str, base_dir: Path) -> Path:
    """``path`` as written in a persona, read from ``base_dir`` unless it is absolute (``~`` expanded)."""
    given = Path(path).expanduser()
    return given if given.is_absolute() else base_dir / given


class Persona(_Strict):
    schema_version: int = Field(description=f"always {SCHEMA_VERSION}")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$", description="lower_snake_case identifier")
    name: Text = Field(description="the prospect's name")
    title: Text = Field(description="their job title")
    company: Text = Field(description="their company, with a few words on what it does")
    difficulty: Difficulty = Field(description="easy, normal or hard")
    brief: Text = Field(description="the situation, as the rep reads it before the call")
    rep_offer: Text = Field(description="what the rep sells and wants from this call")
    personality: Text = Field(description="how they talk and what they care about")
    opening_line: Text = Field(description="the prospect's first words when they pick up")
    objections: list[Text] = Field(min_length=1, description="their objections, in the order they raise them")
    hidden_facts: list[HiddenFact] = Field(
        min_length=1, description="facts revealed only to genuine curiosity"
    )
    patience: Patience = Field(description="patience and what moves it")
    interest: Interest = Field(default_factory=Interest, description="interest and the open-door level")
    hang_up: HangUp = Field(description="when and how they hang up")
    not_now: NotNow = Field(description="the door left open, with a time")
    refusal_lines: list[Text] = Field(
        min_length=2, description="how they say no: first refusal, then firmer ones"
    )
    voice: Voice = Field(default_factory=Voice,
                         description="how they sound on a spoken call: name or path, and rate")

    @field_validator("hidden_facts")
    @classmethod
    def _facts_in_the_first_person(cls, facts: list[HiddenFact], info: ValidationInfo) -> list[HiddenFact]:
        """The prospect says its facts aloud: written as it would say them, they can't come out
        as "she sends her wish list" in its own mouth."""
        names = [w for w in str(info.data.get("name", "")).split() if len(w) > 1]
        for i, item in enumerate(facts, start=1):
            words = set(re.findall(r"[a-z']+", item.fact.lower()))
            # "she" may be someone else ("my daughter… she's been asking me"); with no I, my, we
            # or our anywhere, it is the prospect.
            pronouns = sorted(words & _THIRD_PERSON) if not words & _FIRST_PERSON else []
            found = pronouns + [n for n in names if re.search(rf"\b{re.escape(n)}\b", item.fact)]
            if found:
                raise ValueError(f"fact {i} speaks of the prospect in the third person ({', '.join(found)}); write it "
                                 "as they would say it, with I, my, we and our")
        return facts

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"unknown schema_version {v}")
        return v


class PersonaError(InvalidInput):
    """A persona file is broken. ``problems`` lists (field, message, fix) triples."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str, str]]):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {field}: {msg}. Fix: {fix}" for field, msg, fix in problems]
        super().__init__("\n".join(lines))


def _describe(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """Walk the field path and return the description of the deepest known field."""
    description = ""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = current.model_fields.get(part)
        if field is None:
            break
        description = field.description or description
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return description


def _fix_for(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if fix := (error.get("ctx") or {}).get("fix"):  # a validator that knows the fix says it
        return fix
    if kind == "extra_forbidden":
        allowed = _allowed_fields(loc[:-1])
        return f"remove it or check the spelling; allowed here: {', '.join(allowed)}"
    description = _describe(Persona, loc)
    if kind == "missing":
        return f"add it: {description}" if description else "add it"
    return f"expected {description}" if description else "see personas/README.md"


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    current: Any = Persona
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None:
            return []
        args = (field.annotation, *getattr(field.annotation, "__args__", ()))
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    return sorted(current.model_fields)


_THIRD_PERSON = frozenset({"she", "he", "her", "his", "him", "hers", "herself", "himself", "she's", "he's"})
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "we", "us", "our", "ours", "i'm", "i've", "we're", "we've"})
_KINDS = {"bool": "a yes/no value", "NoneType": "null", "int": "a number", "float": "a number", "date": "a date",
          "datetime": "a date"}


def _non_text_keys(data: object, path: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    """Field names YAML read as something other than text (``no:`` is ``False``, ``1:`` a number)."""
    problems: list[tuple[str, str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            name = key if isinstance(key, str) and key else yaml.safe_dump(key).splitlines()[0]  # '' shows as ''
            if not isinstance(key, str):
                problems.append((".".join((*path, name)) or "(top level)",
                                 f"field name {name!r} was read as {_KINDS.get(type(key).__name__, 'a value')}, "
                                 "not as text",
                                 "write a field name from personas/README.md; quote it if it looks like "
                                 "yes/no/true/false/null, a number or a date"))
            problems += _non_text_keys(value, (*path, name))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            problems += _non_text_keys(item, (*path, str(i)))
    return problems


def parse_persona(text: str, source: Path | str, base_dir: Path | None = None) -> Persona:
    """Parse and validate persona YAML ``text``; errors name ``source``, the field and the fix.

    Args:
        text: The persona's YAML.
        source: What the errors call it (a file name, "draft").
        base_dir: The folder of the persona's file: a relative ``voice.path`` is read from it, and
            the voice file must be there. ``None`` leaves voice files unchecked.

    Raises:
        PersonaError: every problem found, each with its field and fix.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        problem = getattr(exc, "problem", None) or str(exc)
        raise PersonaError(source, [(where, f"not valid YAML ({problem})",
                                     "check indentation and quote text that contains ': '")]) from None
    except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise plain errors on odd values
        # e.g. ValueError for a date like 2001-13-01, RecursionError for very deep nesting.
        raise PersonaError(source, [("(file)", f"not valid YAML ({type(exc).__name__}: {str(exc)[:120]})",
                                     "quote values that only look like dates, numbers or tags "
                                     "(e.g. '2001-13-01'), and nest less deeply")]) from None
    if not isinstance(data, dict):
        raise PersonaError(source, [("(top level)", "expected a mapping of fields",
                                     "start the file with 'schema_version: 1' and 'id: ...'")])
    if problems := _non_text_keys(data):
        raise PersonaError(source, problems)
    try:
        return Persona.model_validate(data, context={PERSONA_DIR: base_dir} if base_dir else None)
    except ValidationError as exc:
        problems = [
            (".".join(str(p) for p in err["loc"]) or "(top level)", err["msg"], _fix_for(err))
            for err in exc.errors()
        ]
        raise PersonaError(source, problems) from None


def load_persona(path: Path) -> Persona:
    """Load one persona file; the file name (without .yaml) must equal its ``id``, and a relative
    ``voice.path`` is read from the file's folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaError(path, [("(file)", f"cannot be read ({exc})", "save it as UTF-8 text")]) from None
    persona = parse_persona(text, path, path.parent)
    if persona.id != path.stem:
        raise PersonaError(path, [("id", f"'{persona.id}' differs from the file name '{path.stem}'",
                                   f"rename the file to {persona.id}.yaml or set id: {path.stem}")])
    return persona


def persona_version(persona: Persona) -> str:
    """A short content hash that identifies this exact version of a persona."""
    # A persona without a voice of its own hashes as it did before personas had voices, so the
    # versions that sessions and the studio recorded still name it.
    dump = persona.model_dump_json(exclude={"voice"} if persona.voice == Voice() else None).encode("utf-8")
    return hashlib.sha256(dump).hexdigest()[:12]


def persona_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))


def load_personas(directory: Path) -> dict[str, Persona]:
    """Load every persona in ``directory``; raises the first ``PersonaError``."""
    return {p.id: p for p in (load_persona(path) for path in persona_files(directory))}


def validate_paths(paths: list[Path]) -> list[PersonaError]:
    """Validate persona files (directories are expanded); return every error found."""
    errors: list[PersonaError] = []
    seen: dict[str, Path] = {}
    for path in paths:
        for file in persona_files(path) if path.is_dir() else [path]:
            try:
                persona = load_persona(file)
            except PersonaError as exc:
                errors.append(exc)
                continue
            if persona.id in seen:
                errors.append(PersonaError(file, [("id", f"'{persona.id}' is also used by {seen[persona.id]}",
                                                   "give each persona a unique id")]))
            seen[persona.id] = file
    return errors


#: The line at the top of a persona file that lets editors (VS Code's YAML extension, JetBrains)
#: validate it and complete its fields as it is typed.
SCHEMA_LINE = "# yaml-language-server: $schema=persona.schema.json"


def persona_schema() -> dict:
    """The persona file's JSON Schema, generated from ``Persona`` (``roleplay personas schema``)."""
    schema = Persona.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Pushback Gym persona",
            **{k: v for k, v in schema.items() if k != "title"}}
