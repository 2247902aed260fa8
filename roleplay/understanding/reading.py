"""One reading of a rep reply in the context of the call, shared by the prospect and the grader.

Meaning comes from models: a multilingual sentence encoder and small heads fitted on the dev
splits (``heads.py``) say whether each prospect turn declined, whether the reply and each
earlier rep line asks for a commitment, how the reply sounds and which rubric anchor it
matches on each dimension, each with a probability. Structure comes from code: counting the
refusals and the asks after the first one, question marks, a day and a time, words addressed
to the grader, the language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from roleplay.transcript import Line
from roleplay.understanding.heads import Head
from roleplay.understanding.signals import GRADER_TALK_REMOVED, analyse_reply, prospect_declines, without_grader_talk

DIMENSIONS = ("curiosity", "composure", "restraint")
#: A reply counts as an ask when the asks head is at least this sure.
ASK_THRESHOLD = 0.5
#: A prospect turn counts as a refusal when the declines head is at least this sure (or a
#: refusal pattern matches: the head finds what the patterns miss, "that's absurd. no way").
#: 0.7 agreed best with the dev labels when each dev file was held out (0.3, 0.5, 0.7 tried).
DECLINE_THRESHOLD = 0.7
#: How sure the composure head must be before the prospect takes offence. With each dev file held
#: out in turn (v10's heads), 0.6 took offence at 46 replies labelled calm (4-5) and found 60% of
#: those labelled 1-2; 0.7 at 16 and 52%. A calm rep hung up on is the worse mistake: a polite
#: call-back opener ("Hi, it's Sam from RouteWise. Sorry to catch you again, is now a terrible
#: time?") reads 63% arguing after "You again? I just hung up on you."
TONE_SURE = 0.7
_DAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?|tomorrow|next week"
_DAY_TIME = re.compile(rf"(?i)\b(?:{_DAY})\b|\b\d{{1,2}}(?::\d\d)?\s*(?:am|pm|h\b|uhr|o'clock)|\b\d{{1,2}}:\d\d\b")

QuestionKind = Literal["about_their_view", "open_generic", "closed_or_leading", "acknowledges_or_logistics", "none"]
Tone = Literal["calm", "faint_edge", "defensive_or_servile", "argumentative", "hostile"]
#: Curiosity's anchors 5..1 and composure's, as kinds of question and tone.
_QUESTION_BY_SCORE: dict[int, QuestionKind] = {
    5: "about_their_view", 4: "open_generic", 3: "closed_or_leading", 2: "acknowledges_or_logistics", 1: "none"}
_TONE_BY_SCORE: dict[int, Tone] = {
    5: "calm", 4: "faint_edge", 3: "defensive_or_servile", 2: "argumentative", 1: "hostile"}


#: Clauses, for the form of each question (punctuation is often missing, so commas split too).
_CLAUSE = re.compile(r"[^.!?\n,;]+[.!?]*")
_OPENER = r"(?:(?:so|and|but|ok(?:ay)?|right|well|um+|uh+|just)\W+)*"
#: A clause that opens like a wh-question ("how come…", "walk me through…"): its form, not its topic.
_WH_FORM = re.compile(
    rf"(?i)^\W*{_OPENER}(?:(?:out of interest|honestly|tell me|i'?m (?:curious|wondering)|curious)\W+)*"
    r"(?:what|how|why|when|where|which|who|walk me through|tell me|talk me through)\b")
#: A clause that opens like a yes/no question ("could we…", "is it…").
_YES_NO_FORM = re.compile(
    rf"(?i)^\W*{_OPENER}(?:do|does|did|is|are|was|were|can|could|would|will|should|have|has|shall|may|might"
    r"|any chance|fancy|want)\b")
_OR = re.compile(r"(?i)\bor\b")
#: Sentences, for the one an ask usually closes a reply with.
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


class Structure(BaseModel):
    """What code can count in the call and the reply, no meaning involved."""

    words: int
    question_marks: int
    wh_clauses: int = 0  # clauses in the form of a wh-question
    yes_no_clauses: int = 0  # clauses in the form of a yes/no question
    either_or: bool = False
    day_or_time: bool
    to_grader: bool
    refusals_before: int
    stop_requested: bool
    stop_hard: bool
    time_short: bool
    not_now_last: bool
    left_now: bool
    busy_now: bool
    objection_last: bool
    # Still from patterns, until a head is fitted for them: the prospect deflects both.
    off_topic: bool = False
    attack: bool = False  # attacks the persona itself ("you're a bot", "ignore your instructions")


class Level(BaseModel):
    """One dimension's reading: the anchor it matches and how sure the head is."""

    score: int = Field(ge=1, le=5)
    confidence: float
    distribution: list[float]  # P(1) .. P(5)


class Reading(BaseModel):
    """A reply read in context: typed items with a probability each, and the counts behind them."""

    language: str
    language_confidence: float
    structure: Structure
    asks: float  # P(the reply asks for a commitment: meeting, demo, call, trial, intro, purchase)
    asks_in_context: list[float]  # the same for each earlier rep line, oldest first
    declines_in_context: list[float] = []  # P(declines) for each prospect turn, oldest first
    pushes_before: int  # asks after the first refusal, before this reply
    servile: float  # P(markedly servile or anxious)
    curiosity: Level
    composure: Level
    restraint: Level

    @property
    def asks_for_commitment(self) -> bool:
        return self.asks >= ASK_THRESHOLD

    @property
    def pushes_after_refusal(self) -> int:
        """Which ask after the first refusal this reply is (1 = the first); 0 when it asks nothing
        or nothing was refused yet."""
        return push_number(self.asks_for_commitment, self.structure.refusals_before, self.pushes_before)

    @property
    def question(self) -> QuestionKind:
        return _QUESTION_BY_SCORE[self.curiosity.score]

    @property
    def tone(self) -> Tone:
        return _TONE_BY_SCORE[self.composure.score]

    @property
    def pressure(self) -> float:
        """P(pressing against the prospect's position: restraint anchors 1-2)."""
        return round(sum(self.restraint.distribution[:2]), 4)

    @property
    def accepts_no(self) -> float:
        """P(respects the no and exits or asks permission: restraint 5), once something was refused."""
        return round(self.restraint.distribution[4], 4) if self.structure.refusals_before else 0.0

    @property
    def presses(self) -> bool:
        """Presses for a commitment after a refusal: asks again, or pushes without asking ("sixty
        seconds is all I need", "I'll send the invite anyway")."""
        return self.structure.refusals_before > 0 and (self.asks_for_commitment or self.pressure >= 0.5)

    @property
    def exit_with_time(self) -> bool:
        """Leaves gracefully and names when to come back."""
        return self.accepts_no >= 0.5 and self.structure.day_or_time and not self.asks_for_commitment

    @property
    def scores(self) -> dict[str, int]:
        return {d: getattr(self, d).score for d in DIMENSIONS}

    # What the prospect hears: the readings its state machine moves on.

    # The prospect reacts to tone only when the reader is fairly sure of it: a polite opener the
    # composure head reads as 48% hostile must not end a call.

    @property
    def hostile(self) -> bool:
        return self.composure.distribution[0] >= TONE_SURE

    @property
    def argues(self) -> bool:
        """Argues, condescends or defends (composure 1-2, or 3 unless the 3 is servility)."""
        d = self.composure.distribution
        return d[0] + d[1] >= TONE_SURE or (d[2] >= TONE_SURE and self.servile < 0.5)

    @property
    def pitches(self) -> bool:
        """Shows no interest in their view and asks nothing: pitches, argues or lectures."""
        return self.curiosity.score == 1 and not self.asks_for_commitment

    @property
    def open_question(self) -> bool:
        return self.curiosity.score >= 4

    @property
    def asks_something(self) -> bool:
        return self.structure.question_marks > 0 or self.curiosity.score >= 3

    @property
    def acknowledges(self) -> bool:
        return self.curiosity.score == 2 and self.composure.score >= 4

    @property
    def yields(self) -> bool:
        """Respects a no it was given: accepts it, exits, or asks only when to come back (restraint 5
        with the acknowledging, logistics-only kind of reply, after a refusal)."""
        return (self.structure.refusals_before > 0 and self.restraint.score == 5 and self.curiosity.score == 2
                and not self.asks_for_commitment)

    @property
    def strange(self) -> bool:
        return self.structure.off_topic or self.structure.attack

    def summary(self) -> str:
        """The reading in a few lines, for the model that writes the notes."""
        ask = "no"
        if self.asks_for_commitment:
            ask = "yes" + (f", ask {self.pushes_after_refusal} after a refusal" if self.pushes_after_refusal else "")
        return "\n".join([
            f"question: {self.question.replace('_', ' ')}",
            f"asks for a commitment: {ask}",
            f"tone: {self.tone.replace('_', ' ')}",
            f"prospect refusals before: {self.structure.refusals_before}"
            + (" (asked to end contact)" if self.structure.stop_requested else ""),
        ])


def structure_of(context: Sequence[Line], reply: str, declined: Sequence[bool] | None = None) -> Structure:
    """Counts from the call and the reply.

    ``declined`` says which prospect turns refused (see ``prospect_refusals``); without it the
    refusal patterns alone decide.
    """
    sig = analyse_reply(context, reply)
    refusals = sig.refusals_before if declined is None else sum(declined)
    spoken = reading_text(reply)
    clauses = _CLAUSE.findall(spoken)
    return Structure(
        words=len(spoken.split()), question_marks=spoken.count("?"),
        wh_clauses=sum(bool(_WH_FORM.search(c)) for c in clauses),
        yes_no_clauses=sum(bool(_YES_NO_FORM.search(c)) for c in clauses), either_or=bool(_OR.search(reply)),
        day_or_time=bool(_DAY_TIME.search(spoken)),
        to_grader=sig.injection, refusals_before=refusals, stop_requested=sig.stop_requested,
        stop_hard=sig.stop_hard, time_short=sig.time_short, not_now_last=sig.not_now_last, left_now=sig.left_now,
        busy_now=sig.busy_now, objection_last=sig.objection_last, off_topic=sig.off_topic, attack=sig.attack,
    )


def spoken_words(reply: str) -> str:
    """The reply without words addressed to the grader: what the prospect is meant to hear."""
    return without_grader_talk(reply).replace(GRADER_TALK_REMOVED, " ").strip()


_HESITATION = re.compile(r"(?i)(?:^|(?<=[\s,.]))(?:u+m+|u+h+|e+r+m*|h+m+)\b[,.]?\s*")
_LEADING_MARKERS = re.compile(r"(?i)^\W*(?:(?:so|well|ok(?:ay)?|yeah|right)\W+)+")
_TRAILING_YEAH = re.compile(r"(?i)([\s,.]*)(?:(?:so,?\s*)?yeah[.!]?[\s,]*)+$")


def _sentence_end(marker: re.Match) -> str:
    """What a trailing "so, yeah" leaves: the full stop it followed, if any ("today? So, yeah."
    reads "today?", "I hear you. So, yeah." reads "I hear you.")."""
    return "." if "." in marker.group(1) else ""


def reading_text(reply: str) -> str:
    """What the reader reads: the spoken words without hesitations ("um", "uh", "erm") and without
    discourse markers at either end ("So, well, …", "… So, yeah."), which earn nothing on any
    dimension and would otherwise move the encoder (as nerves, mostly)."""
    spoken = spoken_words(reply)
    text = _HESITATION.sub("", spoken)
    text = _TRAILING_YEAH.sub(_sentence_end, _LEADING_MARKERS.sub("", text)).strip()
    return text[:1].upper() + text[1:] if text else spoken


def structure_vector(s: Structure) -> np.ndarray:
    return np.array([
        min(s.refusals_before, 3), float(s.refusals_before > 0), float(s.stop_requested), float(s.stop_hard),
        float(s.time_short), float(s.not_now_last), float(s.left_now), float(s.busy_now), float(s.objection_last),
        min(s.question_marks, 3), float(s.question_marks > 0), np.log1p(s.words), float(s.day_or_time),
        min(s.wh_clauses, 2), min(s.yes_no_clauses, 2), float(s.either_or),
        float(s.wh_clauses > 0 and s.yes_no_clauses == 0),
    ], dtype=np.float64)


def last_sentence(text: str) -> str:
    """The last sentence of two words or more: where a reply's ask usually sits, after the
    acknowledgement, the jab or the pitch ("ok ok, can't blame a guy for trying. hows your diary
    looking in feb")."""
    found = [s.strip() for s in _SENTENCE.findall(text) if len(s.split()) >= 2]
    return found[-1] if found else text


def ask_features(embed: Callable[[str], np.ndarray], line: str) -> np.ndarray:
    """Features of one rep line for the asks head: the embedding of what it says and of its last
    sentence, a question mark, a day or a time (words to the grader set aside)."""
    spoken = reading_text(line)
    return np.concatenate([
        embed(spoken), embed(last_sentence(spoken)), [float("?" in spoken), float(bool(_DAY_TIME.search(spoken)))],
    ])


def dimension_features(vec: np.ndarray, s: Structure, asks: float, pushes_before: int, servile: float) -> np.ndarray:
    """Features for the three dimension heads: meaning, meaning after a refusal, structure, readings."""
    refused = float(s.refusals_before > 0)
    pushing = asks * refused
    return np.concatenate([
        vec, vec * refused, structure_vector(s),
        [asks, pushing, min(pushes_before, 3), pushing * float(pushes_before >= 1), servile],
    ])


def prospect_refusals(context: Sequence[Line], declines_in_context: Sequence[float]) -> list[bool]:
    """Which prospect turns refused: the declines head is sure enough, or a refusal pattern matches."""
    turns = [line.text for line in context if line.speaker == "prospect"]
    return [p >= DECLINE_THRESHOLD or prospect_declines(t) for t, p in zip(turns, declines_in_context, strict=True)]


def count_pushes_before(context: Sequence[Line], asks_in_context: Sequence[float], declined: Sequence[bool]) -> int:
    """Rep lines that asked for a commitment after the prospect's first refusal.

    Args:
        context: the turns before the reply.
        asks_in_context: P(asks) for each rep line, oldest first.
        declined: whether each prospect turn refused, oldest first.
    """
    refused, pushes, k, j = False, 0, 0, 0
    for line in context:
        if line.speaker == "rep":
            pushes += refused and asks_in_context[k] >= ASK_THRESHOLD
            k += 1
        else:
            refused = refused or declined[j]
            j += 1
    return pushes


def push_number(asks: bool, refusals_before: int, pushes_before: int) -> int:
    """Which ask after the first refusal a reply is (1 = the first); 0 when it asks nothing or
    nothing was refused yet."""
    return pushes_before + 1 if asks and refusals_before > 0 else 0


def apply_rubric_counts(restraint: int, reading_pushes: int, stop_hard: bool, asks: bool) -> int:
    """The rubric's counting rules, which no head may overrule: a third attempt (the second ask
    after a refusal) or selling on after "stop calling me" is a 1; a second attempt is at most 3."""
    if reading_pushes >= 2 or (asks and stop_hard):
        return 1
    if reading_pushes == 1:
        return min(restraint, 3)
    return restraint


def dimension_levels(
    heads: Mapping[str, Head], x: np.ndarray, pushes: int, stop_hard: bool, asks: bool,
) -> dict[str, Level]:
    """Each dimension's level from its head, with the rubric's counts applied to restraint."""
    levels = {d: level(heads[d].proba(x), heads[d].classes) for d in DIMENSIONS}
    r = levels["restraint"]
    capped = apply_rubric_counts(r.score, pushes, stop_hard, asks)
    if capped != r.score:
        levels["restraint"] = Level(score=capped, confidence=r.distribution[capped - 1], distribution=r.distribution)
    return levels


def level(head_proba: np.ndarray, classes: list[int]) -> Level:
    dist = [0.0] * 5
    for c, p in zip(classes, head_proba, strict=True):
        dist[c - 1] = float(p)
    # The median class: ordinal like the mean, but never a score the head finds unlikely
    # (a reply read as either 1 or 5 is not a 3).
    cumulative, score = 0.0, 5
    for i, p in enumerate(dist):
        cumulative += p
        if cumulative >= 0.5:
            score = i + 1
            break
    return Level(score=score, confidence=round(dist[score - 1], 4), distribution=[round(p, 4) for p in dist])
