"""Personas: YAML files that enablement teams write, validated strictly.

A persona describes one prospect in one pushback situation: who they are, what they object
to, what they only tell a rep who is genuinely curious, what drains and restores their
patience, when they hang up, what "not now" sounds like for them, and how they sound on a
spoken call (``voice``). The state machine in ``call.state`` reads these numbers; the prompts
``prompts/prospect_*.md`` read the words; ``roleplay.voice.speaker_for`` reads the voice.

- ``model``: the fields and their checks (``Persona``);
- ``files``: reading files, the errors people see (file, field, fix), versions, the schema.
"""

from roleplay.personas.files import (
    SCHEMA_LINE,
    PersonaError,
    load_persona,
    load_personas,
    parse_persona,
    persona_files,
    persona_schema,
    persona_version,
    validate_paths,
)
from roleplay.personas.model import BUNDLED_VOICES, Difficulty, Persona, Voice

__all__ = [
    "BUNDLED_VOICES", "SCHEMA_LINE", "Difficulty", "Persona", "PersonaError", "Voice", "load_persona", "load_personas",
    "parse_persona", "persona_files", "persona_schema", "persona_version", "validate_paths",
]
