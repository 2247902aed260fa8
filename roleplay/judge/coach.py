"""The coach: an end-of-call report built from facts.

Everything a report states comes from code: the averages, the strongest and weakest moments
with the rep's own words and what the coaching library says of them, where the prospect left
the door and when to try again (with a calendar file), the drill for the weakest dimension and
a summary written from those facts. The coach-role model only rephrases the summary; its words
replace the code's only when they pass the coaching checks (``roleplay.judge.coaching.quality``), and
a failure or a rejection is recorded in the report.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from roleplay import prompts
from roleplay.backends import ModelFault, RetryPolicy, json_constrained, model_label
from roleplay.judge.coaching.follow_up import follow_up_at
from roleplay.judge.coaching.quality import describe, report_defects
from roleplay.judge.grading import DIMENSIONS, Grade
from roleplay.personas import Persona
from roleplay.transcript import Line

log = logging.getLogger(__name__)


class CoachOutput(BaseModel):
    summary: str = Field(max_length=320)


class Moment(BaseModel):
    turn: int
    rep: str
    scores: dict[str, int]
    evidence: str | None = None
    note: str | None = None


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
    drill: str
    drill_source: str = "coach"
    follow_up: str | None = None
    #: When to try again, as the persona said it, made a date ("2027-07-01T10:00"); None for none.
    follow_up_at: str | None = None
    coach_error: str | None = None
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

    The strongest moment is the reply with the highest total, shown on the dimension where it
    stands out most from the call's average; the
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
        t, text, g = max(scored, key=lambda item: sum(item[2].scores.values()))
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


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def facts_summary(report: Report, first_name: str) -> str:
    """The summary code writes from the facts: how the call ended, then the weakest habit with
    the moment that shows it in the rep's own words (or the best moment, when nothing was weak)."""
    if report.ended_by == "prospect":
        ended = f"{first_name} hung up, and the door is closed."
    else:
        ended = {"closed": "You ended the call with the door closed.",
                 "not_now": f"You ended the call with the door at not now: {first_name} said to try again "
                            f"{report.door_when or 'later'}.",
                 "open": "You ended the call with the door open."}[report.door]
    w, s, dim = report.weakest, report.strongest, report.weakest_dimension
    if w and dim and (report.averages[dim] or 5) < 4:
        quote = w.evidence or w.rep
        said = f"on reply {w.turn} you said “{quote}”" + ("" if quote.rstrip()[-1:] in ".!?" else ".")
        return f"{ended} Your weakest habit was {dim} ({report.averages[dim]:.1f} of 5): {said} {w.note or ''}".strip()
    if s:
        best = f"reply {s.turn}, “{s.evidence or s.rep}”"
        return f"{ended} Your replies held up on all three habits; the best was {best}."
    return f"{ended} None of your replies could be graded, so there is nothing more to sum up."


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
    """Writes the end-of-call report; the coach-role model only rephrases its summary."""

    def __init__(self, model: BaseChatModel, prompts_dir: Path, retry: RetryPolicy | None = None):
        self.model = model
        #: Faults and malformed answers get one retry (see ``roleplay.backends.faults``).
        self.retry = retry or RetryPolicy()
        self.prompts_dir = prompts_dir
        self._drills = prompts.load_data(prompts_dir, "drills.yaml")
        #: The same for every call, so its processed state can be kept (see ``Gym.warm_up``).
        self.system_prompt = prompts.render(prompts_dir, "coach.md")
        self._runnable = json_constrained(model, CoachOutput.model_json_schema(), "coach_report")

    @staticmethod
    def facts(report: Report, persona: Persona) -> str:
        """The facts the model may phrase, one per line, spoken to the rep as the summary will be."""
        ended = f"{persona.name} hung up" if report.ended_by == "prospect" else "you ended the call"
        who = f"- The prospect: {persona.name}, {persona.title}."
        door = DOOR_WORDS[report.door]
        lines = [who, f"- How it ended: {ended}; the door was left {door}"
                 + (f", to try again {report.door_when}." if report.door_when else ".")]
        for label, m in (("Strongest", report.strongest), ("Weakest", report.weakest)):
            if m and (label == "Strongest" or m != report.strongest):
                said = m.evidence or m.rep
                saw = (m.note or "").split(". ")[0].rstrip(".")  # what was seen; the why stays in the report
                lines.append(f"- {label} moment (reply {m.turn}): you said “{said}”. {saw}.")
        if report.weakest_dimension:
            avg = report.averages[report.weakest_dimension]
            lines.append(f"- Weakest habit: {report.weakest_dimension} (average {avg:.1f} of 5).")
        return "\n".join(lines)

    def report(
        self, persona: Persona, lines: list[Line], rep_turns: list[RepTurn], door: str,
        door_when: str | None, ended_by: str, on_facts: Callable[[Report], None] | None = None,
        today: date | None = None,
    ) -> Report:
        """Build the report; never raises for model faults (they are recorded in it).

        Args:
            persona, lines, rep_turns: the call, and each rep reply with its grade.
            door, door_when: where the prospect left the door and when to try again.
            ended_by: "prospect" (hung up) or "rep".
            on_facts: called with the report built from facts, before the model rephrases the
                summary (the app shows it at once).
            today: the date the follow-up is counted from (default: today).
        """
        started = time.monotonic()
        facts = summarise(rep_turns, hung_up=ended_by == "prospect")
        at = follow_up_at(door_when, today or date.today()) if door in ("not_now", "open") else None
        weakest, first_name = facts["weakest_dimension"] or "curiosity", persona.name.split()[0]
        report = Report(
            persona_id=persona.id, ended_by=ended_by, door=door, door_when=door_when, **facts,
            drill=self._drills.get(weakest, "").strip(), drill_source="library", coach_model=model_label(self.model),
            follow_up=follow_up_plan(door, door_when, at, first_name),
            follow_up_at=at.isoformat(timespec="minutes") if at else None,
        )
        report.summary, report.summary_source = facts_summary(report, first_name), "facts"
        if on_facts:
            on_facts(report.model_copy())
        if report.graded:
            self._phrase(report, persona, [text for _, text, _ in rep_turns])
        report.seconds = round(time.monotonic() - started, 3)
        return report

    def _phrase(self, report: Report, persona: Persona, replies: list[str]) -> None:
        """Let the model rephrase the summary; keep its words only if they pass every check."""
        messages = [SystemMessage(self.system_prompt), HumanMessage("FACTS:\n" + self.facts(report, persona))]

        def attempt() -> CoachOutput:
            report.coach_raw = raw = self._runnable.invoke(messages).text
            return CoachOutput.model_validate(json.loads(raw[raw.find("{") : raw.rfind("}") + 1]))

        try:
            out = self.retry.call(attempt, malformed=True, what="coach report")
        except ModelFault as fault:  # the code's summary stands, with the reason
            report.coach_error = fault.describe("the coach's model")
            log.warning("coach: %s", report.coach_error)
            return
        summary = out.summary.strip()
        facts = [f.fact for f in persona.hidden_facts]
        defects = report_defects(summary, None, "", report.door, report.door_when, replies, facts=facts)
        if defects:
            report.summary_rejected = f"failed {describe(defects)}"
            return
        report.summary, report.summary_source = summary, "coach"
