"""The persona studio: its logic (``roleplay.ui.studio.Studio``) and its tab, driven through gradio_client.

Publishing writes into ``personas_dir``, so every test here works on a copy of the shipped personas
in a temporary folder; the repository's personas are never written.
"""

from __future__ import annotations

import html
import json
import runpy
import shutil
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from gradio_client import Client

from roleplay import content
from roleplay.call import GRADING_SKIPPED, Gym
from roleplay.config import Settings
from roleplay.measure.simulation import (
    COLUMNS,
    format_header,
    format_row,
    load_rep_script,
    outcome_row,
    rep_script_names,
    row_cells,
    simulate,
)
from roleplay.personas import Persona, PersonaError, load_persona, persona_version, validate_paths
from roleplay.studio import TABLE_COLUMNS, Studio, StudioError, with_id
from roleplay.ui.studio import problems_html, voice_words
from roleplay.voice import bundled_voice, read_wav

from .conftest import CALL_VIEW, PROJECT_ROOT, App, endpoint

pytestmark = pytest.mark.timeout(180)

SOURCE = "happy_incumbent"
NEW_ID = "gatekeeper_monday"

# What each studio endpoint returns through the API (State and Button outputs are dropped).
OUTPUTS = {
    "/studio_open": ("editor", "versions", "status"),
    "/studio_new": ("editor", "versions", "status"),
    "/studio_check": ("problems", "brief", "prompt"),
    "/studio_save": ("status", "versions", "problems"),
    "/studio_open_version": ("editor", "status"),
    "/studio_publish": ("status", "problems", "source", "versions", "picker"),
    "/studio_try": ("table", "status"),
    "/studio_preview_voice": ("audio", "status", "problems"),
    "/start": CALL_VIEW,
}


@pytest.fixture
def studio_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test settings with ``personas_dir`` a copy of the project's personas."""
    personas_dir = tmp_path / "published"
    shutil.copytree(content.PERSONAS_DIR, personas_dir, ignore=shutil.ignore_patterns("*.md"))
    return settings.model_copy(update={"personas_dir": personas_dir})


@pytest.fixture
def studio_gym(studio_settings: Settings, new_gym: Callable[..., Gym]) -> Gym:
    return new_gym(studio_settings)


@pytest.fixture
def studio(studio_gym: Gym) -> Studio:
    return Studio(studio_gym)


def edited(text: str, **changes: Any) -> str:
    """Persona YAML ``text`` with top-level fields changed (``None`` removes one); comments are lost."""
    data = yaml.safe_load(text)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def published_bytes(settings: Settings, persona_id: str) -> bytes:
    return (settings.personas_dir / f"{persona_id}.yaml").read_bytes()


# --- Unit: the shared outcome table (roleplay/measure/simulation.py) -----------------------------------


def _outcome(door: str, ended_by: str, agreed: bool, revealed: list[str], prospect_lines: list[str]) -> dict:
    turns = [{"prospect": line, "fallback_reason": None, "prospect_state": {"revealed": revealed}}
             for line in prospect_lines]
    return {"outcome": {"door": door, "ended_by": ended_by, "agreed": agreed, "broke_character": False},
            "turns": turns}


def test_outcome_row_sums_up_runs() -> None:
    outcomes = [
        _outcome("closed", "prospect", False, [], ["No.", "I said no. Goodbye."]),
        _outcome("not_now", "script", False, ["The renewal is in March."], ["One. Two. Three. Four."]),
    ]
    row = outcome_row("p", "s", outcomes)
    assert (row["persona"], row["script"], row["runs"], row["turns"]) == ("p", "s", 2, 3)
    assert (row["closed"], row["not_now"], row["open"]) == (0.5, 0.5, 0.0)
    assert (row["hung_up"], row["agreed"], row["broke"], row["facts"]) == (0.5, 0.0, 0.0, 0.5)
    assert row["spoken"] == pytest.approx(2 / 3)  # the four-sentence line is not "spoken"
    with pytest.raises(ValueError):
        outcome_row("p", "s", [])


def test_text_table_and_cells_share_the_columns() -> None:
    row = outcome_row("happy_incumbent", "pushy", [_outcome("closed", "prospect", False, [], ["No."])])
    line = format_row(row)
    assert len(line) == len(format_header())
    assert line.split() == ["happy_incumbent", "pushy", "1", "0%", "100%", "0%", "0%", "100%", "0%", "0", "0%",
                            "100%", "0", "0", "0", "0", "0", "0", "1"]
    assert format_header().split() == [head for _, head, _, _ in COLUMNS]
    assert row_cells(row, ["script", "runs", "closed", "turns"]) == ["pushy", 1, "100%", 1]


def test_rep_script_names_lists_the_json_files(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text('{"rep": ["Hi"]}')
    (tmp_path / "a.json").write_text('{"rep": ["Hi"]}')
    (tmp_path / "notes.md").write_text("not a script")
    assert rep_script_names(tmp_path) == ["a", "b"]
    assert {"pushy", "curious", "folder", "attack_ai"} <= set(rep_script_names(content.REP_SCRIPTS_DIR))


def test_the_studio_plays_the_rep_scripts_of_the_settings(studio_settings: Settings, new_gym: Callable[..., Gym],
                                                          tmp_path: Path) -> None:
    """A team's own folder (``rep_scripts_dir``) replaces the shipped scripts."""
    scripts = tmp_path / "our_scripts"
    scripts.mkdir()
    (scripts / "ours.json").write_text('{"rep": ["What made you pick Fleetly?"]}')
    studio = Studio(new_gym(studio_settings.model_copy(update={"rep_scripts_dir": scripts})))
    assert studio.script_names() == ["ours"]
    (row,) = studio.try_draft(studio.gym.personas[SOURCE], ["ours"])
    assert (row["script"], row["runs"], row["turns"]) == ("ours", 1, 1)
    with pytest.raises(StudioError, match="Unknown rep script"):
        list(studio.try_draft(studio.gym.personas[SOURCE], ["pushy"]))


def test_simulate_suite_prints_the_shared_table_without_grading(settings: Settings, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "suite.json"
    monkeypatch.setattr("sys.argv", ["simulate_suite.py", "--backend", "fake", "--runs", "1", "--persona", SOURCE,
                                     "--script", "pushy", "--json", str(out)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(PROJECT_ROOT / "evals" / "simulate_suite.py"), run_name="__main__")
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert format_header() in printed
    (row,) = json.loads(out.read_text())["rows"]
    assert format_row(row) in printed
    assert (row["persona"], row["script"], row["runs"], row["hung_up"]) == (SOURCE, "pushy", 1, 1.0)
    (run,) = json.loads(out.read_text())["runs"]
    assert {t["unscored_reason"] for t in run["turns"]} == {GRADING_SKIPPED}


# --- Unit: ungraded calls and draft personas (roleplay/call/gym.py, simulate) ----------------------


def test_simulate_a_draft_persona_without_grading(studio_gym: Gym, studio_settings: Settings,
                                                  persona: Persona) -> None:
    draft = persona.model_copy(update={"id": "draft_only", "opening_line": "Draft Dana speaking."})
    script = load_rep_script(content.REP_SCRIPTS_DIR / "curious.json")
    result = simulate(studio_settings, draft, script, gym=studio_gym, report=False, grade=False)

    assert result["persona"] == "draft_only" and "draft_only" not in studio_gym.personas
    assert result["turns"] and all(t["scores"] is None for t in result["turns"])
    assert {t["unscored_reason"] for t in result["turns"]} == {GRADING_SKIPPED}
    assert studio_gym.models["grader"].calls == []  # the grader's model was never asked
    record = studio_gym.store.get_session(result["session_id"])
    assert record.persona_id == "draft_only" and record.persona_version == persona_version(draft)
    assert record.turns[0].text == "Draft Dana speaking."
    assert all(not g.scored and g.unscored_reason == GRADING_SKIPPED for g in record.grades.values())


def test_calls_are_graded_by_default(gym: Gym) -> None:
    call = gym.start(SOURCE)
    call.say("What made you pick Fleetly in the first place?")
    (grade,) = call.grades(wait=30).values()
    assert grade is not None and grade.scored


def test_add_persona_makes_it_startable_in_place(gym: Gym, persona: Persona) -> None:
    personas = gym.personas
    new = persona.model_copy(update={"id": "fresh_one", "opening_line": "Fresh here."})
    with pytest.raises(KeyError):
        gym.start("fresh_one")
    gym.add_persona(new)
    assert personas["fresh_one"] is new  # the same dict: views holding it see the new persona
    call = gym.start("fresh_one")
    assert call.lines[0].text == "Fresh here."
    assert gym.store.get_session(call.id).persona_version == persona_version(new)


# --- Unit: the studio's logic --------------------------------------------------------------------


def test_with_id_changes_only_the_id_line() -> None:
    text = "schema_version: 1\nid: old_one   # the file name\nname: Dana  # a comment\n"
    assert with_id(text, "new_one") == "schema_version: 1\nid: new_one\nname: Dana  # a comment\n"
    odd = with_id(text, "x\nname: Mallory")
    assert yaml.safe_load(odd) == {"schema_version": 1, "id": "x\nname: Mallory", "name": "Dana"}
    assert yaml.safe_load(with_id("name: Dana\n", "new_one")) == {"name": "Dana", "id": "new_one"}


def test_template_copies_a_persona_with_a_new_id(studio: Studio, studio_gym: Gym) -> None:
    text = studio.template(SOURCE, f"  {NEW_ID} ")
    draft = studio.check(text)
    source = studio_gym.personas[SOURCE]
    assert draft.id == NEW_ID
    assert draft.model_dump(exclude={"id"}) == source.model_dump(exclude={"id"})
    source_lines = studio.published_text(SOURCE).splitlines()
    changed = [(a, b) for a, b in zip(source_lines, text.splitlines(), strict=True) if a != b]
    assert changed == [(f"id: {SOURCE}", f"id: {NEW_ID}")]  # the author's layout and comments are kept
    for taken in (SOURCE, "wrong_moment"):
        with pytest.raises(StudioError, match="already used"):
            studio.template(SOURCE, taken)
    with pytest.raises(StudioError, match="Type an id"):
        studio.template(SOURCE, "  ")
    with pytest.raises(StudioError, match="no published persona"):
        studio.template("nobody", NEW_ID)


def test_check_reports_every_problem_with_field_and_fix(studio: Studio) -> None:
    text = edited(studio.published_text(SOURCE), title=None, difficulty="medium",
                  hang_up={"after_push": 2, "line": "Bye."})
    with pytest.raises(PersonaError) as caught:
        studio.check(text, "gatekeeper.yaml (draft)")
    fields = {field for field, _, _ in caught.value.problems}
    assert {"title", "difficulty", "hang_up.after_push"} <= fields
    assert caught.value.path == "gatekeeper.yaml (draft)"
    assert all(fix for _, _, fix in caught.value.problems)


def test_save_keeps_versions_beside_the_published_file(studio: Studio, studio_settings: Settings) -> None:
    before = published_bytes(studio_settings, SOURCE)
    text = edited(studio.published_text(SOURCE), opening_line="Dana. Who's this?")

    persona, saved, created = studio.save(text)
    assert created and saved.version == persona_version(persona)
    assert saved.path == studio_settings.data_dir / "personas" / SOURCE / f"{saved.version}.yaml"
    assert studio.check(saved.path.read_text()).opening_line == "Dana. Who's this?"
    assert published_bytes(studio_settings, SOURCE) == before
    assert studio.gym.personas[SOURCE].opening_line != "Dana. Who's this?"

    again = studio.save(text + "# a comment changes no version\n")
    assert again[1].version == saved.version and again[2] is False
    assert [v.version for v in studio.versions(SOURCE)] == [saved.version]
    assert studio.version(saved.key) == saved
    with pytest.raises(StudioError):
        studio.version(f"{SOURCE}/000000000000")
    with pytest.raises(StudioError):
        studio.version("../../etc/passwd")


def test_invalid_drafts_are_never_saved_or_published(studio: Studio, studio_settings: Settings) -> None:
    before = {p.name: p.read_bytes() for p in studio_settings.personas_dir.iterdir()}
    broken = edited(studio.published_text(SOURCE), patience={"start": 11})
    for action in (studio.save, studio.publish):
        with pytest.raises(PersonaError):
            action(broken)
    with pytest.raises(PersonaError):
        studio.publish("id: [unclosed")
    assert {p.name: p.read_bytes() for p in studio_settings.personas_dir.iterdir()} == before
    assert not (studio_settings.data_dir / "personas").exists()


def test_publish_writes_a_valid_file_and_the_gym_uses_it(studio: Studio, studio_settings: Settings) -> None:
    old = studio.gym.personas[SOURCE]
    text = edited(studio.published_text(SOURCE), opening_line="Dana Whitfield, go ahead.")

    persona, saved, previous = studio.publish(text)
    assert previous == persona_version(old) != saved.version
    target = studio_settings.personas_dir / f"{SOURCE}.yaml"
    assert load_persona(target) == persona
    assert validate_paths([studio_settings.personas_dir]) == []
    assert not [p for p in studio_settings.personas_dir.iterdir() if p.suffix == ".tmp"]
    assert studio.gym.personas[SOURCE] == persona
    assert studio.gym.start(SOURCE).lines[0].text == "Dana Whitfield, go ahead."

    new = studio.publish(studio.template(SOURCE, NEW_ID))
    assert new[2] is None and (studio_settings.personas_dir / f"{NEW_ID}.yaml").exists()


def test_publishing_into_an_installed_copy_is_refused_and_says_what_to_set(
        studio: Studio, studio_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed app's shipped folder is site-packages: an upgrade would wipe what is published there."""
    site = studio_settings.personas_dir.parent
    real = sysconfig.get_paths()
    monkeypatch.setattr(sysconfig, "get_paths", lambda: {**real, "purelib": str(site)})
    before = {p.name: p.read_bytes() for p in studio_settings.personas_dir.iterdir()}
    text = edited(studio.published_text(SOURCE), opening_line="Dana Whitfield, go ahead.")
    with pytest.raises(StudioError, match="ROLEPLAY_PERSONAS_DIR"):
        studio.publish(text)
    assert {p.name: p.read_bytes() for p in studio_settings.personas_dir.iterdir()} == before


def test_try_draft_plays_the_picked_scripts_against_the_draft(studio: Studio, studio_gym: Gym) -> None:
    draft = studio.check(edited(studio.published_text(SOURCE), id="trial_only",
                                hang_up={"after_pushes": 1, "line": "No. Goodbye."}))
    rows = list(studio.try_draft(draft, ["pushy", "curious"], runs=2))
    assert [(r["persona"], r["script"], r["runs"]) for r in rows] == [("trial_only", "pushy", 2),
                                                                       ("trial_only", "curious", 2)]
    pushy = rows[0]
    assert pushy["hung_up"] == 1.0 and pushy["closed"] == 1.0 and pushy["agreed"] == 0.0
    assert pushy["turns"] == 2 * 2  # hung up on the first push: two rep turns in each run
    assert studio_gym.store.list_sessions() == []  # trials never show among practice sessions
    assert studio_gym.models["grader"].calls == []
    with pytest.raises(StudioError, match="Unknown rep script"):
        list(studio.try_draft(draft, ["../pushy"]))
    with pytest.raises(StudioError, match="Runs must be"):
        list(studio.try_draft(draft, ["pushy"], runs=0))


def _voice_files(folder: Path, settings: Settings, name: str = "alba.onnx") -> Path:
    """A Piper voice at ``folder/name``: links to the bundled voice and its config."""
    joe = bundled_voice(settings.model_cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(joe)
    (folder / f"{name}.json").symlink_to(Path(f"{joe}.json"))
    return folder / name


def test_preview_voice_speaks_the_drafts_opening_line_at_its_rate(studio: Studio,
                                                                 studio_settings: Settings) -> None:
    before = {p.name: p.read_bytes() for p in studio_settings.personas_dir.iterdir()}
    text = studio.published_text(SOURCE)
    fast = studio.preview_voice(edited(text, voice={"rate": 1.6}))
    slow = studio.preview_voice(edited(text, voice={"name": "joe", "rate": 0.7}))
    for persona, speech in (fast, slow):
        assert speech.text == persona.opening_line == "Dana Whitfield."
        assert speech.sample_rate == 22_050 and speech.samples.dtype.name == "int16"
    assert fast[0].voice.rate == 1.6 and slow[0].voice.name == "joe"
    assert slow[1].duration_s > 1.3 * fast[1].duration_s
    assert {p.name: p.read_bytes() for p in studio_settings.personas_dir.iterdir()} == before
    assert not (studio_settings.data_dir / "personas").exists()  # nothing saved


def test_preview_voice_reads_a_relative_voice_path_from_the_published_folder(
        studio: Studio, studio_settings: Settings) -> None:
    draft = edited(studio.published_text(SOURCE), voice={"path": "voices/alba.onnx", "rate": 1.1})
    with pytest.raises(PersonaError) as caught:
        studio.preview_voice(draft, "happy_incumbent.yaml (draft)")
    ((field, message, fix),) = caught.value.problems
    assert field == "voice.path" and str(studio_settings.personas_dir / "voices" / "alba.onnx") in message
    assert "persona file's folder" in message and fix

    voice = _voice_files(studio_settings.personas_dir / "voices", studio_settings)
    persona, speech = studio.preview_voice(draft)
    assert persona.voice.file(studio_settings.personas_dir) == voice and speech.duration_s > 0.3


def test_preview_voice_says_what_stops_it(studio: Studio, studio_settings: Settings,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    text = studio.published_text(SOURCE)
    with pytest.raises(PersonaError, match="voice.rate"):
        studio.preview_voice(edited(text, voice={"rate": 5}))

    folder = studio_settings.personas_dir / "voices"
    folder.mkdir()
    (folder / "junk.onnx").write_bytes(b"not a voice")
    (folder / "junk.onnx.json").write_text("{}")
    with pytest.raises(StudioError, match="voice cannot be loaded .*Fix: give voice.path a Piper .onnx voice"):
        studio.preview_voice(edited(text, voice={"path": "voices/junk.onnx"}))

    monkeypatch.setitem(sys.modules, "roleplay.voice", None)  # as if the voice extra were not installed
    with pytest.raises(StudioError, match=r"needs the voice extra .*pip install -e '\.\[voice\]'"):
        studio.preview_voice(text)


@pytest.mark.parametrize(("voice", "words"), [
    ({}, "the app's default voice at its own pace"),
    ({"name": "joe", "rate": 1.2}, "the bundled voice joe at rate 1.2 (20% faster)"),
    ({"path": "voices/a.onnx", "rate": 0.95}, "the voice voices/a.onnx at rate 0.95 (5% slower)"),
])
def test_voice_words(persona: Persona, voice: dict[str, Any], words: str) -> None:
    assert voice_words(persona.model_copy(update={"voice": type(persona.voice)(**voice)})) == words


def test_problems_html_escapes_everything() -> None:
    error = PersonaError("<b>draft</b>", [("<img src=x>", "bad <script>", "use <i>this</i>")])
    html = problems_html(error)
    assert "<img" not in html and "<script" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;img src=x&gt;" in html and "&lt;script&gt;" in html


# --- The tab, through gradio_client ---------------------------------------------------------------


@pytest.fixture
def launch(studio_settings: Settings, new_gym: Callable[..., Gym], serve: Callable[..., App]) -> Callable[[], App]:
    """``launch()`` serves the app (fake models) over a gym whose personas are a temporary copy."""
    return lambda: serve(new_gym(studio_settings))


def call(client: Client, api_name: str, *args: Any) -> dict[str, Any]:
    return endpoint(client, api_name, OUTPUTS[api_name], *args)


def opened(client: Client, persona_id: str = SOURCE) -> str:
    return call(client, "/studio_open", persona_id)["editor"]


def test_broken_draft_shows_file_field_and_fix_and_is_not_publishable(
        launch: Callable[[], App], studio_settings: Settings) -> None:
    app = launch()
    client = app.client()
    before = published_bytes(studio_settings, SOURCE)
    broken = edited(opened(client), hang_up={"after_push": 2, "line": "Bye."}, patience={"start": 11})

    out = call(client, "/studio_check", broken)
    problems = out["problems"]
    assert "happy_incumbent.yaml (draft)" in problems  # the file
    for field, fix in [("hang_up.after_push", "allowed here: after_pushes, line, patience_at"),
                       ("patience.start", "expected patience at the start of the call, 0-10")]:
        assert f"<code>{field}</code>" in problems and fix in problems
    assert "2 problems" in problems
    assert "once the draft is valid" in out["brief"] and "once the draft is valid" in out["prompt"]

    out = call(client, "/studio_check", "name: Dana\n  title: [oops")
    assert "line 2, column" in out["problems"] and "not valid YAML" in out["problems"]

    for api_name in ("/studio_publish", "/studio_save"):
        out = call(client, api_name, broken)
        assert "Not " in out["status"] and "hang_up.after_push" in out["problems"], api_name
    assert published_bytes(studio_settings, SOURCE) == before
    assert app.gym.personas[SOURCE] == load_persona(studio_settings.personas_dir / f"{SOURCE}.yaml")
    assert validate_paths([studio_settings.personas_dir]) == []

    out = call(client, "/studio_try", broken, ["pushy"], 1)
    assert out["table"]["data"] == [] and "Fix the draft first" in out["status"]


def test_valid_draft_shows_its_brief_and_prompt(launch: Callable[[], App]) -> None:
    client = launch().client()
    draft = edited(opened(client), personality="Dry, exact and allergic to buzzwords.", name="Dana Q. Whitfield")
    out = call(client, "/studio_check", draft)
    assert "Valid: version" in out["problems"]
    assert "Dana Q. Whitfield" in out["brief"] and "Difficulty" in out["brief"]
    assert out["prompt"].startswith("You are Dana Q. Whitfield,")
    assert "About you: Dry, exact and allergic to buzzwords." in out["prompt"]


def test_saving_a_new_version_leaves_the_published_persona_alone(
        launch: Callable[[], App], studio_settings: Settings) -> None:
    app = launch()
    client = app.client()
    before = published_bytes(studio_settings, SOURCE)
    draft = edited(opened(client), opening_line="Whitfield. What now?")

    out = call(client, "/studio_save", draft)
    version = persona_version(Studio(app.gym).check(draft))
    assert f"version {version}" in out["status"] and "published persona is unchanged" in out["status"]
    assert out["versions"]["value"] == f"{SOURCE}/{version}"
    saved = studio_settings.data_dir / "personas" / SOURCE / f"{version}.yaml"
    assert saved.read_text() == draft
    assert published_bytes(studio_settings, SOURCE) == before

    started = call(client, "/start", SOURCE, False)  # practice still gets the published persona
    assert started["chat"][0]["content"][0]["text"] == app.gym.personas[SOURCE].opening_line != "Whitfield. What now?"

    other = app.client()  # a saved version can be opened again, from another session too
    call(other, "/studio_open", SOURCE)
    assert call(other, "/studio_open_version", f"{SOURCE}/{version}")["editor"].strip() == draft.strip()


def test_try_it_plays_the_chosen_scripts_against_the_draft(launch: Callable[[], App],
                                                           studio_settings: Settings) -> None:
    app = launch()
    client = app.client()
    before = published_bytes(studio_settings, SOURCE)
    draft = edited(opened(client), hang_up={"after_pushes": 1, "line": "No. Goodbye."})

    out = call(client, "/studio_try", draft, ["pushy", "curious"], 2)
    assert out["table"]["headers"] == [head for _, head in TABLE_COLUMNS]
    rows = [dict(zip(out["table"]["headers"], row, strict=True)) for row in out["table"]["data"]]
    assert [(r["persona"], r["script"], r["runs"]) for r in rows] == [(SOURCE, "pushy", 2), (SOURCE, "curious", 2)]
    pushy = rows[0]
    # The draft hangs up on the first push; the published persona waits for the third.
    assert (pushy["hung up"], pushy["door closed"], pushy["agreed"], pushy["turns"]) == ("100%", "100%", "0%", 4)
    assert all(r["broke character"] == "0%" for r in rows)
    assert "not published" in out["status"] and "Grading skipped" in out["status"]
    assert published_bytes(studio_settings, SOURCE) == before
    assert app.gym.store.list_sessions() == []

    published = call(client, "/studio_try", opened(client), ["pushy"], 1)["table"]["data"]
    # The published persona holds on longer than the draft, and still hangs up before the fifth push.
    assert 2 < published[0][-1] <= 5


def test_publish_makes_a_new_persona_startable_in_practice(launch: Callable[[], App],
                                                          studio_settings: Settings) -> None:
    app = launch()
    client = app.client()
    out = call(client, "/studio_new", SOURCE, NEW_ID)
    assert f"New persona {NEW_ID}" in out["status"]
    draft = edited(out["editor"], name="Gus Keeper", opening_line="Front desk, Gus speaking.")

    out = call(client, "/studio_publish", draft)
    assert f"Published {NEW_ID}" in out["status"]
    assert NEW_ID in [value for _, value in out["picker"]["choices"]]
    assert NEW_ID in [value for _, value in out["source"]["choices"]]
    assert load_persona(studio_settings.personas_dir / f"{NEW_ID}.yaml").opening_line == "Front desk, Gus speaking."
    assert validate_paths([studio_settings.personas_dir]) == []

    for practice in (client, app.client()):  # this tab, and one whose choices were not refreshed
        started = call(practice, "/start", NEW_ID, False)
        assert started["chat"][0]["content"][0]["text"] == "Front desk, Gus speaking."
        assert "On a call with Gus Keeper" in started["status"]
    versions = {r.persona_version for r in (app.gym.store.get_session(row["id"])
                                            for row in app.gym.store.list_sessions())}
    assert versions == {persona_version(app.gym.personas[NEW_ID])}

    out = call(client, "/studio_new", SOURCE, NEW_ID)  # its id is taken now
    assert "already used" in out["status"]
    assert call(app.client(), "/studio_open", NEW_ID)["editor"].strip() == draft.strip()
    assert "no published persona" in call(app.client(), "/studio_open", "nobody")["status"]


def test_preview_voice_plays_the_draft_as_typed_and_saves_nothing(launch: Callable[[], App],
                                                                   studio_settings: Settings) -> None:
    app = launch()
    client = app.client()
    before = published_bytes(studio_settings, SOURCE)
    text = opened(client)

    out = call(client, "/studio_preview_voice", edited(text, voice={"rate": 1.2}, opening_line="Dana here. Go on."))
    rate, samples = read_wav(Path(out["audio"]))
    assert rate == 22_050 and len(samples) / rate > 0.5
    status = html.unescape(out["status"])
    assert "Dana Whitfield's opening line in the app's default voice at rate 1.2 (20% faster)" in status
    assert "Nothing was saved" in out["status"]

    out = call(client, "/studio_preview_voice", edited(text, voice={"name": "bob", "rate": 9}))
    assert out["audio"] is None and "Not spoken: the draft has problems" in out["status"]
    for field, fix in [("voice.name", "use a bundled voice (joe)"), ("voice.rate", "speaking rate from 0.5 to 2.0")]:
        assert f"<code>{field}</code>" in out["problems"] and fix in out["problems"]

    assert published_bytes(studio_settings, SOURCE) == before
    assert not (studio_settings.data_dir / "personas").exists()
    assert app.gym.personas[SOURCE].voice.rate == 1.0


def test_user_text_is_escaped_in_the_studio(launch: Callable[[], App]) -> None:
    client = launch().client()
    evil = "<script>alert(1)</script>"
    text = opened(client)
    outputs: list[Any] = []

    broken = edited(text, **{"<img src=x onerror=alert(1)>": "x", "name": evil})
    outputs.append(call(client, "/studio_check", broken))
    new = call(client, "/studio_new", SOURCE, evil)  # the editor is a code view (text, never HTML)
    outputs.append(new["status"])
    id_problems = call(client, "/studio_check", new["editor"])["problems"]
    assert "<code>id</code>" in id_problems and "lower_snake_case" in id_problems
    outputs.append(id_problems)
    valid = edited(text, id="escaped_one", name=evil, title=f"Head of {evil}", brief=f"Brief {evil}")
    checked = call(client, "/studio_check", valid)
    assert checked["prompt"].startswith(f"You are {evil},")  # a code view: exactly what the model gets
    outputs.append({k: checked[k] for k in ("problems", "brief")})
    outputs.append(call(client, "/studio_save", valid))
    published = call(client, "/studio_publish", valid)
    outputs.append({k: published[k] for k in ("status", "problems")})
    outputs.append(call(client, "/start", "escaped_one", False)["status"])

    for output in outputs:
        html = str(output).lower()
        assert "<script" not in html and "<img" not in html, output
    assert "&lt;img src=x onerror=alert(1)&gt;" in outputs[0]["problems"]
    assert "&lt;script&gt;" in new["status"]
    assert "&lt;script&gt;" in checked["brief"] and "&lt;script&gt;" in outputs[-1]
    assert "Published escaped_one" in published["status"]
