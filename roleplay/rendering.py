"""Words people wrote, as Markdown that shows them exactly as written; the report as Markdown.

Shared by the app's views and the exports, so a call reads the same on screen and on paper.
"""

from __future__ import annotations

import re
from html import escape

from roleplay.judge import DOOR_WORDS, DeliveryFacts, Report

_MARKDOWN_MARKS = re.compile(r"([\\`*_\[\]#|~])")
#: Marks that only count at the start of a line: list items, rules, setext headings.
_LINE_MARKS = re.compile(r"^([ \t]*)([-+=]|\d+(?=[.)]))", re.MULTILINE)


def plain(text: str) -> str:
    """``text`` for a Markdown view, shown exactly as typed.

    HTML is escaped (no tags, no scripts) and so are Markdown's marks (no links, images,
    emphasis, headings, lists or tables); a backslash escape is invisible once rendered.
    """
    text = _MARKDOWN_MARKS.sub(r"\\\1", escape(text, quote=False))
    return _LINE_MARKS.sub(lambda m: f"{m[1]}{m[2]}\\" if m[2][0].isdigit() else f"{m[1]}\\{m[2]}", text)


def _avg(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def noun_for(n: int, noun: str, plural: str | None = None) -> str:
    """``noun`` as it goes with the number ``n``: "call" for 1, else "calls" (or ``plural``)."""
    return noun if n == 1 else plural or noun + "s"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` in agreement: "1 call", "3 calls"."""
    return f"{n} {noun_for(n, noun, plural)}"


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def delivery_line(facts: DeliveryFacts) -> str:
    """The report's line on how the spoken replies sounded, in plain words from its figures."""
    said = [f"{facts.pace_wpm:.0f} words a minute on average" if facts.pace_wpm is not None
            else "pace: each reply too short to time"]
    if facts.fillers_per_min is not None:
        said.append(f"at least {facts.fillers_per_min:.1f} fillers a minute" if facts.fillers_per_min
                    else "no fillers heard")
    if facts.rep_share is not None and facts.prospect_talk_s:
        said.append(f"you did {facts.rep_share:.0%} of the talking in those exchanges")
    said.append(f"your longest monologue was {facts.longest_monologue_s:.0f} s")
    if facts.talk_overs:
        said.append(f"you started before the prospect had finished {_times(facts.talk_overs)}")
    replies = f"{facts.spoken} spoken repl{'y' if facts.spoken == 1 else 'ies'}"
    return f"**Delivery** ({replies}): " + "; ".join(said) + "."


def report_markdown(report: Report, persona_name: str, pending: bool = False) -> str:
    door = DOOR_WORDS[report.door]
    if report.door_when:
        door += f" — try again {plain(report.door_when)}"
    ended = f"{plain(persona_name)} hung up" if report.ended_by == "prospect" else "you ended the call"
    lines = [
        "## Coaching report",
        f"**How it ended:** {ended}. **Door:** {door}.",
        f"**Averages** (over {report.graded} graded of {report.replies} replies"
        + (f", {report.unscored} unscored" if report.unscored else "") + "): "
        + ", ".join(f"{k} {_avg(v)}" for k, v in report.averages.items()),
    ]
    if report.strongest:
        s = report.strongest
        lines.append(f"**Strongest moment** (reply {s.turn}): “{plain(s.rep)}” — {plain(s.note or '')}")
    if report.weakest and report.weakest != report.strongest:
        w, dim = report.weakest, report.weakest_dimension
        score = f", {dim} {w.scores[dim]}" if dim in w.scores else ""
        # the summary tells what went wrong there in the note's words: the report says it once
        told = bool(w.note and report.summary and w.note in report.summary)
        note = "" if told else f" — {plain(w.note or '')}"
        lines.append(f"**Weakest moment** (reply {w.turn}{score}): “{plain(w.rep)}”{note}")
    if report.summary:
        lines.append(f"**Summary:** {plain(report.summary)}" + (" *(the coach is still writing…)*" if pending else ""))
    play = f" *(play it under Drills: {plain(report.drill_title)})*" if report.drill_title else ""
    lines.append(f"**Drill for next time:** {plain(report.drill)}{play}")
    if report.follow_up:
        lines.append(f"**Follow-up plan:** {plain(report.follow_up)}")
    if report.delivery is not None:
        lines.append(delivery_line(report.delivery))
    if report.coach_error:
        lines.append(f"*The coach's model could not phrase the summary, so it is written from the facts: "
                     f"{plain(report.coach_error)}.*")
    return "\n\n".join(lines)
