"""HTML and Markdown views of briefs, grades and reports. Every user text is escaped.

Words from a rep or a model go into HTML views through ``html.escape`` and into Markdown views
(the chat, the report) through ``plain``, so they always show as typed: never as markup, a
link, an image or a script.
"""

from __future__ import annotations

import re
from html import escape

from roleplay.coach import DOOR_WORDS, Report
from roleplay.grading import DIMENSIONS, Grade
from roleplay.personas import Persona
from roleplay.transcript import Line

CSS = """
.rp-card {border:1px solid #d0d7de; border-radius:8px; padding:8px 10px; margin-bottom:8px; font-size:0.92em}
.rp-card .rp-said {color:#57606a; margin-bottom:6px}
.rp-pill {display:inline-block; border-radius:10px; padding:1px 8px; margin:0 4px 4px 0; font-weight:600; color:#fff}
.rp-s1 {background:#b42318} .rp-s2 {background:#d9480f} .rp-s3 {background:#a17c00}
.rp-s4 {background:#3b8b3b} .rp-s5 {background:#1a7f37}
.rp-unscored {background:#f6f8fa; color:#57606a}
.rp-note {margin:2px 0 4px 0}
.rp-ev {font-style:italic}
.rp-try {margin:2px 0 0 1em; color:#1d5e2f}
.rp-hangup {color:#b42318; font-weight:700}
.rp-fault {color:#9a6700; font-weight:600}
"""


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


def grade_card(number: int, said: str, grade: Grade | None) -> str:
    head = f'<div class="rp-said">#{number} “{escape(_short(said))}”</div>'
    if grade is None:
        return f'<div class="rp-card rp-pending">{head}<em>Grading…</em></div>'
    if not grade.scored:
        reason = escape(grade.unscored_reason or "unknown reason")
        return f'<div class="rp-card rp-unscored">{head}<strong>Unscored</strong>: {reason}</div>'
    pills, notes = [], []
    if grade.partial:
        notes.append("<em>Notes coming…</em>")
    elif grade.notes_unavailable:
        notes.append(f'<div class="rp-note"><em>No notes</em>: {escape(grade.notes_unavailable)}</div>')
    faults = {g.fallback_reason for g in grade.dimensions.values()
              if g.fallback_reason and g.fallback_reason.startswith("the grader's model failed")}
    for dim in DIMENSIONS:
        g = grade.dimensions[dim]
        pills.append(f'<span class="rp-pill rp-s{g.score}" title="{dim.value}">{dim.value} {g.score}</span>')
        if grade.partial:
            continue
        evidence = f'<span class="rp-ev">“{escape(g.evidence)}”</span> — ' if g.evidence else ""
        better = (f'<div class="rp-try">Try instead: “{escape(g.try_instead)}”</div>' if g.try_instead else "")
        if evidence or g.note:
            notes.append(f'<div class="rp-note"><strong>{dim.value}</strong>: {evidence}{escape(g.note)}{better}</div>')
    if faults and not grade.partial:  # the lines to try instead are the library's: say why
        notes.append(f'<div class="rp-note"><em>Standard line: {escape(sorted(faults)[0])}</em></div>')
    return f'<div class="rp-card rp-scored">{head}{"".join(pills)}{"".join(notes)}</div>'


def scores_html(cards: list[tuple[str, Grade | None]], hidden: bool) -> str:
    if hidden:
        return "<p><em>Exam mode: scores are hidden until the call ends.</em></p>"
    if not cards:
        return "<p><em>Each of your replies will be scored here on curiosity, composure and restraint.</em></p>"
    return "".join(grade_card(i, said, g) for i, (said, g) in enumerate(cards, start=1))


def _avg(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


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
        w = report.weakest
        lines.append(f"**Weakest moment** (reply {w.turn}): “{plain(w.rep)}” — {plain(w.note or '')}")
    if report.summary:
        lines.append(f"**Summary:** {plain(report.summary)}" + (" *(the coach is still writing…)*" if pending else ""))
    label = "Drill for next time (standard drill)" if report.drill_source == "standard" else "Drill for next time"
    lines.append(f"**{label}:** {plain(report.drill)}")
    if report.follow_up:
        lines.append(f"**Follow-up plan:** {plain(report.follow_up)}")
    if report.coach_error:
        lines.append(f"*The coach's model could not phrase the summary, so it is written from the facts: "
                     f"{plain(report.coach_error)}.*")
    return "\n\n".join(lines)
