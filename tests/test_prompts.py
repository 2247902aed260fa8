import pytest

from roleplay import content, prompts
from roleplay.call.state import Move
from roleplay.personas import load_personas

from .conftest import PROJECT_ROOT, SHARED

PROMPTS = content.PROMPTS_DIR
PERSONAS = load_personas(content.PERSONAS_DIR)


@pytest.mark.parametrize("name", sorted(prompts.TEMPLATES))
def test_template_variables_match_what_the_code_passes(name):
    assert prompts.declared_variables(PROMPTS, name) == prompts.TEMPLATES[name]


@pytest.mark.parametrize("persona_id", sorted(PERSONAS))
@pytest.mark.parametrize("move", list(Move))
def test_prospect_prompts_render_for_every_persona_and_move(persona_id, move):
    persona = PERSONAS[persona_id]
    system = prompts.render(PROMPTS, "prospect_system.md", persona=persona)
    assert persona.name in system and "{{" not in system
    turn = prompts.render(PROMPTS, "prospect_turn.md", persona=persona, mood="guarded", move=move.value,
                          line="An example.", fact=None, refusals=1, memory="")
    assert "{{" not in turn and "{%" not in turn
    no_move = prompts.render(PROMPTS, "prospect_turn.md", persona=persona, mood="guarded", move="(none)",
                             line="An example.", fact=None, refusals=1, memory="")
    assert len(turn) > len(no_move) + 10, f"move {move} has no direction"


def test_missing_variable_is_an_error():
    with pytest.raises(prompts.PromptError, match="grader_case.md"):
        prompts.render(PROMPTS, "grader_case.md", transcript="x")


def test_the_grader_prompt_asks_only_for_a_line_to_try_instead():
    system = prompts.render(PROMPTS, "grader.md")
    assert '{"line"' in system
    case = prompts.render(PROMPTS, "grader_case.md", transcript="Prospect: No.", reply="Tuesday then?",
                          aims="- restraint: make no new ask after their no")
    assert case.index("Tuesday then?") < case.index("WHAT TO FIX"), "the reply comes before what needs it"


@pytest.mark.skipif(not (SHARED / "spec" / "rubric.md").exists(), reason="shared/spec not beside the checkout")
def test_rubric_copy_matches_the_product_spec():
    assert (PROMPTS / "rubric.md").read_text() == (SHARED / "spec" / "rubric.md").read_text()


@pytest.mark.parametrize("name", ["cli.md", "golden-format.md"])
def test_the_contracts_ship_in_the_repo_and_match_the_product_spec(name: str):
    copy = PROJECT_ROOT / "docs" / "spec" / name
    assert copy.is_file(), "the CLI's help points at docs/spec/, so the contract must ship with the code"
    if (SHARED / "spec" / name).exists():
        assert copy.read_text() == (SHARED / "spec" / name).read_text()


@pytest.mark.parametrize("persona_id", sorted(PERSONAS))
def test_the_prospect_reads_the_reps_brief_as_the_callers_not_its_own(persona_id):
    # Briefs speak to the rep ("You sell Crewbook"); given bare, the small model took the rep's
    # product for its own wish list and left its hidden fact unsaid.
    persona = PERSONAS[persona_id]
    system = prompts.render(PROMPTS, "prospect_system.md", persona=persona)
    label = system[:system.index(persona.brief.strip())].rsplit("\n", 1)[-1]
    assert "caller" in label and "never you" in label
