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
    from roleplay.measure.simulation import REP_SCRIPTS, load_rep_script, outcome_row, simulate

    script = load_rep_script(REP_SCRIPTS / "take_again.json")
    result = simulate(settings, "happy_incumbent", script, gym=gym, report=False, grade=True)
    again = result["take_again"]
    assert again["reply"] == 3 and again["first"]["rep"] == script.rep[2]
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
