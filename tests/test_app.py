"""The Gradio app on fake models, driven through its API with gradio_client (no network).

A ``Client`` keeps the app's ``gr.State`` for its own session, so the calls of one client
share one practice call. The API drops State and Button outputs, so each endpoint returns
the remaining outputs of its ``outputs`` list in ``build_app``, in order (see ``conftest.CALL_VIEW``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from roleplay.backends.fakes import FakeChatModel, fake_model_for

from .conftest import CALL_VIEW, App, endpoint

pytestmark = pytest.mark.timeout(180)

PERSONA = "happy_incumbent"
ASK = "Hi Dana, could we book 20 minutes next week?"
DIMENSIONS = ["curiosity", "composure", "restraint"]

OUTPUTS = dict.fromkeys(("/start", "/send", "/end", "/review"), CALL_VIEW)


def call(client: Client, api_name: str, *args: Any) -> dict[str, Any]:
    return endpoint(client, api_name, OUTPUTS[api_name], *args)


def start(client: Client, exam: bool = False) -> dict[str, Any]:
    return call(client, "/start", PERSONA, exam)


def send(client: Client, text: str, exam: bool = False) -> dict[str, Any]:
    return call(client, "/send", text, exam)


def lines(chat: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of each chat message."""
    return [(m["role"], "".join(part.get("text", "") for part in m["content"])) for m in chat]


def pills(scores: str) -> list[str]:
    return re.findall(r'<span class="rp-pill rp-s[1-5]" title="(\w+)">', scores)


def poll(fetch: Callable[[], str], done: Callable[[str], bool], timeout: float = 30.0) -> str:
    """Call ``fetch`` until ``done`` holds for its value; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting after {timeout:.0f}s; last value:\n{value}"
        time.sleep(0.1)


def current_scores(client: Client, exam: bool = False) -> str:
    """The score panel now: an empty message changes nothing and returns the panel as it is."""
    return send(client, "", exam)["scores"]


def failing(exc: BaseException) -> FakeChatModel:
    return FakeChatModel(responder=lambda messages: "", fail_with=exc, calls=[])


def test_main_flow_start_send_scores_report(serve: Callable[..., App]) -> None:
    app = serve()
    client = app.client()
    persona = app.gym.personas[PERSONA]

    out = start(client)
    assert lines(out["chat"]) == [("assistant", persona.opening_line)]
    assert "On a call with Dana Whitfield" in out["status"]
    assert out["report"]["visible"] is False
    assert out["msg"]["interactive"] is True
    assert app.session_id() in [value for _, value in out["past"]["choices"]]

    out = send(client, ASK)
    chat = lines(out["chat"])
    assert chat[:2] == [("assistant", persona.opening_line), ("user", ASK)]
    assert len(chat) == 3 and chat[2][0] == "assistant" and chat[2][1].strip()
    assert out["msg"]["value"] == ""
    assert out["msg"]["interactive"] is True

    scores = poll(lambda: current_scores(client), lambda html: len(pills(html)) == 3)
    assert pills(scores) == DIMENSIONS
    assert "Grading…" not in scores

    out = call(client, "/end")
    assert out["report"]["visible"] is True
    for heading in ("Coaching report", "Door", "Drill"):
        assert heading in out["report"]["value"]
    assert "Call ended" in out["status"]
    assert pills(out["scores"]) == DIMENSIONS
    assert out["msg"]["interactive"] is False
    # the report names a drill for the weakest habit, and the picker has it ready to play
    drill = app.gym.drills.get(out["drill"]["value"])
    assert f"play it under Drills: {drill.title}" in out["report"]["value"]


def test_the_reps_line_shows_before_the_prospect_answers(serve: Callable[..., App]) -> None:
    """The rep's line and the emptied box show while the prospect's model is still thinking."""
    client = serve(prospect=fake_model_for("prospect", latency_s=0.3)).client()
    start(client)
    job = client.submit(ASK, False, api_name="/send")
    job.result(timeout=30)
    first, *_, last = [dict(zip(CALL_VIEW, out, strict=True)) for out in job.outputs()]
    assert lines(first["chat"])[1:] == [("user", ASK)] and first["msg"] == ""
    assert lines(last["chat"])[1] == ("user", ASK) and lines(last["chat"])[2][0] == "assistant"


def test_exam_mode_hides_scores_until_the_end(serve: Callable[..., App]) -> None:
    app = serve()
    client = app.client()

    assert "scores are hidden" in start(client, exam=True)["scores"]
    assert "scores are hidden" in send(client, ASK, exam=True)["scores"]
    session_id = app.session_id()
    poll(lambda: str(len(app.gym.store.grades_for(session_id))), lambda n: n == "1")
    hidden = current_scores(client, exam=True)
    assert "scores are hidden" in hidden and not pills(hidden)

    out = call(client, "/end")
    assert pills(out["scores"]) == DIMENSIONS
    assert "scores are hidden" not in out["scores"]


def test_markup_in_a_message_is_escaped_everywhere(serve: Callable[..., App]) -> None:
    app = serve()
    client = app.client()
    evil = "What happens <script>alert(1)</script> when <img src=x onerror=alert(1)> shows up?"

    start(client)
    outputs: list[Any] = [send(client, evil)]
    scores = poll(lambda: current_scores(client), lambda html: "Grading…" not in html)
    outputs += [scores, call(client, "/end")]

    for output in outputs:
        text = str(output).lower()
        assert "<script" not in text and "<img" not in text, output
    assert ("user", evil.replace("<", "&lt;").replace(">", "&gt;")) in lines(outputs[0]["chat"])
    assert "&lt;script&gt;" in scores
    assert "&lt;script&gt;" in outputs[-1]["report"]["value"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n"], ids=["empty", "spaces", "newlines-tabs"])
def test_empty_message_is_refused_and_the_call_goes_on(serve: Callable[..., App], text: str) -> None:
    app = serve()
    client = app.client()
    started = start(client)
    session_id = app.session_id()
    before = len(app.turns(session_id))

    out = send(client, text)
    assert len(app.turns(session_id)) == before
    assert out["chat"] == started["chat"]
    assert "On a call with" in out["status"]
    assert out["msg"] == text  # given back to the rep as typed

    out = send(client, ASK)
    assert len(app.turns(session_id)) == before + 2
    assert lines(out["chat"])[-2] == ("user", ASK)


def test_grader_model_failure_keeps_scores_and_notes_and_records_why_the_line_is_the_librarys(
    serve: Callable[..., App],
) -> None:
    app = serve(grader=failing(RuntimeError("boom")))
    client = app.client()
    start(client)
    send(client, ASK)

    scores = poll(lambda: current_scores(client), lambda html: "Notes coming" not in html and "rp-note" in html)
    assert pills(scores) == ["curiosity", "composure", "restraint"]  # the scores are the reader's
    assert "You asked for a commitment" in scores  # the notes are the library's, whatever the model does

    (grade,) = app.gym.store.grades_for(app.session_id()).values()
    assert grade.scored and all(d.evidence and d.note for d in grade.dimensions.values())
    low = [d for d in grade.dimensions.values() if d.score <= 3]
    assert low and all("boom" in d.fallback_reason and d.try_instead_source != "model" for d in low)


def test_a_reply_in_another_language_is_unscored_with_the_reason(serve: Callable[..., App]) -> None:
    app = serve()
    client = app.client()
    start(client)
    send(client, "Entiendo perfectamente. ¿Le parece bien si le llamo el jueves a las diez para hablarlo?")

    scores = poll(lambda: current_scores(client), lambda html: "Unscored" in html)
    assert "another language (es)" in scores
    assert not pills(scores)


def test_prospect_model_failure_falls_back_to_the_persona_line(serve: Callable[..., App]) -> None:
    app = serve(prospect=failing(ConnectionError("refused")))
    client = app.client()
    persona = app.gym.personas[PERSONA]
    start(client)
    session_id = app.session_id()

    out = send(client, ASK)  # a first ask is refused with the persona's first refusal line
    assert lines(out["chat"])[-2:] == [("user", ASK), ("assistant", persona.refusal_lines[0])]
    turns = app.turns(session_id)
    assert [(t.speaker, t.text) for t in turns[-2:]] == [("rep", ASK), ("prospect", persona.refusal_lines[0])]
    assert "ConnectionError" in turns[-1].meta["fallback_reason"]
    assert out["msg"]["interactive"] is True

    question = "What does dispatch do when a customer moves a pickup?"
    out = send(client, question)
    (role, said), (reply_role, reply) = lines(out["chat"])[-2:]
    assert (role, said, reply_role) == ("user", question, "assistant") and reply.strip()
    turns = app.turns(session_id)
    assert len(turns) == 5 and (turns[-1].speaker, turns[-1].text) == ("prospect", reply)


def test_prospect_hangs_up_after_three_pushes(serve: Callable[..., App]) -> None:
    app = serve()
    client = app.client()
    persona = app.gym.personas[PERSONA]
    start(client)

    script = [  # (the rep's message, has the prospect hung up after it?)
        ("Could we book 20 minutes next Tuesday?", False),
        ("Just fifteen minutes, Thursday?", False),
        ("How about Friday at 2pm?", False),
        ("What about Monday at 10?", True),
    ]
    for text, hung_up in script:
        out = send(client, text)
        assert ("hung up" in out["status"]) is hung_up, (text, out["status"])
        assert out["msg"]["interactive"] is not hung_up, text

    assert lines(out["chat"])[-1] == ("assistant", persona.hang_up.line)
    report = call(client, "/end")["report"]
    assert report["visible"] is True and "hung up" in report["value"]


def test_review_a_past_session_from_a_new_client(serve: Callable[..., App]) -> None:
    app = serve()
    first = app.client()
    start(first)
    send(first, ASK)
    ended = call(first, "/end")
    session_id = app.session_id()

    out = call(app.client(), "/review", session_id)
    chat = lines(out["chat"])
    assert ("user", ASK) in chat and chat[0] == ("assistant", app.gym.personas[PERSONA].opening_line)
    assert out["report"]["visible"] is True
    assert out["report"]["value"] == ended["report"]["value"]
    assert "Coaching report" in out["report"]["value"]
    assert "Call ended" in out["status"]
    assert out["msg"]["interactive"] is False


def test_review_of_an_unknown_session_is_a_clear_error(serve: Callable[..., App]) -> None:
    app = serve()
    with pytest.raises(AppError, match="no such session"):
        call(app.client(), "/review", "not-a-session")


def test_a_turn_from_the_page_asks_only_for_what_a_turn_changes(gym: Any) -> None:
    """The page's Enter and Send update the chat, status, scores, message box and timer, not the
    report, the buttons, the pickers, the film or Call back, which a turn never changes: Gradio
    rebuilds each output an update leaves out and post-processes each one it is given, on every
    update. API clients keep /send with the whole call view (see ``CALL_VIEW``)."""
    from roleplay.ui.app import build_app

    config = build_app(gym).config
    ids = {c["props"].get("elem_id"): c["id"] for c in config["components"] if c.get("props", {}).get("elem_id")}
    by_trigger = {tuple(t): d for d in config["dependencies"] for t in d["targets"]}
    page = [by_trigger[(ids["msg"], "submit")], by_trigger[(ids["send"], "click")]]
    (api,) = [d for d in config["dependencies"] if d["api_name"] == "send"]
    for event in page:
        assert event["id"] == page[0]["id"] != api["id"]
        assert {ids[e] for e in ("chat", "status", "scores", "msg")} <= set(event["outputs"])
        never = ("report", "send", "end", "past", "drill", "film", "call-back")
        assert not {ids[e] for e in never} & set(event["outputs"])
    assert not api["targets"] and {ids["past"], ids["film"]} <= set(api["outputs"])


def test_a_line_to_try_instead_that_lifts_several_dimensions_is_written_once_on_the_card():
    from roleplay.judge.grading import Dimension, DimensionGrade, Grade
    from roleplay.ui.views import SAME_LINE, grade_card

    line, other = "Fair enough. What would make it worth a look?", "Understood. Thanks for your time."
    grades = {Dimension.CURIOSITY: DimensionGrade(score=2, evidence="Tuesday?", note="You asked nothing.",
                                                  try_instead=line),
              Dimension.COMPOSURE: DimensionGrade(score=4, evidence=None, note="Calm.", try_instead=None),
              Dimension.RESTRAINT: DimensionGrade(score=2, evidence="Tuesday?", note="You pushed.",
                                                  try_instead=line)}
    card = grade_card(1, "Tuesday?", Grade(scored=True, dimensions=grades))
    assert card.count(line) == 1 and card.count(SAME_LINE) == 1
    assert card.index(line) < card.index("You pushed.") < card.index(SAME_LINE)  # under restraint, after it
    grades[Dimension.RESTRAINT] = grades[Dimension.RESTRAINT].model_copy(update={"try_instead": other})
    card = grade_card(1, "Tuesday?", Grade(scored=True, dimensions=grades))
    assert card.count(line) == card.count(other) == 1 and SAME_LINE not in card  # two lines: both written


def test_the_report_says_what_went_wrong_at_the_weakest_moment_once():
    from roleplay.judge.coach import Moment, Report
    from roleplay.rendering import report_markdown

    note = "You pressed on against their no. Pressure after a no spends the goodwill you need."
    weakest = Moment(turn=3, rep="Thursday then?", scores={"curiosity": 2, "restraint": 1}, note=note)
    report = Report(persona_id="p", ended_by="rep", door="closed", door_when=None, replies=3, graded=3, unscored=0,
                    averages={"curiosity": 3.0, "composure": 4.0, "restraint": 2.3}, weakest_dimension="restraint",
                    strongest=None, weakest=weakest, summary=f"Your weakest habit was restraint: {note}",
                    drill="Let a no stand.", follow_up=None)
    shown = report_markdown(report, "Simone")
    assert shown.count(note) == 1 and "**Weakest moment** (reply 3, restraint 1): “Thursday then?”" in shown
    # a summary that does not carry the note (none could be written): the moment keeps it
    assert report_markdown(report.model_copy(update={"summary": None}), "Simone").count(note) == 1
