"""A grade's notes: decided in code from the reading and the coaching library.

For each dimension the note says what the reply did and, by the score, what to keep or why it
costs the rep (``library.Entry``). The evidence is the sentence of the rep's own words that
reads most like the score the whole reply got. Where a score is 3 or lower the note offers a
line to try instead, and only a line proven better: the reader reads it as if the rep had said
it at the same moment, and it must score at least 4 on that dimension and more than the rep's
line. A model may offer a line fitted to the call first (``Grader``); the library's line is
the fallback, proven the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from roleplay.judge.coaching.library import CoachingLibrary, Entry
from roleplay.judge.coaching.quality import LINE_CHARS, describe, shares_words, text_defects
from roleplay.transcript import Line
from roleplay.understanding import Reader, Reading, spoken_words
from roleplay.understanding.signals import sentences

DIMENSIONS = ("curiosity", "composure", "restraint")
#: A "try instead" line must score at least this on its dimension (and more than the rep's line).
PROVEN_AT = 4
_EVIDENCE_CHARS = 160
Source = Literal["model", "library"]
NOTHING_SAID = ("You spoke to the grader or the system, not to the prospect, so there is nothing here to coach; "
                "the prospect heard it all the same.")


class Note(BaseModel):
    """What one dimension's note says, and where its parts came from."""

    text: str
    evidence: str | None
    try_instead: str | None = None
    try_instead_source: Source | None = None
    #: Why the model's line was not shown, when the library's line (or none) took its place.
    fallback_reason: str | None = None


def _cut(span: str) -> str:
    return span if len(span) <= _EVIDENCE_CHARS else span[:_EVIDENCE_CHARS].rsplit(" ", 1)[0]


def _expected(level_distribution: Sequence[float]) -> float:
    return sum((i + 1) * p for i, p in enumerate(level_distribution))


def evidence_by_meaning(
    reader: Reader, context: Sequence[Line], reply: str, reading: Reading, on_the_ask: Sequence[str] = (),
) -> dict[str, str | None]:
    """The rep's own words behind each score: the sentence of the reply whose own reading is
    closest to the score the whole reply got, or, for the dimensions ``on_the_ask`` (whose note
    speaks of the ask), the sentence that asks for a commitment. Quoted exactly; cut at a word
    boundary when long."""
    parts = sentences(re.sub(r"\s+", " ", spoken_words(reply)))
    if not parts:
        return dict.fromkeys(DIMENSIONS)
    if len(parts) == 1:
        return dict.fromkeys(DIMENSIONS, _cut(parts[0]))
    readings = [reader.read(context, p) for p in parts]
    out: dict[str, str | None] = {}
    for dim in DIMENSIONS:
        if dim in on_the_ask:
            best = max(range(len(parts)), key=lambda i: readings[i].asks)
        else:
            target = reading.scores[dim]
            best = min(range(len(parts)), key=lambda i: abs(_expected(getattr(readings[i], dim).distribution) - target))
        out[dim] = _cut(parts[best])
    return out


def clean_line(line: str) -> str:
    """A model's "try instead" line as the rep would say it: no surrounding quotes or labels."""
    line = re.sub(r"^\s*(?:rep|you|try instead|instead)\s*:\s*", "", " ".join(line.split()), flags=re.I)
    return line.strip().strip("\"'“”‘’").strip()


def line_problem(
    line: str, facts: Sequence[str] = (), prospect_said: Sequence[str] = (), reply: str = "",
    rep_said: Sequence[str] = (),
) -> str | None:
    """Why a proposed line cannot be shown as written (None when it can): it fails a coaching
    check, it repeats the prospect's own words (a small model sometimes answers as the
    prospect), or it repeats the rep's own line or one the rep said earlier in the call
    (``rep_said``; a suggestion must be something else to say, not the call's opening again)."""
    if not line:
        return "empty"
    if any(shares_words(line, said, 5) for said in prospect_said):
        return "repeats the prospect's words"
    if reply and shares_words(line, reply, 8):
        return "repeats your own line"
    if any(shares_words(line, earlier, 8) for earlier in rep_said):
        return "repeats what you said earlier in the call"
    found = [d for d in text_defects(line, "try instead", LINE_CHARS, (), facts) if d.kind != "not_to_you"]
    return f"fails {describe(found)}" if found else None


def proven(reader: Reader, context: Sequence[Line], line: str, dimension: str, rep_score: int) -> bool:
    """Does ``line``, said at the same moment, score at least ``PROVEN_AT`` and above the rep's?"""
    score = reader.read(context, line).scores[dimension]
    return score >= PROVEN_AT and score > rep_score


def write_notes(
    library: CoachingLibrary, reader: Reader, context: Sequence[Line], reply: str, reading: Reading,
    model_line: str | None = None, model_problem: str | None = None, facts: Sequence[str] = (),
) -> dict[str, Note]:
    """Every dimension's note for one reply.

    Args:
        library: the coaching library.
        reader: reads the evidence sentences and proves each "try instead" line.
        context, reply, reading: the moment and what the reader saw in it.
        model_line: a line a model fitted to this call, tried first where a score is 3 or lower.
        model_problem: why there is no model line (recorded as the fallback reason).
        facts: the persona's hidden facts, which a line may not paste.
    """
    entries: dict[str, Entry] = {dim: library.entry(dim, reading.scores[dim], reading) for dim in DIMENSIONS}
    on_the_ask = [dim for dim, e in entries.items()
                  if reading.asks_for_commitment and (dim == "restraint" or e.when == "asks")]
    evidence = evidence_by_meaning(reader, context, reply, reading, on_the_ask)
    if not any(evidence.values()):  # every word was addressed to the grader or the system
        return {dim: Note(text=NOTHING_SAID, evidence=None) for dim in DIMENSIONS}
    line = clean_line(model_line) if model_line else ""
    said = [ln.text for ln in context if ln.speaker == "prospect"]
    earlier = [ln.text for ln in context if ln.speaker == "rep"]
    problem = model_problem or (
        line_problem(line, facts, said, reply, earlier) if model_line is not None else "no model line")
    notes = {}
    for dim in DIMENSIONS:
        score, entry = reading.scores[dim], entries[dim]
        if score >= 4:
            notes[dim] = Note(text=f"{entry.saw} {entry.keep}", evidence=evidence[dim])
            continue
        note = Note(text=f"{entry.saw} {entry.why}", evidence=evidence[dim])
        if problem is None and proven(reader, context, line, dim, score):
            note.try_instead, note.try_instead_source = line, "model"
        else:
            note.fallback_reason = problem or f"the model's line did not score {PROVEN_AT}+ on {dim} here"
            if entry.try_instead and proven(reader, context, entry.try_instead, dim, score):
                note.try_instead, note.try_instead_source = entry.try_instead, "library"
        notes[dim] = note
    return notes
