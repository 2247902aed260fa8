from pathlib import Path

import pytest

from roleplay import PROJECT_ROOT
from roleplay.cli import main
from roleplay.personas import PersonaError, load_persona, parse_persona, persona_files, validate_paths

PERSONAS = PROJECT_ROOT / "personas"
GOOD = (PERSONAS / "happy_incumbent.yaml").read_text()


def test_every_shipped_persona_is_valid():
    files = persona_files(PERSONAS)
    assert files, "no personas shipped"
    assert validate_paths([PERSONAS]) == []


def _broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "field", "fix_hint"),
    [
        (_broken("difficulty: normal", "difficulty: brutal"), "difficulty", "easy, normal or hard"),
        (_broken("  start: 6\n", "  start: 12\n"), "patience.start", "0-10"),
        (_broken("schema_version: 1", "schema_version: 2"), "schema_version", "always 1"),
        (_broken("name: Dana Whitfield", "nmae: Dana Whitfield"), "nmae", "allowed here"),
        (_broken("name: Dana Whitfield\n", ""), "name", "add it"),
        (_broken("id: happy_incumbent", "id: Happy Incumbent"), "id", "lower_snake_case"),
        (_broken("  after_pushes: 3", "  after_pushes: 0"), "hang_up.after_pushes", "pushes"),
        (_broken("drains: {push: 2,", "drains: {pushes: 2,"), "patience.drains.pushes", "allowed here"),
    ],
)
def test_errors_name_field_and_fix(text, field, fix_hint):
    with pytest.raises(PersonaError) as info:
        parse_persona(text, "personas/broken.yaml")
    message = str(info.value)
    assert message.startswith("personas/broken.yaml: ")
    assert any(f == field for f, _, _ in info.value.problems), message
    assert fix_hint in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("id: x\nbrief: this: breaks yaml: here\n  - no", "line"),
        ("- just\n- a list\n", "(top level)"),
    ],
)
def test_bad_yaml_is_a_persona_error(text, where):
    with pytest.raises(PersonaError) as info:
        parse_persona(text, "p.yaml")
    assert info.value.problems[0][0].startswith(where)


def test_file_name_must_match_id(tmp_path: Path):
    path = tmp_path / "other_name.yaml"
    path.write_text(GOOD)
    with pytest.raises(PersonaError, match="rename the file"):
        load_persona(path)


def test_validate_cli_exit_codes(tmp_path: Path, capsys):
    assert main(["personas", "validate", str(PERSONAS)]) == 0
    bad = tmp_path / "happy_incumbent.yaml"
    bad.write_text(_broken("difficulty: normal", "difficulty: brutal"))
    assert main(["personas", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "difficulty" in err and "Fix:" in err


def test_duplicate_ids_are_reported(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "happy_incumbent.yaml").write_text(GOOD)
    (tmp_path / "b" / "happy_incumbent.yaml").write_text(GOOD)
    errors = validate_paths([tmp_path / "a", tmp_path / "b"])
    assert len(errors) == 1 and "also used by" in str(errors[0])


def test_the_persona_schema_is_current_and_every_shipped_persona_points_editors_at_it():
    import json

    import jsonschema
    import yaml

    from roleplay.personas import SCHEMA_LINE, persona_files, persona_schema

    folder = PROJECT_ROOT / "personas"
    committed = json.loads((folder / "persona.schema.json").read_text())
    assert committed == persona_schema(), "regenerate: roleplay personas schema --out personas/persona.schema.json"
    for path in persona_files(folder):
        assert path.read_text().splitlines()[0] == SCHEMA_LINE, f"{path.name}: first line should be {SCHEMA_LINE!r}"
        jsonschema.validate(yaml.safe_load(path.read_text()), committed)
