"""The coach: an end-of-call report built from facts.

Everything a report states comes from code: the averages, the strongest and weakest moments
with the rep's own words and what the coaching library says of them, where the prospect left
the door and when to try again (with a calendar file), the drill for the weakest dimension, how
the spoken replies sounded (when there were any) and a summary written from those facts. The
coach-role model only says the summary's first sentence (how the call ended, quoting the rep);
the habit and its why stay the code's. Its words replace the code's only when they pass the
coaching checks (``roleplay.judge.coaching.quality``), and a failure or a rejection is recorded
in the report.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from roleplay import prompts
from roleplay.backends import ModelFault, RetryPolicy, json_constrained, model_label
from roleplay.drills import load_drills
from roleplay.judge.coaching.follow_up import follow_up_at
from roleplay.judge.coaching.quality import describe, report_defects, without_quotes
from roleplay.judge.grading import DIMENSIONS, Grade
from roleplay.personas import Persona
from roleplay.transcript import Line
from roleplay.understanding.signals import sentences

log = logging.getLogger(__name__)


class CoachOutput(BaseModel):
    #: The summary's first sentence: how the call ended and the rep's words that mattered most.
    sentence: str = Field(max_length=240)


class Moment(BaseModel):
    turn: int
    rep: str
    scores: dict[str, int]
    evidence: str | None = None
    note: str | None = None


class DeliveryFacts(BaseModel):
    """How the rep's spoken replies sounded over the call, as the report states them. Worked out
    from each reply's word times by ``roleplay.voice.delivery.call_delivery``, not by a model."""

    #: Replies spoken aloud (typed ones have no delivery).
    spoken: int
    rep_talk_s: float
    prospect_talk_s: float
    #: The rep's share of the talking (0–1); ``None`` when nobody spoke.
    rep_share: float | None
    longest_monologue_s: float
    #: Words a minute over the replies long enough to time; ``None`` when none was.
    pace_wpm: float | None
    #: Fillers a minute of the rep's speech (a floor: Whisper leaves some out).
    fillers_per_min: float | None
    #: Replies the rep started before the prospect's voice had finished.
    talk_overs: int


class Report(BaseModel):
    persona_id: str
    ended_by: str
    door: str
    door_when: str | None
    replies: int
    graded: int
    unscored: int
    averages: dict[str, float | None]
    weakest_dimension: str | None
    strongest: Moment | None
    weakest: Moment | None
    summary: str | None = None
    #: "coach" when the model's phrasing passed the checks, "facts" when the code's stands.
    summary_source: str = "coach"
    #: Why the model's phrasing was not used, when it passed no check (the code's summary stands).
    summary_rejected: str | None = None
    #: What to practise next, in words; ``drill_source`` says who wrote it, as for the summary.
    drill: str
    drill_source: str = "coach"
    #: The drill the rep can play for the weakest habit (``roleplay.drills``), and its title.
    drill_id: str | None = None
    drill_title: str | None = None
    #: When and how to reach the prospect again, as the door they left allows.
    follow_up: str | None = None
    #: When to try again, as the persona said it, made a date ("2027-07-01T10:00"); None for none.
    follow_up_at: str | None = None
    #: What went wrong with the coach's model, when it failed after its retry (the facts stand).
    coach_error: str | None = None
    #: How the spoken replies sounded; ``None`` when the rep only typed.
    delivery: DeliveryFacts | None = None
    #: The coach's model and its raw answer, for audit.
    coach_model: str = ""
    coach_raw: str = ""
    seconds: float = 0.0


RepTurn = tuple[int, str, Grade | None]
#: Where the door was left, in words.
DOOR_WORDS = {"closed": "closed", "not_now": "not now", "open": "open"}


def _moment(turn: int, rep: str, grade: Grade, dim: str) -> Moment:
    detail = grade.dimensions[dim]
    return Moment(turn=turn, rep=rep, scores=grade.scores, evidence=detail.evidence, note=detail.note)


def summarise(rep_turns: list[RepTurn], hung_up: bool = False) -> dict:
    """Averages, the weakest dimension and the strongest and weakest moments, from the grades.

    The strongest moment is the reply with the highest total among those with no score under 3
    (none, when every reply scored 2 or less somewhere: a pitch is no one's best moment), shown
    on the dimension where it stands out most from the call's average; the
    weakest is the lowest reply on the weakest dimension (ties: the lowest total), shown on that
    dimension, so the moment and the weakest habit tell the same story. The weakest dimension is
    the lowest average, except when the prospect hung up on a push or on hostility: then it is the
    habit that ended the call.
    """
    scored = [(t, text, g) for t, text, g in rep_turns if g is not None and g.scored]
    averages: dict[str, float | None] = {}
    for dim in DIMENSIONS:
        values = [g.scores[dim.value] for _, _, g in scored]
        averages[dim.value] = round(sum(values) / len(values), 2) if values else None
    known = {k: v for k, v in averages.items() if v is not None}
    weakest_dim = min(known, key=known.get) if known else None
    if hung_up and scored:  # the habit that ended the call: a push, or hostility, in the last reply
        last = scored[-1][2].scores
        weakest_dim = next((d for d in ("restraint", "composure") if last[d] <= 2), weakest_dim)
    strongest = weakest = None
    if scored:
        sound = [item for item in scored if min(item[2].scores.values()) >= 3]
        if sound:
            t, text, g = max(sound, key=lambda item: sum(item[2].scores.values()))
            # shown on the dimension where it stands out most from the call's average
            strongest = _moment(t, text, g, max(g.scores, key=lambda d: (g.scores[d] - averages[d], g.scores[d])))
        t, text, g = min(scored, key=lambda item: (item[2].scores[weakest_dim], sum(item[2].scores.values())))
        weakest = _moment(t, text, g, weakest_dim)
    return {
        "replies": len(rep_turns),
        "graded": len(scored),
        "unscored": sum(1 for _, _, g in rep_turns if g is not None and not g.scored),
        "averages": averages,
        "weakest_dimension": weakest_dim,
        "strongest": strongest,
        "weakest": weakest,
    }


def ending(report: Report, first_name: str) -> str:
    """How the call ended and where the door was left, in one sentence spoken to the rep."""
    if report.ended_by == "prospect":
        return f"{first_name} hung up, and the door is closed."
    return {"closed": "You ended the call with the door closed.",
            "not_now": f"You ended the call with the door at not now: {first_name} said to try again "
                       f"{report.door_when or 'later'}.",
            "open": "You ended the call with the door open."}[report.door]


class SummaryParts(NamedTuple):
    """The summary code writes, in the pieces a model may phrase around."""

    ended: str  # how the call ended and where the door was left
    moment: Moment | None  # the moment the summary quotes: the weakest, or the best when none was weak
    habit: str  # what the summary says of the habits, without the quote
    weak: bool = False  # the moment is the weakest habit's (``habit`` is "…: what was seen. why")


def summary_parts(report: Report, first_name: str) -> SummaryParts:
    """How the call ended, the moment to quote and the weakest habit (or that all held up)."""
    ended = ending(report, first_name)
    w, s, dim = report.weakest, report.strongest, report.weakest_dimension
    if w and dim and (report.averages[dim] or 5) < 4:
        return SummaryParts(ended, w, f"Your weakest habit was {dim} ({report.averages[dim]:.1f} of 5): "
                                      f"{w.note or ''}".strip(), weak=True)
    if s:
        return SummaryParts(ended, s, "Your replies held up on all three habits.")
    if report.graded:
        return SummaryParts(ended, None, "On average your replies held up on all three habits.")
    return SummaryParts(ended, None, "None of your replies could be graded, so there is nothing more to sum up.")


def _quote(moment: Moment) -> str:
    return moment.evidence or moment.rep


def facts_summary(report: Report, first_name: str) -> str:
    """The summary code writes from the facts: how the call ended, then the weakest habit with
    the moment that shows it in the rep's own words (or the best moment, when nothing was weak)."""
    ended, moment, habit, weak = summary_parts(report, first_name)
    if moment is None:
        return f"{ended} {habit}"
    quote = _quote(moment)
    said = f"on reply {moment.turn} you said “{quote}”" + ("" if quote.rstrip()[-1:] in ".!?" else ".")
    if weak:
        head, note = habit.split(": ", 1)
        return f"{ended} {head}: {said} {note}".strip()
    return f"{ended} {habit.rstrip('.')}; the best was reply {moment.turn}, “{quote}”."


def follow_up_plan(door: str, door_when: str | None, at: datetime | None, first_name: str) -> str:
    """What to do next, from where the door was left (never conditional: code knows the door)."""
    if door == "closed":
        return (f"The door is closed: don't call {first_name} again unprompted. If you reach out in a few months, "
                "send one short email that offers something useful and asks for nothing.")
    when = door_when or "later"
    dated = f" ({at:%A %d %B %Y, %H:%M})" if at else ""
    if door == "open":
        return (f"{first_name} agreed to talk again {when}{dated}. Put it in your calendar and confirm it by email "
                "today, in two lines.")
    return (f"Call {first_name} back {when}{dated}, as asked. Open with what you learned on this call, ask how "
            "things stand, and make one clear ask at most.")


class Coach:
    """Writes the end-of-call report; the coach-role model only says its summary's first sentence."""

    def __init__(self, model: BaseChatModel, prompts_dir: Path, retry: RetryPolicy | None = None):
        self.model = model
        #: Faults and malformed answers get one retry (see ``roleplay.backends.faults``).
        self.retry = retry or RetryPolicy()
        self.prompts_dir = prompts_dir
        self._drills = load_drills(prompts_dir)
        #: The same for every call, so its processed state can be kept (see ``Gym.warm_up``).
        self.system_prompt = prompts.render(prompts_dir, "coach.md")
        self._runnable = json_constrained(model, CoachOutput.model_json_schema(), "coach_report")

    def report(
        self, persona: Persona, lines: list[Line], rep_turns: list[RepTurn], door: str,
        door_when: str | None, ended_by: str, on_facts: Callable[[Report], None] | None = None,
        today: date | None = None, delivery: DeliveryFacts | None = None,
    ) -> Report:
        """Build the report; never raises for model faults (they are recorded in it).

        Args:
            persona, lines, rep_turns: the call, and each rep reply with its grade.
            door, door_when: where the prospect left the door and when to try again.
            ended_by: "prospect" (hung up) or "rep".
            on_facts: called with the report built from facts, before the model phrases the
                summary (the app shows it at once).
            today: the date the follow-up is counted from (default: today).
            delivery: how the spoken replies sounded, stated as it is (``None``: all typed).
        """
        started = time.monotonic()
        facts = summarise(rep_turns, hung_up=ended_by == "prospect")
        at = follow_up_at(door_when, today or date.today()) if door in ("not_now", "open") else None
        weakest, first_name = facts["weakest_dimension"] or "curiosity", persona.name.split()[0]
        drill = self._drills.for_dimension(weakest)
        report = Report(
            persona_id=persona.id, ended_by=ended_by, door=door, door_when=door_when, **facts,
            drill=" ".join(drill.advice.split()), drill_source="library", drill_id=drill.id, drill_title=drill.title,
            coach_model=model_label(self.model),
            follow_up=follow_up_plan(door, door_when, at, first_name),
            follow_up_at=at.isoformat(timespec="minutes") if at else None, delivery=delivery,
        )
        report.summary, report.summary_source = facts_summary(report, first_name), "facts"
        if on_facts:
            on_facts(report.model_copy())
        if report.graded:
            self._phrase(report, persona, [text for _, text, _ in rep_turns])
        report.seconds = round(time.monotonic() - started, 3)
        return report

    def _phrase(self, report: Report, persona: Persona, replies: list[str]) -> None:
        """Let the model say the summary's first sentence (how the call ended, with the rep's
        words); the habit and its why stay the code's. Its words are kept only if they pass
        every check, quote the moment's words exactly and add no second sentence."""
        first_name = persona.name.split()[0]
        ended, moment, habit, _ = summary_parts(report, first_name)
        if moment is None:
            return
        quote = _quote(moment)
        messages = [SystemMessage(self.system_prompt),
                    HumanMessage(f"HOW IT ENDED: {ended}\nTHE MOMENT: on reply {moment.turn} you said “{quote}”")]

        def attempt() -> CoachOutput:
            report.coach_raw = raw = self._runnable.invoke(messages).text
            # strict=False: a line break the model left raw inside the string is still its answer
            return CoachOutput.model_validate(json.loads(raw[raw.find("{") : raw.rfind("}") + 1], strict=False))

        try:
            out = self.retry.call(attempt, malformed=True, what="coach report")
        except ModelFault as fault:  # the code's summary stands, with the reason
            report.coach_error = fault.describe("the coach's model")
            log.warning("coach: %s", report.coach_error)
            return
        sentence = " ".join(out.sentence.split())
        summary = f"{sentence} {habit}"
        facts = [f.fact for f in persona.hidden_facts]
        defects = report_defects(summary, None, "", report.door, report.door_when, replies, facts=facts,
                                 ended_by=report.ended_by)
        problems = [f"failed {describe(defects)}"] if defects else []
        if quote not in sentence:
            problems.append("left out your words")
        if len(sentences(without_quotes(sentence))) > 1:
            problems.append("said more than one sentence")
        if problems:
            report.summary_rejected = "; ".join(problems)
            return
        report.summary, report.summary_source = summary, "coach"
