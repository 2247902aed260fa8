"""Reading persona files: parsing, the errors people see (file, field, fix), versions, the schema."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from roleplay.errors import InvalidInput
from roleplay.personas.model import PERSONA_DIR, Persona, Voice


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
    return f"expected {description}" if description else "see roleplay/content/personas/README.md"


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
                                 "write a field name from roleplay/content/personas/README.md; quote it if it "
                                 "looks like yes/no/true/false/null, a number or a date"))
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
    # A persona without a voice of its own hashes as it did before personas had voices, and one
    # without a server voice as before voices had ``server``, so the versions that sessions and
    # the studio recorded still name it.
    if persona.voice == Voice():
        left_out: dict | None = {"voice": True}
    else:
        left_out = {"voice": {"server"}} if persona.voice.server is None else None
    dump = persona.model_dump_json(exclude=left_out).encode("utf-8")
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
