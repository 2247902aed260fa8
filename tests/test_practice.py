"""Deliberate practice: taking a moment of a call again."""

from __future__ import annotations

import json

import pytest

from roleplay.call import Gym
from roleplay.errors import InvalidInput
from roleplay.storage import Attempt
from roleplay.team.exports import session_dict, session_markdown

PUSHES = ["Could we book 20 minutes next Tuesday?", "Just fifteen minutes, Thursday?", "How about Friday at 2pm?"]
CURIOUS = "Fair enough. What made Fleetly the right fit back then?"


def test_a_reply_taken_again_is_a_new_branch_and_the_original_stays_as_it_was(gym: Gym) -> None:
    call = gym.start("happy_incumbent")
    for line in PUSHES:
        call.say(line)
    call.grades(wait=5)
    before = gym.store.get_session(call.id)

    again = gym.take_again(call.id, 2)
    # it starts just before reply 2: the opening, reply 1 with its grade, the prospect's answer
    assert again.id != call.id and again.attempt_of == Attempt(session_id=again.id, parent_id=call.id, reply=2)
    assert [ln.text for ln in again.lines] == [t.text for t in before.turns[:3]]
    assert again.state.snapshot() == before.turns[2].state  # the prospect's state as it was then
    again.say(CURIOUS)
    branch_grades = again.grades(wait=5)

    after = gym.store.get_session(call.id)
    assert after.turns == before.turns and after.grades == before.grades  # nothing of the original changed
    assert after.attempts == [again.attempt_of]
    branch = gym.store.get_session(again.id)
    assert [t.text for t in branch.turns[:4]] == [*(t.text for t in before.turns[:3]), CURIOUS]
    first, retry = (branch_grades[turn_id] for turn_id, _ in again.rep_turns)
    assert first == before.grades[before.turns[1].id]  # reply 1's grade came with it
    pushed = before.grades[before.turns[3].id]
    assert retry.scores["restraint"] > pushed.scores["restraint"] and retry.scores["curiosity"] >= 4

    # both calls say so in their exports
    assert session_dict(branch)["session"]["attempt_of"] == {"session_id": again.id, "parent_id": call.id, "reply": 2}
    assert f"**Takes again:** reply 2 of session {call.id}" in session_markdown(branch)
    assert f"**Taken again:** reply 2 in session {again.id}" in session_markdown(after)
    assert json.loads(json.dumps(session_dict(after)))["session"]["attempts"][0]["session_id"] == again.id


def test_a_reply_taken_again_keeps_the_delivery_of_the_spoken_replies_before_it(gym: Gym) -> None:
    call = gym.start("happy_incumbent")
    for line in PUSHES:
        call.say(line)
    first, second, _ = (turn_id for turn_id, _ in call.rep_turns)
    gym.store.add_delivery(call.id, first, {"words": 7, "summary": "7 words in 2.0 s: too short to time."}, 3.1)
    gym.store.add_delivery(call.id, second, {"words": 4, "summary": "4 words in 1.1 s: too short to time."})

    again = gym.take_again(call.id, 2)
    (copied,) = (turn_id for turn_id, _ in again.rep_turns)  # reply 1, as the branch starts before reply 2
    kept = gym.store.deliveries_for(again.id)
    assert list(kept) == [copied] and kept[copied].figures["words"] == 7 and kept[copied].prospect_s == 3.1


def test_a_taken_again_call_resumes_after_a_restart(new_gym) -> None:
    first = new_gym()
    call = first.start("happy_incumbent")
    call.say(PUSHES[0])
    call.say(PUSHES[1])
    again = first.take_again(call.id, 2)
    first.close()
    resumed = new_gym().call(again.id)
    assert resumed.attempt_of == again.attempt_of and [ln.text for ln in resumed.lines] == [
        ln.text for ln in again.lines]


@pytest.mark.parametrize(("reply", "says"), [(0, "from 1 to 1"), (2, "from 1 to 1")])
def test_only_a_reply_the_call_has_can_be_taken_again(gym: Gym, reply: int, says: str) -> None:
    call = gym.start("happy_incumbent")
    with pytest.raises(InvalidInput, match="no reply to take again"):
        gym.take_again(call.id, 1)
    call.say(PUSHES[0])
    with pytest.raises(InvalidInput, match=says):
        gym.take_again(call.id, reply)
    with pytest.raises(KeyError):
        gym.take_again("no-such-session", 1)


def test_the_simulation_takes_a_third_push_again_with_a_curious_reply(settings, gym: Gym) -> None:
    from roleplay import content
    from roleplay.measure.simulation import load_rep_script, outcome_row, simulate

    script = load_rep_script(content.REP_SCRIPTS_DIR / "take_again.json")
    result = simulate(settings, "happy_incumbent", script, gym=gym, report=False, grade=True)
    again = result["take_again"]
    assert again["reply"] == 3 and again["first"]["rep"] == script.rep[2]  # the last reply
    assert again["first"]["scores"]["restraint"] <= 2  # the third push
    (retry,) = again["turns"]
    assert retry["rep"] == script.take_again.rep[0] and retry["scores"]["restraint"] >= 4
    row = outcome_row("happy_incumbent", "take_again", [result])
    assert (row["retried"], row["retry_restraint_4"]) == (1, 1)


def test_a_rep_script_with_a_mistyped_key_is_refused(tmp_path) -> None:
    from roleplay.measure.simulation import RepScriptError, load_rep_script

    path = tmp_path / "typo.json"
    path.write_text(json.dumps({"rep": ["Hi"], "take_agian": {"reply": 1, "rep": ["Hello"]}}))
    with pytest.raises(RepScriptError, match="take_agian"):
        load_rep_script(path)


# --- Drills ----------------------------------------------------------------------------------

CURIOUS_REPLIES = ["Understood, I'll stop asking. What would make next year different for you?",
                   "That makes sense. How do the plant managers plan their shifts today?",
                   "Thanks, that helps. What would you want to see before you looked at anything?"]


def test_a_drill_starts_at_its_moment_and_passes_when_every_reply_clears_the_bar(gym: Gym) -> None:
    from roleplay.call.turn import DRILL_SETUP

    drill = gym.drills.get("let_the_no_stand")
    call = gym.start_drill(drill.id)
    persona = gym.personas[drill.persona]
    assert [ln.text for ln in call.lines] == [persona.opening_line, *(m.text for m in drill.moment)]
    assert call.state.refusals == 2  # two noes before the rep's first reply
    setup = gym.store.get_session(call.id)
    assert setup.drill_id == drill.id
    assert [g.unscored_reason for g in setup.grades.values()] == [DRILL_SETUP, DRILL_SETUP]
    for n, line in enumerate(CURIOUS_REPLIES, start=1):
        assert not call.over
        call.say(line)
        call.grades(wait=5)
        assert call.drill_verdict() is (True if n == drill.replies else None)
    assert call.over and call.ended_by == "rep"  # the drill's replies are given
    report = call.end(grade_timeout=5)
    assert report.replies == 5 and report.graded == 3  # the drill's own lines are not the rep's
    exported = gym.store.get_session(call.id)
    assert session_dict(exported)["session"]["drill_id"] == drill.id
    assert f"**Drill:** {drill.id}" in session_markdown(exported).replace("\\_", "_")


def test_a_drill_fails_on_a_reply_below_the_bar_and_can_be_played_again(gym: Gym) -> None:
    call = gym.start_drill("let_the_no_stand")
    call.say("Come on, just fifteen minutes on Friday?")
    call.grades(wait=5)
    assert call.drill_verdict() is False
    retry = gym.start_drill("let_the_no_stand")
    assert retry.id != call.id and len(retry.lines) == len(call.lines) - 2


def test_the_report_names_the_drill_for_the_weakest_habit(gym: Gym) -> None:
    call = gym.start("happy_incumbent")
    call.say(PUSHES[0])
    call.say(PUSHES[1])
    report = call.end(grade_timeout=5)
    drill = gym.drills.get(report.drill_id)
    assert drill.dimension == report.weakest_dimension and " ".join(drill.advice.split()) == report.drill


@pytest.mark.parametrize(("text", "says"), [
    ("schema_version: 1\ndrills: []\n", "drills: List should have at least 1 item"),
    ("schema_version: 1\ndrills:\n  - {id: a_b, dimension: restraint, title: Stop it,"
     " advice: Stop asking after two noes., persona: happy_incumbent, moment: [{prospect: No.}]}\n",
     "starts with the rep's line"),
    ("schema_version: 1\ndrills:\n  - {id: a_b, dimension: restraint, title: Stop it,"
     " advice: Stop asking after two noes., persona: happy_incumbent, replies: 9}\n",
     "replies: Input should be less than or equal to 5"),
])
def test_drills_are_validated_with_the_field_at_fault(tmp_path, text: str, says: str) -> None:
    from roleplay.drills import DrillError, load_drills

    path = tmp_path / "drills.yaml"
    path.write_text(text)
    with pytest.raises(DrillError, match=says):
        load_drills(path)


def test_drills_validate_on_the_command_line(tmp_path, capsys) -> None:
    from roleplay.cli import main

    assert main(["drills", "validate"]) == 0
    assert "drills valid: 3" in capsys.readouterr().out
    broken = tmp_path / "drills.yaml"
    broken.write_text("schema_version: 1\ndrills:\n  - {id: a_b, dimension: restraint, title: Stop it, "
                      "advice: Stop asking after two noes., persona: nobody}\n")
    assert main(["drills", "validate", str(broken)]) == 1
    assert "every habit needs a drill; missing: curiosity, composure" in capsys.readouterr().err


def test_progress_counts_the_replies_before_a_retaken_one_once(gym: Gym) -> None:
    call = gym.start("happy_incumbent")
    for line in PUSHES:
        call.say(line)
    call.grades(wait=5)
    again = gym.take_again(call.id, 2)
    again.say(CURIOUS)
    again.grades(wait=5)
    rows = gym.store.score_rows()
    assert [(r.session_id, r.turn) for r in rows] == [(call.id, 1), (call.id, 2), (call.id, 3), (again.id, 2)]


def test_a_drill_reply_that_cannot_be_scored_does_not_pass(gym: Gym) -> None:
    call = gym.start_drill("let_the_no_stand")
    call.say("Entiendo. ¿Qué haría falta para que esto le interesara el año que viene?")
    call.grades(wait=5)
    assert "another language (es)" in call.drill_unscored()  # the reader scores English only
    assert call.drill_verdict() is False


# --- The follow-up call ---------------------------------------------------------------------

def test_the_follow_up_call_remembers_the_first_and_is_as_open_as_it_left_it(settings, new_gym) -> None:
    from roleplay.backends.fakes import FakeChatModel, fake_prospect

    prospect = FakeChatModel(responder=fake_prospect, calls=[])
    gym = new_gym(prospect=prospect)
    persona = gym.personas["happy_incumbent"]
    first = gym.start("happy_incumbent")
    first.say("Could we book 20 minutes next Tuesday?")
    first.say("Totally fair. What made Fleetly the right choice?")
    first.say("Understood. Would it be okay if I checked back later?")
    assert first.state.door.value == "not_now"
    with pytest.raises(InvalidInput, match="End this call first"):
        gym.follow_up(first.id)
    first.end(grade_timeout=5)

    back = gym.follow_up(first.id)
    back_start = back.state.model_copy()
    opening = back.lines[0].text
    day = gym.store.get_session(first.id).created_at
    assert opening.startswith(f"{persona.name}. ") and f"{day:%A} {day.day} {day:%B}" in opening
    assert f"try again {persona.not_now.when}" in opening
    assert back.state.memory and persona.not_now.when in back.state.memory
    assert back.state.revealed == first.state.revealed  # what was said then is not news now
    back.say("Hi Dana, it's Sam again from RouteWise, as you suggested.")
    assert "You spoke with this caller before" in prospect.calls[-1][-1].text  # the direction
    record = gym.store.get_session(back.id)
    assert record.follow_up_of == first.id and gym.store.get_session(first.id).follow_ups == [back.id]
    assert f"**Follow-up of:** session {first.id}" in session_markdown(record)

    # harder to open after a closed door than after "not now"
    closed = gym.start("happy_incumbent")
    closed.say("Could we book 20 minutes next Tuesday?")
    closed.end(grade_timeout=5)
    assert closed.state.door.value == "closed"
    after_no = gym.follow_up(closed.id)
    assert "I told you no then" in after_no.lines[0].text
    assert after_no.state.patience < back_start.patience and after_no.state.interest < back_start.interest


def test_a_follow_up_after_a_call_where_nothing_was_decided_claims_no_agreement(gym: Gym) -> None:
    first = gym.start("happy_incumbent")
    first.say("What made Fleetly the right fit for you back then?")
    first.end(grade_timeout=5)
    assert first.state.refusals == 0 and not first.state.door_opened
    opening = gym.follow_up(first.id).lines[0].text
    assert opening.startswith("Dana Whitfield. Ah, you called on ") and "talk again" not in opening
