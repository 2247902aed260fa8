"""The coach: an end-of-call report.

The facts of the report (strongest and weakest moments, averages, where the door was left)
are computed in code from the stored grades and the prospect's state; the model writes the
summary, the drill and the follow-up plan. If the model fails, the report says so and keeps
the computed parts, with the standard drill for the weakest dimension.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from roleplay import prompts
from roleplay.config import ROLE_DEFAULTS, Role
from roleplay.faults import ModelFault, RetryPolicy
from roleplay.grading import DIMENSIONS, Grade
from roleplay.models import json_constrained, model_label
from roleplay.personas import Persona
from roleplay.tokens import fit, token_counter
from roleplay.transcript import Line

log = logging.getLogger(__name__)


class CoachOutput(BaseModel):
    summary: str = Field(max_length=600)
    drill: str = Field(max_length=400)
    follow_up: str = Field(max_length=400)


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
    drill: str
    drill_source: str = "coach"
    follow_up: str | None = None
    coach_error: str | None = None
    coach_model: str = ""
    coach_raw: str = ""
    seconds: float = 0.0


RepTurn = tuple[int, str, Grade | None]


def _moment(turn: int, rep: str, grade: Grade, pick_low: bool) -> Moment:
    dims = sorted(grade.dimensions.items(), key=lambda kv: kv[1].score, reverse=not pick_low)
    detail = dims[0][1]
    return Moment(turn=turn, rep=rep, scores=grade.scores, evidence=detail.evidence, note=detail.note)


def summarise(rep_turns: list[RepTurn]) -> dict:
    """Averages, weakest dimension and the strongest / weakest moments, from the grades."""
    scored = [(t, text, g) for t, text, g in rep_turns if g is not None and g.scored]
    averages: dict[str, float | None] = {}
    for dim in DIMENSIONS:
        values = [g.scores[dim.value] for _, _, g in scored]
        averages[dim.value] = round(sum(values) / len(values), 2) if values else None
    known = {k: v for k, v in averages.items() if v is not None}
    total = lambda item: sum(item[2].scores.values())  # noqa: E731
    return {
        "replies": len(rep_turns),
        "graded": len(scored),
        "unscored": sum(1 for _, _, g in rep_turns if g is not None and not g.scored),
        "averages": averages,
        "weakest_dimension": min(known, key=known.get) if known else None,
        "strongest": _moment(*max(scored, key=total), pick_low=False) if scored else None,
        "weakest": _moment(*min(scored, key=total), pick_low=True) if scored else None,
    }


class Coach:
    """Writes the end-of-call report with the coach-role model."""

    def __init__(
        self, model: BaseChatModel, prompts_dir: Path, history_tokens: int = ROLE_DEFAULTS[Role.COACH][2],
        retry: RetryPolicy | None = None,
    ):
        self.model = model
        #: Faults and malformed answers get one retry (see ``roleplay.faults``).
        self.retry = retry or RetryPolicy()
        self.prompts_dir = prompts_dir
        self.history_tokens = history_tokens
        self._count = token_counter(model)
        self._drills = prompts.load_data(prompts_dir, "drills.yaml")
        self._runnable = json_constrained(model, CoachOutput.model_json_schema(), "coach_report")

    def transcript(self, lines: list[Line], rep_turns: list[RepTurn]) -> str:
        """The call within the token budget, each rep reply numbered and followed by its scores."""
        marks = iter(
            f"reply {n}: " + ("/".join(str(g.scores[d.value]) for d in DIMENSIONS) if g and g.scored else "unscored")
            for n, _, g in rep_turns
        )
        out = [f"{ln.speaker.capitalize()}: {ln.text}" + (f"  [{next(marks, '')}]" if ln.speaker == "rep" else "")
               for ln in lines]
        kept = fit(lines, self._count, self.history_tokens)
        if len(kept) < len(lines):
            out = [f"(… {len(lines) - len(kept)} earlier turns)", *out[len(lines) - len(kept) :]]
        return "\n".join(out) or "(the rep said nothing)"

    def report(
        self, persona: Persona, lines: list[Line], rep_turns: list[RepTurn], door: str,
        door_when: str | None, ended_by: str,
    ) -> Report:
        """Build the report; never raises for model faults (they are recorded in it)."""
        started = time.monotonic()
        facts = summarise(rep_turns)
        prompt = prompts.render(
            self.prompts_dir, "coach.md", persona=persona, transcript=self.transcript(lines, rep_turns),
            door=door.replace("_", " "), door_when=door_when, ended_by=ended_by,
        )
        report = Report(
            persona_id=persona.id, ended_by=ended_by, door=door, door_when=door_when, **facts,
            drill=self._drills.get(facts["weakest_dimension"] or "curiosity", "").strip(),
            drill_source="standard", coach_model=model_label(self.model),
        )

        def attempt() -> CoachOutput:
            report.coach_raw = raw = self._runnable.invoke([HumanMessage(prompt)]).text
            return CoachOutput.model_validate(json.loads(raw[raw.find("{") : raw.rfind("}") + 1]))

        try:
            out = self.retry.call(attempt, malformed=True, what="coach report")
        except ModelFault as fault:  # the report survives any model fault, with its reason
            report.coach_error = fault.describe("the coach's model")
            log.warning("coach: %s", report.coach_error)
        else:
            report.summary, report.follow_up = out.summary.strip(), out.follow_up.strip()
            if out.drill.strip():
                report.drill, report.drill_source = out.drill.strip(), "coach"
        report.seconds = round(time.monotonic() - started, 3)
        return report
