"""End to end on the embedded model, and the openai backend against a real server on loopback.

These are slow (tens of seconds each on two cores) but they are the only proof that the real
parts work together: llama.cpp, the assembled GGUF, the grammar-constrained grader, and an
OpenAI-compatible HTTP server driven through langchain-openai.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from roleplay.backends import create_chat_model
from roleplay.backends.embedded import EmbeddedModelError, ensure_embedded_model
from roleplay.call import Gym
from roleplay.call.prospect import breaks_character
from roleplay.call.state import Move
from roleplay.config import Backend, Role, load_settings

from .conftest import PROJECT_ROOT, free_port, running_server

pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def gguf() -> Path:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.fail("llama-cpp-python is not installed: run ./scripts/test (it installs the [local] extra)")
    try:
        return ensure_embedded_model(load_settings().model_cache_dir)
    except EmbeddedModelError as exc:
        pytest.fail(str(exc))


def test_an_embedded_model_call_past_its_deadline_times_out_and_the_slot_stays_usable(gguf):
    from langchain_core.messages import HumanMessage

    from roleplay.backends.llamacpp import LlamaCppChatModel

    model = LlamaCppChatModel(model_path=str(gguf), slot="timeout-test", max_tokens=200, temperature=0.0,
                              timeout_s=0.5)
    long_ask = [HumanMessage("Count slowly from one to two hundred, one number per line.")]
    with pytest.raises(TimeoutError, match="did not finish within 0.5 s"):
        model.invoke(long_ask)
    # The deadline released the slot: the next call (no deadline) runs normally.
    answer = model.model_copy(update={"timeout_s": None, "max_tokens": 8}).invoke([HumanMessage("Say hello.")])
    assert answer.content.strip()


def test_a_prompt_processed_ahead_leaves_the_call_only_its_rest(gguf):
    """What ``Call.type_ahead`` relies on: a prompt's start processed with ``prefill`` is not
    processed again, and the call's statistics say how much was left (``new_tokens``)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from roleplay.backends.llamacpp import LlamaCppChatModel

    model = LlamaCppChatModel(model_path=str(gguf), slot="timeout-test", max_tokens=4, temperature=0.0)
    system = SystemMessage("You answer in one short sentence.")
    cut = "\u0000CUT\u0000"  # where the processing ahead stops (the chat template has "|" in it)
    ahead = model.prefill([system, HumanMessage(f"Name three colours of the rainbow, and then{cut}")], cut)
    model.invoke([system, HumanMessage("Name three colours of the rainbow, and then stop.")])
    stats = model.last_stats()
    assert ahead >= 8 and stats.waited_s >= 0
    # left: " stop." and the chat template's end of the turn and start of the answer
    assert 0 < stats.new_tokens <= 10 < stats.prompt_tokens - ahead


def test_a_short_call_on_the_embedded_model_is_voiced_graded_and_reported(gguf, tmp_path):
    settings = load_settings(backend=Backend.LOCAL, database_url=f"sqlite:///{tmp_path / 'e2e.db'}")
    gym = Gym(settings)
    call = gym.start("happy_incumbent")
    first = call.say("Hi Dana, it's Sam from RouteWise. Could we book 20 minutes next week?")
    second = call.say("Totally fair. What made Fleetly the right choice for you originally?")
    assert first.move == Move.REFUSE and second.move == Move.ANSWER
    for turn in (first, second):
        assert turn.text and not breaks_character(turn.text)
        assert len(turn.text.split(". ")) <= 3
    grades = call.grades(wait=600)
    assert all(g is not None and g.scored for g in grades.values()), [g.unscored_reason for g in grades.values()]
    g1, g2 = (grades[tid] for tid, _ in call.rep_turns)
    assert g1.scores["curiosity"] == 1, "a meeting ask is never curiosity"
    assert g2.scores["curiosity"] >= 3, "an open why-question is curiosity"
    assert g1.raw_output and g1.model.startswith("Qwen2.5")
    report = call.end(grade_timeout=600)
    assert report.coach_error is None, report.coach_error
    assert report.summary and report.drill and report.follow_up
    gym.close()


@pytest.fixture(scope="module")
def openai_server(gguf):
    """llama-cpp-python's own OpenAI-compatible server with the embedded model, on loopback."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{port}.log"
    with running_server([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                         "--port", str(port), "--n_ctx", "4096", "--model_alias", "embedded"],
                        f"{base}/models", log, wait_s=180):
        yield base


def test_the_openai_backend_against_a_real_server(openai_server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    role = {"backend": "openai", "model": "embedded", "json_mode": "json_object", "length_cap": "max_tokens"}
    settings = load_settings(
        backend=Backend.OPENAI, prospect=role, grader=role, coach=role,
        database_url=f"sqlite:///{tmp_path / 'openai.db'}",
    )
    gym = Gym(settings)
    call = gym.start("no_cold_calls")
    turn = call.say("Hi, this is Alex from Brightpath. Do you have two minutes?")
    assert turn.text
    # The server answered (a line replaced for being out of character still came from it).
    assert not (turn.fallback_reason or "").startswith("the prospect's model failed"), turn.fallback_reason
    grades = call.grades(wait=600)
    grade = next(iter(grades.values()))
    assert grade.scored, grade.unscored_reason
    assert grade.model == "embedded"
    gym.close()


@pytest.mark.parametrize(("cap", "honoured"), [("max_tokens", True), ("max_completion_tokens", False)])
def test_llama_cpp_server_reads_the_length_cap_only_as_max_tokens(openai_server, monkeypatch, cap, honoured):
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    role = {"backend": "openai", "model": "embedded", "max_tokens": 8, "temperature": 0.0, "length_cap": cap}
    model = create_chat_model(Role.COACH, load_settings(coach=role))
    answer = model.invoke("Count from one to forty in words, separated by commas.")
    assert (answer.usage_metadata["output_tokens"] <= 8) == honoured, answer.usage_metadata


def test_the_live_golden_subset_is_graded_close_to_the_labels(gguf):
    """About ten golden cases graded by the embedded model on every CI run (the full set is
    ``roleplay eval grading``): every case scored, every quote the rep's own words, and most
    scores within one point of the label."""
    from roleplay.backends.models import create_chat_model
    from roleplay.judge.grading import Grader
    from roleplay.measure.evaluation import run_grading_eval
    from roleplay.measure.golden import load_golden

    settings = load_settings(backend=Backend.LOCAL)
    cases = load_golden(PROJECT_ROOT / "evals" / "golden" / "smoke.jsonl")
    grader = Grader(create_chat_model("grader", settings), settings.prompts_dir)
    report = run_grading_eval(grader, cases, "local")
    for case in report["cases"]:
        assert case["unscored_reason"] is None, case
        reply = next(c.reply for c in cases if c.id == case["id"])
        assert all(quote is None or quote in " ".join(reply.split()) for quote in case["evidence"].values())
    for dim, figures in report["dimensions"].items():
        assert figures["within1"] >= 0.7, (dim, figures)
