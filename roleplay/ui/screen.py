"""What the Practice tab shows of a call: its chat, its score cards (with the first answer of
a reply being taken again, and how each spoken reply was said) and its status line (a drill's
progress and verdict, a hang-up, a model fault). Every user text is escaped (see ``views``)."""

from __future__ import annotations

from html import escape
from typing import Any

from roleplay.call import Call
from roleplay.ui.views import Card, chat_messages, scores_html

Message = dict[str, str]


def history(call: Call) -> list[Message]:
    return chat_messages(call.lines)


def cards(call: Call) -> list[Card]:
    """Each reply of the call with its grade so far and, when it was spoken, how it was said."""
    grades = call.grades()
    spoken = call.gym.store.deliveries_for(call.id)
    return [Card(text, grades.get(turn_id), spoken[turn_id].summary if turn_id in spoken else None)
            for turn_id, text in call.rep_turns]


def first_time(call: Call) -> tuple[int, str, Any] | None:
    """The reply a call taking a moment again takes again: its number, words and grade then."""
    return call.first_answer


def scores(call: Call, exam: bool) -> str:
    return scores_html(cards(call), exam, first_time(call))


def drill_status(call: Call) -> str:
    """Where a drill stands: what it asks, how many replies are left, and then its verdict."""
    drill = call.drill
    given = len(call.drill_replies())
    head = (f"<p>🎯 <strong>Drill: {escape(drill.title)}</strong>. {escape(' '.join(drill.advice.split()))} "
            f"Pass: every one of your {drill.replies} replies scores {drill.pass_at}+ on {drill.dimension}.</p>")
    passed = call.drill_verdict()
    if passed is True:
        return head + f'<p class="rp-pass">✅ Passed: all {drill.replies} replies scored {drill.pass_at}+ on ' \
                      f"{drill.dimension}. Play another drill, or end the call for the report.</p>"
    if passed is False:
        unscored = call.drill_unscored()
        why = ("the prospect hung up" if call.ended_by == "prospect"
               else f"a reply could not be scored ({escape(unscored)})" if unscored
               else f"a reply scored under {drill.pass_at}")
        return head + f'<p class="rp-fail">❌ Not passed: {why}. Press <strong>Play drill</strong> to try again.</p>'
    if call.over:
        return head + "<p>Your replies are given; waiting for their scores…</p>"
    return head + f"<p>Reply {given + 1} of {drill.replies}.</p>"


def status(call: Call) -> str:
    name = escape(call.persona.name)
    if call.drill is not None and call.ended_by != "prospect":
        return drill_status(call)
    if call.ended_by == "prospect":
        hung_up = f'<p class="rp-hangup">📵 {name} hung up.</p>'
        if call.drill is not None:
            return hung_up + drill_status(call)
        return hung_up + "<p>End the call to read your report, or start over.</p>"
    if call.ended_by == "rep":
        return "<p>Call ended.</p>"
    status = f"<p>📞 On a call with {name}. Mood: <strong>{call.state.mood}</strong>.</p>"
    if call.attempt_of is not None and len(call.rep_turns) < call.attempt_of.reply:
        status += (f"<p>Taking reply {call.attempt_of.reply} again: the call is as it was just before it. "
                   "Your first answer is on the right.</p>")
    if call.last_turn and call.last_turn.fault:
        fault = escape(call.last_turn.fault[:1].upper() + call.last_turn.fault[1:], quote=False)
        status += f'<p class="rp-fault">⚠️ {fault}. {name}\'s line was scripted; your call goes on.</p>'
    return status
