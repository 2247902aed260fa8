from typing import Any

import pytest

from roleplay.backends.fakes import FakeChatModel
from roleplay.call import CallEnded, InputError


def test_a_call_is_written_turn_by_turn(gym):
    call = gym.start("happy_incumbent")
    call.say("Hi Dana, could we book 20 minutes next week?")
    record = gym.store.get_session(call.id)
    assert [t.speaker for t in record.turns] == ["prospect", "rep", "prospect"]
    assert record.turns[2].move == "refuse"
    assert record.turns[2].state["refusals"] == 1
    assert record.persona_version and "prospect_system.md" in record.prompt_versions
    grades = call.grades(wait=5)
    assert all(g is not None and g.scored for g in grades.values())
    assert gym.store.grades_for(call.id)[record.turns[1].id].scored


def test_the_report_covers_moments_door_and_drill(gym):
    call = gym.start("happy_incumbent")
    call.say("Could we book 20 minutes next Tuesday?")
    call.say("Totally fair. What made Fleetly the right choice?")
    call.say("Understood. Would it be okay if I checked back in February?")
    report = call.end(grade_timeout=5)
    assert report.door == "not_now" and report.door_when
    assert report.strongest.turn == 2 and report.weakest.turn == 1
    assert report.drill and report.summary and report.follow_up
    assert gym.store.get_session(call.id).report["door"] == "not_now"


def test_a_prospect_model_failure_never_loses_the_turn(new_gym):
    gym = new_gym(prospect=FakeChatModel(responder=str, fail_with=ConnectionError("refused"), calls=[]))
    call = gym.start("happy_incumbent")
    result = call.say("Could we book 20 minutes next Tuesday?")
    assert "refused" in result.fallback_reason
    assert result.text == call.persona.refusal_lines[0]
    call.say("What made Fleetly the right fit?")
    assert len(gym.store.get_session(call.id).turns) == 5


def test_a_coach_failure_keeps_the_computed_report(new_gym):
    gym = new_gym(coach=FakeChatModel(responder=str, fail_with=TimeoutError("slow"), calls=[]))
    call = gym.start("happy_incumbent")
    call.say("What made Fleetly the right fit?")
    report = call.end(grade_timeout=5)
    assert "TimeoutError" in report.coach_error
    assert report.drill_source == "library" and report.drill
    # the summary written from the facts stands, in the rep's own words
    assert report.summary_source == "facts" and "“What made Fleetly the right fit?”" in report.summary


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01"])
def test_empty_messages_are_refused_and_not_stored(gym, text):
    call = gym.start("happy_incumbent")
    with pytest.raises(InputError, match="empty"):
        call.say(text)
    assert len(gym.store.get_session(call.id).turns) == 1


def test_a_message_is_checked_once_when_sent_before_the_prospect_speaks(gym):
    call = gym.start("happy_incumbent")
    with pytest.raises(InputError):
        call.send("  ")  # refused on the call itself, not when the reply is read
    reply = call.send("  What made Fleetly\x00 the right fit?  ")
    assert reply.message == "What made Fleetly the right fit?"  # as stored and graded
    assert len(gym.store.get_session(call.id).turns) == 1  # nothing happens until the reply is read
    *_, last = reply
    assert last == call.last_turn.text and call.rep_turns[-1][1] == reply.message


def test_an_overlong_message_is_refused_with_the_limit(gym):
    call = gym.start("happy_incumbent")
    with pytest.raises(InputError, match="limit is 2,000"):
        call.say("x" * 50_000)


def test_after_a_hang_up_the_call_is_over(gym):
    call = gym.start("happy_incumbent")
    for line in ["Could we book 20 minutes?", "Fifteen minutes Thursday?", "How about Friday at 2pm?",
                 "What about Monday at 10?"]:
        if call.over:
            break
        call.say(line)
    assert call.ended_by == "prospect"
    with pytest.raises(CallEnded):
        call.say("Hello?")
    assert gym.store.get_session(call.id).ended_by == "prospect"


def test_a_call_resumes_after_a_restart(new_gym):
    first = new_gym()
    call = first.start("happy_incumbent")
    call.say("Could we book 20 minutes next Tuesday?")
    call.grades(wait=5)
    first.close()
    second = new_gym()
    resumed = second.call(call.id)
    assert [ln.text for ln in resumed.lines] == [ln.text for ln in call.lines]
    assert resumed.state.refusals == call.state.refusals
    result = resumed.say("Just fifteen minutes, Thursday?")
    assert result.move.value == "refuse"
    assert resumed.state.pushes == 1


@pytest.mark.parametrize(("sentence", "kept", "why"), [
    ("Dana told you to try again after you asked “What made Fleetly the right fit?”.", True, None),
    ("Dana told you to try again after you asked about Fleetly.", False, "left out your words"),
    ("Dana liked “What made Fleetly the right fit?”. Ask more like it.", False, "more than one sentence"),
    ("The rep asked “What made Fleetly the right fit?”.", False, "not to you"),
])
def test_the_coachs_model_says_only_the_summarys_first_sentence(sentence, kept, why, new_gym):
    import json

    coach = FakeChatModel(responder=lambda _: json.dumps({"sentence": sentence}), calls=[])
    gym = new_gym(coach=coach)
    call = gym.start("happy_incumbent")
    call.say("What made Fleetly the right fit?")
    report = call.end(grade_timeout=5)
    # the model is given how the call ended and the rep's words, nothing to rewrite
    assert "THE MOMENT: on reply 1 you said “What made Fleetly the right fit?”" in coach.calls[0][-1].text
    if kept:
        assert report.summary_source == "coach" and report.summary.startswith(sentence)
        assert report.summary.count("What made Fleetly") == 1  # the habit that follows is the code's, unquoted
    else:
        assert report.summary_source == "facts" and why in report.summary_rejected
        assert "“What made Fleetly the right fit?”" in report.summary


def test_a_line_break_the_coachs_model_leaves_in_its_answer_is_not_a_fault(new_gym):
    raw = '{"sentence": "Dana told you to try again,\n after you asked “What made Fleetly the right fit?”."}'
    gym = new_gym(coach=FakeChatModel(responder=lambda _: raw, calls=[]))
    call = gym.start("happy_incumbent")
    call.say("What made Fleetly the right fit?")
    report = call.end(grade_timeout=5)
    assert report.coach_error is None and report.summary_source == "coach"
    assert report.summary.startswith("Dana told you to try again, after you asked")


class _ProcessesAhead(FakeChatModel):
    """A fake prospect model that, like the embedded one, can process a prompt ahead of time."""

    prefilled: list[tuple[str, Any]] = []

    def prefill(self, messages, cut, should_stop=lambda: False) -> int:
        self.prefilled.append((messages[-1].text, should_stop))
        return len(messages[-1].text)


def test_the_typed_start_of_a_line_is_processed_ahead_as_the_turn_will_start_it(new_gym):
    from roleplay.backends.fakes import fake_model_for
    from roleplay.call.prospect import _CUT

    model = _ProcessesAhead(responder=fake_model_for("prospect").responder, prefilled=[])
    gym = new_gym(prospect=model)
    call = gym.start("happy_incumbent")
    assert call.type_ahead("What") == 0 and model.prefilled == []  # one unfinished word: nothing yet
    assert call.type_ahead("What made Fleetly the ri") > 0
    assert [text for text, _ in model.prefilled] == ["What made Fleetly the" + _CUT]
    model.calls.clear()
    call.say("What made Fleetly the right choice?")
    assert model.calls[0][-1].text.startswith("What made Fleetly the")  # the turn's prompt begins as processed


def test_processing_ahead_gives_way_to_a_message_sent_and_needs_a_model_that_can(new_gym):
    from roleplay.backends.fakes import fake_model_for

    model = _ProcessesAhead(responder=fake_model_for("prospect").responder, prefilled=[])
    call = new_gym(prospect=model).start("happy_incumbent")
    call.type_ahead("How do you plan")
    (_, should_stop), = model.prefilled
    assert should_stop() is False
    call.say("How do you plan routes today?")
    assert should_stop() is True  # a message was sent: the work ahead stops
    assert new_gym().start("happy_incumbent").type_ahead("How do you plan") == 0  # the fakes cannot
