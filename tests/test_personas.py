import hashlib
from pathlib import Path

import pytest

from roleplay import content
from roleplay.cli import main
from roleplay.personas import (
    PersonaError,
    load_persona,
    parse_persona,
    persona_files,
    persona_version,
    validate_paths,
)

PERSONAS = content.PERSONAS_DIR
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

    folder = content.PERSONAS_DIR
    committed = json.loads((folder / "persona.schema.json").read_text())
    assert committed == persona_schema(), \
        "regenerate: roleplay personas schema --out roleplay/content/personas/persona.schema.json"
    for path in persona_files(folder):
        assert path.read_text().splitlines()[0] == SCHEMA_LINE, f"{path.name}: first line should be {SCHEMA_LINE!r}"
        jsonschema.validate(yaml.safe_load(path.read_text()), committed)


# --- voice: which voice the prospect speaks with, and how fast --------------------------------------


def _voiced(voice: str) -> str:
    return GOOD + voice


def _fake_voice(folder: Path, name: str = "alba.onnx", config: bool = True) -> Path:
    """An .onnx file (and its .onnx.json) where a voice would be; validation only looks for them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"onnx")
    if config:
        (folder / f"{name}.json").write_text("{}")
    return folder / name


def test_a_persona_without_a_voice_gets_the_default_at_the_normal_rate():
    persona = parse_persona(GOOD, "p.yaml")
    assert (persona.voice.name, persona.voice.path, persona.voice.rate) == (None, None, 1.0)
    assert persona.voice.length_scale == 1.0 and persona.voice.file(PERSONAS) is None


@pytest.mark.parametrize(("rate", "length_scale"), [(1.0, 1.0), (1.25, 0.8), (0.5, 2.0), (2.0, 0.5), (2, 0.5)])
def test_rate_maps_to_pipers_length_scale(rate, length_scale):
    persona = parse_persona(_voiced(f"voice:\n  name: joe\n  rate: {rate}\n"), "p.yaml")
    assert persona.voice.name == "joe"
    assert persona.voice.length_scale == pytest.approx(length_scale)


def test_a_voice_of_its_own_changes_the_version_and_none_keeps_it():
    plain = parse_persona(GOOD, "p.yaml")
    assert persona_version(parse_persona(_voiced("voice: {}\n"), "p.yaml")) == persona_version(plain)
    assert persona_version(parse_persona(_voiced("voice: {rate: 1.1}\n"), "p.yaml")) != persona_version(plain)


def test_a_server_voice_is_kept_and_a_voice_without_one_keeps_its_version():
    """Versions recorded before ``voice.server`` existed still name their persona: the hash is
    the one of the dump without the field."""
    voiced = parse_persona(_voiced("voice: {rate: 1.1}\n"), "p.yaml")
    before = voiced.model_dump_json().replace('"server":null,', "")
    assert '"server"' not in before and persona_version(voiced) == hashlib.sha256(before.encode()).hexdigest()[:12]
    served = parse_persona(_voiced("voice: {name: joe, server: af_bella(2)+af_sky(1), rate: 1.1}\n"), "p.yaml")
    assert served.voice.server == "af_bella(2)+af_sky(1)" and served.voice.name == "joe"
    assert persona_version(served) != persona_version(voiced)


@pytest.mark.parametrize(
    ("voice", "field", "message", "fix"),
    [
        ("voice: {name: bob}", "voice.name", "unknown voice 'bob'", "use a bundled voice (joe)"),
        ("voice: {rate: 2.5}", "voice.rate", "less than or equal to 2", "speaking rate from 0.5 to 2.0"),
        ("voice: {rate: 0.4}", "voice.rate", "greater than or equal to 0.5", "speaking rate from 0.5 to 2.0"),
        ("voice: {rate: fast}", "voice.rate", "valid number", "1.2 is 20% faster"),
        ("voice: {rate: yes}", "voice.rate", "valid number", "speaking rate"),
        ("voice: {path: voices/alba.wav}", "voice.path", "not a Piper voice file (.onnx)", "its .onnx.json goes"),
        ("voice: {path: voices/none.onnx}", "voice.path", "no voice file at", "relative to the folder of the persona"),
        ("voice: {path: %s.onnx}" % ("a" * 300), "voice.path", "cannot be looked up", "short plain path"),
        ("voice: {speed: 1.2}", "voice.speed", "Extra inputs", "allowed here: name, path, rate, server"),
        ("voice: {server: ' onyx'}", "voice.server", "' onyx' is not a voice name", "without spaces around it"),
        ("voice: {server: ''}", "voice.server", "'' is not a voice name", "as the speech server knows it"),
        ("voice: {server: \"a\\nb\"}", "voice.server", "is not a voice name", "on one line"),
        ("voice: {server: %s}" % ("v" * 101), "voice.server", "at most 100 characters", "the voice's name on"),
        ("voice: {server: 7}", "voice.server", "valid string", "the voice's name on the team's speech server"),
        ("voice: joe", "voice", "valid dictionary", "name or path, and rate"),
    ],
)
def test_voice_errors_name_the_field_and_the_fix(voice, field, message, fix, tmp_path: Path):
    with pytest.raises(PersonaError) as info:
        parse_persona(_voiced(voice + "\n"), "personas/broken.yaml", tmp_path)
    assert [(f, m) for f, m, _ in info.value.problems if f == field and message in m], str(info.value)
    assert fix in str(info.value) and str(info.value).startswith("personas/broken.yaml: ")


def test_a_relative_voice_path_is_read_from_the_persona_files_folder(tmp_path: Path):
    folder = tmp_path / "personas"
    voice = _fake_voice(folder / "voices")
    path = folder / "happy_incumbent.yaml"
    path.write_text(_voiced("voice:\n  path: voices/alba.onnx\n  rate: 1.2\n"))
    persona = load_persona(path)
    assert persona.voice.path == "voices/alba.onnx"  # kept as written: the version is the same anywhere
    assert persona.voice.file(folder) == voice

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / path.name).write_text(path.read_text())  # the same file, in a folder without the voice
    errors = validate_paths([elsewhere])
    assert len(errors) == 1
    ((field, message, fix),) = errors[0].problems
    assert field == "voice.path" and str(elsewhere / "voices" / "alba.onnx") in message
    assert "a relative path is read from the persona file's folder" in message and "relative to the folder" in fix


def test_an_absolute_voice_path_is_read_as_it_is(tmp_path: Path):
    voice = _fake_voice(tmp_path / "anywhere")
    persona = parse_persona(_voiced(f"voice: {{path: '{voice}'}}\n"), "p.yaml", PERSONAS)
    assert persona.voice.file(PERSONAS) == voice


def test_a_voice_without_its_config_beside_it_names_the_config(tmp_path: Path):
    _fake_voice(tmp_path / "voices", config=False)
    with pytest.raises(PersonaError) as info:
        parse_persona(_voiced("voice: {path: voices/alba.onnx}\n"), "p.yaml", tmp_path)
    ((field, message, fix),) = info.value.problems
    assert field == "voice.path" and "has no config alba.onnx.json beside it" in message
    assert "alba.onnx.json" in fix


def test_a_voice_is_a_name_or_a_path_not_both(tmp_path: Path):
    _fake_voice(tmp_path / "voices")
    with pytest.raises(PersonaError) as info:
        parse_persona(_voiced("voice: {name: joe, path: voices/alba.onnx}\n"), "p.yaml", tmp_path)
    ((field, message, fix),) = info.value.problems
    assert field == "voice" and "both" in message and "keep one" in fix


def test_voice_files_are_not_checked_without_a_folder():
    """A stored session's persona is read back without its folder; a voice file gone since must
    not stop the call from resuming."""
    persona = parse_persona(_voiced("voice: {path: voices/gone.onnx}\n"), "p.yaml")
    assert persona.voice.path == "voices/gone.onnx"
    assert type(persona).model_validate(persona.model_dump()) == persona


def test_validate_cli_reports_a_bad_voice(tmp_path: Path, capsys):
    bad = tmp_path / "happy_incumbent.yaml"
    bad.write_text(_voiced("voice: {rate: 3}\n"))
    assert main(["personas", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "voice.rate" in err and "Fix: expected speaking rate from 0.5 to 2.0" in err
