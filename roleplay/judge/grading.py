"""The grader: scores one rep reply on curiosity, composure and restraint, with evidence and notes.

The scores are the reader's (``roleplay.understanding``): a sentence encoder and heads fitted
on the dev splits, with the rubric's counting rules applied in code. The notes are decided in
code too (``roleplay.judge.coaching``): what the reply did and why it matters come from the coaching
library, the evidence is the rep's sentence that reads most like the score. The grader-role
model fills one slot: a line to try instead, fitted to the call, for a reply that scored 3 or
lower somewhere; it is shown only where the reader proves it better. A reply the reader may
not score (another language) is returned as unscored with its reason; a score is never guessed.

``signal_bounds`` and ``signal_scores`` are the pattern-based scores the app used before the
reader; ``roleplay eval signals`` still measures them, for comparison.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from roleplay import prompts
from roleplay.backends import ModelFault, RetryPolicy, json_constrained, model_label
from roleplay.backends.tokens import fit, token_counter
from roleplay.config import ROLE_DEFAULTS, Role
from roleplay.judge.coaching import load_library
from roleplay.judge.coaching.notes import Note, write_notes
from roleplay.transcript import Line, render
from roleplay.understanding import Reader, Reading, unscored_reason
from roleplay.understanding.signals import (
    QuestionKind,
    ReplySignals,
    without_grader_talk,
)

log = logging.getLogger(__name__)


class Dimension(StrEnum):
    CURIOSITY = "curiosity"
    COMPOSURE = "composure"
    RESTRAINT = "restraint"


DIMENSIONS = list(Dimension)


class TryInsteadOutput(BaseModel):
    """What the model must answer: one line the rep could have said instead."""

    line: str = Field(max_length=200)


class DimensionGrade(BaseModel):
    score: int = Field(ge=1, le=5)
    #: The model's own score, from grades made when the model still scored (kept to audit them).
    model_score: int | None = Field(default=None, ge=1, le=5)
    evidence: str | None
    note: str
    #: A line to say instead, proven to score higher on this dimension in the same moment.
    try_instead: str | None = None
    #: Where that line came from: "model" (fitted to the call) or "library" (the fallback).
    try_instead_source: str | None = None
    #: Why the model's line was not shown here, when it was not.
    fallback_reason: str | None = None

    @property
    def shown(self) -> str:
        """The note as the rep reads it, with the line to try instead."""
        return self.note + (f" Try instead: “{self.try_instead}”" if self.try_instead else "")


class Grade(BaseModel):
    """One graded (or unscored) rep reply, with everything needed to audit it."""

    scored: bool
    dimensions: dict[Dimension, DimensionGrade] = Field(default_factory=dict)
    unscored_reason: str | None = None
    prompt: str = ""
    raw_output: str = ""
    model: str = ""
    prompt_hash: str = ""
    #: Code signals of grades made before the reader (kept so old grades stay readable).
    signals: dict[str, object] = Field(default_factory=dict)
    #: The reader's reading of the reply (``roleplay.understanding.Reading``), behind every score.
    reading: dict[str, object] = Field(default_factory=dict)
    #: Why the notes are missing when the model could not write them (the scores stand).
    notes_unavailable: str | None = None
    seconds: float = 0.0
    #: True while only the scores are known and the evidence and notes are still coming.
    partial: bool = False

    @property
    def scores(self) -> dict[str, int]:
        return {d.value: g.score for d, g in self.dimensions.items()}

    @classmethod
    def unscored(cls, reason: str, **audit: object) -> Grade:
        return cls(scored=False, unscored_reason=reason, **audit)


Bounds = dict[Dimension, tuple[int, int]]


def signal_bounds(sig: ReplySignals) -> Bounds:
    """The score range each dimension may take, given what code can tell for certain.

    These encode the rubric's hard rules (a meeting ask is never curiosity; a third push is
    a 1; insults are hostile) so a small model cannot wander past them.
    """
    cur_lo, cur_hi = 1, 5
    best = sig.best_question
    if best == QuestionKind.NONE:
        cur_hi = 2
    elif best in (QuestionKind.COMMITMENT,):
        cur_hi = 1 if not sig.acknowledges else 2
    elif best == QuestionKind.LOGISTICS:
        cur_hi = 2
    elif best in (QuestionKind.CLOSED, QuestionKind.DISGUISED_PITCH):
        cur_hi = 3
    elif best == QuestionKind.OPEN:
        cur_lo = 3 if not (sig.pitch and sig.commitment_ask) else 1

    com_lo, com_hi = 1, 5
    if sig.hostile or sig.condescends:
        com_hi = 2
    elif sig.disputes:
        com_hi = 3
    if sig.servility >= 3:
        com_hi = min(com_hi, 3)

    res_lo, res_hi = 1, 5
    if sig.commitment_ask and sig.refusals_before:
        if sig.pushes_after_refusal >= 2 or sig.stop_hard:
            res_hi = 1
        else:
            res_hi = 3
    elif sig.refusals_before and (sig.accepts_no or sig.follow_up_permission) and not sig.disputes:
        res_lo = 4
    elif not sig.commitment_ask and not sig.disputes and not sig.refusals_before:
        res_lo = 3
    if sig.disputes and not sig.commitment_ask:
        res_hi = min(res_hi, 4)
    return {
        Dimension.CURIOSITY: (cur_lo, cur_hi),
        Dimension.COMPOSURE: (com_lo, com_hi),
        Dimension.RESTRAINT: (res_lo, res_hi),
    }


def signal_scores(sig: ReplySignals) -> dict[Dimension, int]:
    """Scores from the code signals alone, following the rubric's anchors.

    Used to combine with the model (see ``Grader``) and measured on its own in the eval.
    """
    best = sig.best_question
    # Replies that argue, pitch or jab show no interest (1); a plain acknowledgement or exit is a 2.
    dismissive = bool(sig.disputes or sig.hostile or sig.pitch or sig.one_up or sig.urgency)
    plain_ack = best == QuestionKind.NONE and (sig.acknowledges or sig.accepts_no) and not dismissive
    if best == QuestionKind.OPEN:
        curiosity = 4 if (sig.pitch or sig.commitment_ask or sig.words > 60 or sig.permission_why) else 5
    elif best in (QuestionKind.CLOSED, QuestionKind.DISGUISED_PITCH):
        curiosity = 3
    elif best == QuestionKind.LOGISTICS or plain_ack:
        curiosity = 2
    else:
        curiosity = 1

    if sig.hostile:
        composure = 1
    elif sig.condescends:
        composure = 2
    elif sig.disputes or sig.servility >= 2:  # two apologies or more: markedly servile
        composure = 3
    elif sig.one_up or sig.pressure:
        composure = 4
    else:
        composure = 5

    # Restraint follows the rubric's count of attempts after a refusal, then what the reply
    # does with a "no" it does not push against.
    pushing = sig.commitment_ask and sig.refusals_before
    # Sarcasm on the way out is a composure matter; it argues nobody out of their position.
    arguing = bool(set(sig.disputes) - set(sig.jabs))
    asks_them = [q for q in sig.questions if q not in (QuestionKind.LOGISTICS, QuestionKind.COMMITMENT)]
    monologue = sig.time_short and not sig.commitment_ask and sig.words >= 15 and not (
        sig.questions or sig.accepts_no or sig.follow_up_permission)
    # "No problem, I'll be quick:" and then a pitch is still a monologue.
    monologue = monologue or (sig.time_short and sig.pitch and not sig.commitment_ask and sig.words >= 25)
    # "Sure, I'll be quick then: …" after a decline, and then a pitch.
    monologue = monologue or (sig.rushes_on and not sig.commitment_ask and sig.words >= 25)
    if pushing:
        if sig.pushes_after_refusal >= 2 or sig.stop_hard or (sig.pins_time and sig.refusals_before >= 2):
            restraint = 1  # a third attempt, pinning a time after two no's, or selling on after "stop calling me"
        elif sig.pressure or (arguing and not sig.condescends):
            restraint = 2  # presses on with urgency, or dismisses the objection to push
        else:
            restraint = 3  # a second attempt
    elif sig.stop_requested and (sig.pitch or arguing or sig.words > 40):
        restraint = 2  # argues with, or sells on after, a request to end contact
    elif sig.not_now_last and (arguing or sig.urgency) and not sig.commitment_ask:
        restraint = 3  # argues that now is the time after "not now"
    elif sig.refusals_before and sig.pressure and not sig.accepts_no:
        restraint = 2  # "I'll send it anyway"
    elif sig.commitment_ask:
        restraint = 4 if (sig.pressure or sig.objection_last) else 5  # a light ask after a soft objection
    elif monologue or (sig.bad_time and sig.words > 60):
        restraint = 3  # a monologue when the prospect said time is short
    elif arguing or sig.one_up or (sig.refusals_before and sig.pitch and not sig.follow_up_permission):
        restraint = 4  # no new ask, but tries to talk them out of their position
    elif QuestionKind.DISGUISED_PITCH in sig.questions:
        restraint = 4  # a question that nudges them off their position
    elif sig.left_now and asks_them:
        restraint = 4  # a short extra question when asked to leave
    elif sig.busy_now and asks_them:
        restraint = 4  # a question on their way out of a busy moment
    else:
        restraint = 5
    return {Dimension.CURIOSITY: curiosity, Dimension.COMPOSURE: composure, Dimension.RESTRAINT: restraint}


def parse_output(raw: str) -> TryInsteadOutput:
    """Parse the model's JSON answer (tolerating text around the object)."""
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the grader's answer")
    return TryInsteadOutput.model_validate(json.loads(raw[start : end + 1], strict=False))  # raw line breaks too


#: Marks where the rep's reply goes in a prompt prepared before the reply exists.
_CUT = "\u0000REPLY\u0000"


class Grader:
    """Grades rep replies: scores from the reader, notes from the coaching library, and a line to
    try instead from the grader-role model where the reader proves it better.

    Thread-safe; holds no call state.
    """

    def __init__(
        self, model: BaseChatModel, prompts_dir: Path, retries: int = 1,
        history_tokens: int = ROLE_DEFAULTS[Role.GRADER][2], retry: RetryPolicy | None = None,
        reader: Reader | None = None,
    ):
        self.model = model
        self.history_tokens = history_tokens
        self._count = token_counter(model)
        self.prompts_dir = prompts_dir
        self.reader = reader or Reader()
        self.library = load_library(prompts_dir)
        #: Faults and malformed answers get ``retries`` more attempts (see ``roleplay.backends.faults``).
        self.retry = retry or RetryPolicy(retries=retries)
        self.system_prompt = prompts.render(prompts_dir, "grader.md")
        self.prompt_hash = prompts.template_hash(prompts_dir, "grader.md")
        self._runnable = json_constrained(model, TryInsteadOutput.model_json_schema(), "try_instead")

    def grade(
        self, context: list[Line], reply: str, on_scores: Callable[[Grade], None] | None = None,
        reading: Reading | None = None, facts: Sequence[str] = (),
    ) -> Grade:
        """Grade ``reply`` given the call ``context`` before it.

        Args:
            context: the turns before the reply, oldest first.
            reply: the rep's reply.
            on_scores: called with a partial grade as soon as the three scores are known,
                before the notes are written.
            reading: the reply's reading, when the caller has it already (the call reads each
                reply once, for the prospect and the grader).
            facts: the persona's hidden facts, which no line to try instead may paste.

        Returns:
            A scored grade, or an unscored one with the reason. Never raises for model faults:
            when the model cannot offer a line, the library's line is tried instead and each
            note records why (``fallback_reason``).
        """
        started = time.monotonic()
        reading = reading or self.reader.read(context, reply)
        audit = {"model": model_label(self.model), "prompt_hash": self.prompt_hash,
                 "reading": reading.model_dump(mode="json")}
        if reason := unscored_reason(reading):
            return Grade.unscored(reason, seconds=time.monotonic() - started, **audit)
        if on_scores:
            on_scores(self._grade_of(reading, None, "", audit, time.monotonic() - started))
        aims = self._aims(reading)
        raw, line, problem = "", None, None
        if aims:
            case = self._case(context, without_grader_talk(reply), aims)
            audit["prompt"] = case

            def attempt() -> TryInsteadOutput:
                nonlocal raw
                raw = ""
                for chunk in self._runnable.stream([SystemMessage(self.system_prompt), HumanMessage(case)]):
                    raw += chunk.text
                return parse_output(raw)

            try:
                line = self.retry.call(attempt, malformed=True, what="grading").line
            except ModelFault as fault:  # the library's lines stand in
                problem = fault.describe("the grader's model")
                log.warning("grading: no line to try instead: %s", problem)
        notes = write_notes(self.library, self.reader, context, reply, reading, line, problem, facts)
        return self._grade_of(reading, notes, raw, audit, time.monotonic() - started)

    def _aims(self, reading: Reading) -> str:
        """What the line to try instead must fix: each dimension scored 3 or lower, in the
        library's words (empty when nothing needs fixing)."""
        out = []
        for dim in DIMENSIONS:
            score = reading.scores[dim.value]
            if score <= 3:
                entry = self.library.entry(dim.value, score, reading)
                out.append(f"- {dim.value}: {entry.saw} {entry.why} For example: {entry.try_instead}")
        return "\n".join(out)

    def _case(self, context: list[Line], reply: str, aims: str) -> str:
        """The user message for one reply: the recent call, the reply, then what to fix.

        The reply and the aims come last, so everything before them can be processed while
        the rep is still thinking (see ``prepare``). Turns beyond the token budget are left out.
        """
        recent = fit(context, self._count, self.history_tokens)
        transcript = render(recent) or "(the call has just started)"
        if len(context) > len(recent):
            transcript = f"(… {len(context) - len(recent)} earlier turns)\n{transcript}"
        return prompts.render(self.prompts_dir, "grader_case.md", transcript=transcript, reply=reply, aims=aims)

    def prepare(self, context: list[Line], should_stop: Callable[[], bool] = lambda: False) -> int:
        """Process the part of the next grade's prompt that is known before the rep replies.

        Only models that keep processed state (the embedded one) benefit; for others this
        does nothing. Returns the number of tokens processed.
        """
        prefill = getattr(self.model, "prefill", None)
        if prefill is None:
            return 0
        messages = [SystemMessage(self.system_prompt), HumanMessage(self._case(context, _CUT, ""))]
        return prefill(messages, _CUT, should_stop)

    @staticmethod
    def _grade_of(
        reading: Reading, notes: dict[str, Note] | None, raw: str, audit: dict, seconds: float,
    ) -> Grade:
        """A grade from the reading's scores; partial (scores only) until the notes are written."""
        dims = {}
        for dim in DIMENSIONS:
            note = notes[dim.value] if notes else None
            dims[dim] = DimensionGrade(
                score=reading.scores[dim.value], evidence=note.evidence if note else None,
                note=note.text if note else "", try_instead=note.try_instead if note else None,
                try_instead_source=note.try_instead_source if note else None,
                fallback_reason=note.fallback_reason if note else None,
            )
        return Grade(scored=True, dimensions=dims, raw_output=raw, seconds=seconds, partial=notes is None, **audit)
