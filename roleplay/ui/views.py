"""HTML and Markdown views of briefs, chats and grades. Every user text is escaped.

Words from a rep or a model go into HTML views through ``html.escape`` and into Markdown views
(the chat, the brief) through ``rendering.plain``, so they always show as typed: never as
markup, a link, an image or a script. The report's Markdown is ``rendering.report_markdown``,
shared with the exports.
"""

from __future__ import annotations

from html import escape
from typing import NamedTuple

from roleplay.judge import DIMENSIONS, Grade
from roleplay.personas import Persona
from roleplay.rendering import plain
from roleplay.transcript import Line

CSS = """
.rp-card {border:1px solid #d0d7de; border-radius:8px; padding:8px 10px; margin-bottom:8px; font-size:0.92em}
.rp-card .rp-said {color:#57606a; margin-bottom:6px}
.rp-before {border-style:dashed; opacity:0.85}
.rp-pill {display:inline-block; border-radius:10px; padding:1px 8px; margin:0 4px 4px 0; font-weight:600; color:#fff}
.rp-s1 {background:#b42318} .rp-s2 {background:#d9480f} .rp-s3 {background:#a17c00}
.rp-s4 {background:#3b8b3b} .rp-s5 {background:#1a7f37}
.rp-unscored {background:#f6f8fa; color:#57606a}
.rp-note {margin:2px 0 4px 0}
.rp-ev {font-style:italic}
.rp-try {margin:2px 0 0 1em; color:#1d5e2f}
.rp-hangup {color:#b42318; font-weight:700}
.rp-fault {color:#9a6700; font-weight:600}
.rp-pass {color:#1a7f37; font-weight:600} .rp-fail {color:#b42318; font-weight:600}
.rp-delivery {margin:4px 0 0 0; color:#0b4f8a}
.rp-film-line {border-left:3px solid #d0d7de; padding:4px 8px; margin:4px 0}
.rp-film-line.rp-film-rep {border-left-color:#0b4f8a}
.rp-film-line.rp-film-now {background:#fff8c5}
.rp-film-line audio {display:block; width:100%; height:32px; margin-top:4px}
.rp-film-who {font-weight:600}
.rp-hands-free {margin:2px 0; color:#0b4f8a}
/* Gradio's radio button: its hover rule comes after the checked one at the same specificity, so a
   chosen option under the pointer lost its dot (white on white). Keep the chosen colour. */
.gradio-container input[type=radio]:checked:hover:not([disabled]) {
  background-color:var(--checkbox-background-color-selected); border-color:var(--checkbox-border-color-selected)}
"""


def chat_messages(lines: list[Line]) -> list[dict[str, str]]:
    """The call as chat messages: the rep is the user, the prospect the assistant."""
    return [{"role": "user" if ln.speaker == "rep" else "assistant", "content": plain(ln.text)} for ln in lines]


def brief_markdown(persona: Persona) -> str:
    return (
        f"**{plain(persona.name)}**, {plain(persona.title)} at {plain(persona.company)}  \n"
        f"Difficulty: **{persona.difficulty.value}**\n\n{plain(persona.brief.strip())}\n\n"
        f"*Your goal:* {plain(persona.rep_offer)}"
    )


def _short(text: str, n: int = 90) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class Card(NamedTuple):
    """A reply in the score panel: its words, its grade (``None`` while grading) and, when it was
    spoken, one plain line on how it was said."""

    said: str
    grade: Grade | None
    delivery: str | None = None


def delivery_html(delivery: str | None) -> str:
    """How a spoken reply was said, under its scores (nothing for a typed reply)."""
    return f'<div class="rp-delivery">🎙️ <strong>Delivery</strong>: {escape(delivery)}</div>' if delivery else ""


#: Under a dimension whose line to try instead is the one already shown above it on the card.
SAME_LINE = "Try instead: the line above."


def grade_card(number: int, said: str, grade: Grade | None, first_time: bool = False,
               delivery: str | None = None) -> str:
    """One reply's card; ``first_time``: the reply this call takes again, as it was said then;
    ``delivery``: how it was said, when it was spoken."""
    label = " the first time" if first_time else ""
    head = f'<div class="rp-said">#{number}{label} “{escape(_short(said))}”</div>'
    spoken = delivery_html(delivery)
    if grade is None:
        return f'<div class="rp-card rp-pending">{head}<em>Grading…</em>{spoken}</div>'
    if not grade.scored:
        reason = escape(grade.unscored_reason or "unknown reason")
        return f'<div class="rp-card rp-unscored">{head}<strong>Unscored</strong>: {reason}{spoken}</div>'
    notes = []
    if grade.partial:
        notes.append("<em>Notes coming…</em>")
    elif grade.notes_unavailable:
        notes.append(f'<div class="rp-note"><em>No notes</em>: {escape(grade.notes_unavailable)}</div>')
    faults = {g.fallback_reason for g in grade.dimensions.values()
              if g.fallback_reason and g.fallback_reason.startswith("the grader's model failed")}
    offered: set[str] = set()  # a line that lifts several dimensions is written out once
    for dim in DIMENSIONS:
        g = grade.dimensions[dim]
        if grade.partial:
            continue
        evidence = f'<span class="rp-ev">“{escape(g.evidence)}”</span> — ' if g.evidence else ""
        better = ""
        if g.try_instead in offered:
            better = f'<div class="rp-try">{SAME_LINE}</div>'
        elif g.try_instead:
            better = f'<div class="rp-try">Try instead: “{escape(g.try_instead)}”</div>'
            offered.add(g.try_instead)
        if evidence or g.note:
            notes.append(f'<div class="rp-note"><strong>{dim.value}</strong>: {evidence}{escape(g.note)}{better}</div>')
    if faults and not grade.partial:  # the lines to try instead are the library's: say why
        notes.append(f'<div class="rp-note"><em>Standard line: {escape(sorted(faults)[0])}</em></div>')
    kind = "rp-scored rp-before" if first_time else "rp-scored"
    return f'<div class="rp-card {kind}">{head}{score_pills(grade)}{spoken}{"".join(notes)}</div>'


def score_pills(grade: Grade) -> str:
    """A scored grade's three scores, as coloured pills."""
    scores = [(dim.value, grade.dimensions[dim].score) for dim in DIMENSIONS]
    return "".join(f'<span class="rp-pill rp-s{score}" title="{dim}">{dim} {score}</span>' for dim, score in scores)


def scores_html(
    cards: list[Card] | list[tuple[str, Grade | None]], hidden: bool,
    first_time: tuple[int, str, Grade | None] | None = None,
) -> str:
    """The score cards of a call's replies (each a ``Card``, or ``(words, grade)``), with the
    delivery of those spoken. ``first_time`` (reply number, words, grade): the reply a call that
    takes a moment again is taking again, shown just before this call's answer to it."""
    if hidden:
        return "<p><em>Exam mode: scores are hidden until the call ends.</em></p>"
    shown = [grade_card(i, c.said, c.grade, delivery=c.delivery)
             for i, c in enumerate((Card(*card) for card in cards), start=1)]
    if first_time is not None:
        number, said, grade = first_time
        shown.insert(number - 1, grade_card(number, said, grade, first_time=True))
    if not shown:
        return "<p><em>Each of your replies will be scored here on curiosity, composure and restraint.</em></p>"
    return "".join(shown)
