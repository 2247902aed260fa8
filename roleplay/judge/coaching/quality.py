"""Defect checks for coaching text: every note and report is checked before it is shown, and
``roleplay eval coaching`` counts what the checks find.

Each check is a narrow, explainable rule over the text and the facts it must agree with (the
score, the rep's reply, the persona, where the door was left). The kinds are the contract in
``cli.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

DEFECT_KINDS = (
    "not_to_you", "quote_not_verbatim", "contradicts_score", "cut_off", "template_residue", "role_confusion",
    "garbled_persona", "generic", "follow_up_ignores_door", "too_long", "contradicts_outcome",
)

#: Longest a note (what was seen and why or what to keep) may be, and a "try instead" line.
NOTE_CHARS, LINE_CHARS = 240, 200
SUMMARY_CHARS, FOLLOW_UP_CHARS = 600, 400


class Defect(BaseModel):
    kind: str
    text: str
    where: str  # e.g. "reply 2 restraint note", "report summary"


#: A passage in quotes: the rep's words, which the coach may quote as they were said.
_QUOTED = re.compile(r"[“\"]([^”\"]*)[”\"]")
_THIRD_PERSON_REP = re.compile(
    r"(?i)\b(?:the|this|our) (?:sales ?)?(?:rep|representative|salesperson|seller|caller|agent|user|trainee)\b")
_TEMPLATE = re.compile(
    r"→|->|=>|\{\{|\}\}|[{}<>]|\bSCORES\b|REPLY TO GRADE|WHAT THE READER SAW|CALL SO FAR|\b\w+_(?:quote|note)\b"
    r"|(?i:\byou said\s*[:,-]?\s*$)|(?i:\btry instead\s*[:,-]?\s*$)|(?i:\bbecause\s*[:,-]?\s*$)")
_ROLE = re.compile(
    r"(?i)\b(?:the )?(?:prospect|customer|buyer)(?:'s)? (?:curiosity|composure|restraint)\b"
    r"|\b(?:prospect|customer|buyer) (?:showed|displayed|demonstrated|lacked|was not given|should have been)\b"
    r"|\b(?:curiosity|composure|restraint) of the (?:prospect|customer|buyer)\b")
_NON_LATIN = re.compile(r"[\u0400-\u04ff\u0590-\u06ff\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_REPEAT = re.compile(r"(?i)\b([a-z]{3,})\s+\1\b")
_ENDS = re.compile(r"[.!?…\"”’)]\s*$")
_DANGLING = re.compile(r"(?i)\b(?:the|an|and|or|but|of|your|their|because)[.!?]?\s*$")
_ADVICE_BY_DIMENSION = {
    "curiosity": re.compile(
        r"(?i)\b(?:ask (?:why|an open|more|about)|try asking|instead of assuming|be more curious)\b"),
    "composure": re.compile(r"(?i)\b(?:stay calm|calm down|don'?t argue|stop arguing|be less (?:defensive|hostile))\b"),
    "restraint": re.compile(r"(?i)\b(?:stop pushing|don'?t push|respect (?:the|their) no|back off|ask fewer times)\b"),
}
_PRAISE = re.compile(r"(?i)^(?:great|well done|nice|good job|excellent)\b|\bkeep (?:doing|it up|asking like)\b")
_CONDITIONAL = re.compile(
    r"(?i)\bif (?:the door|the prospect|they(?:'re| are)? (?:interested|open)|(?:s)?he(?:'s| is) (?:interested|open)"
    r"|interested|it'?s (?:closed|open))\b")
_CALL_SOON = re.compile(r"(?i)\b(?:call|ring|meet|book|schedule|demo)\b[^.]*\b(?:tomorrow|next week|this week|soon)\b")
_WORD = re.compile(r"[a-z0-9']+")
#: What a summary may not claim, by how the call ended: a good outcome after a hang-up or a
#: closed door, a hang-up the prospect never made, a door in another place than it was left.
_GOOD_OUTCOME = re.compile(
    r"(?i)\b(?:went (?:well|smoothly)|(?:show|express)(?:ed|ing|s)? (?:a |strong |some |real |genuine )?interest"
    r"|(?:was|were|is|are) (?:interested|keen|open to)|agreed|booked|a success|successful(?:ly)?)\b")
_HUNG_UP = re.compile(r"(?i)\bhung up\b|\bhanging up\b|\bhang up on\b")
_DOOR_AT = {
    "closed": re.compile(r"(?i)\bdoor (?:was |is |remains |stays )?(?:left )?open\b|\bnot now\b"),
    "not_now": re.compile(r"(?i)\bdoor (?:was |is |remains |stays )?(?:left )?closed\b"),
    "open": re.compile(r"(?i)\bdoor (?:was |is |remains |stays )?(?:left )?closed\b"),
}


def without_quotes(text: str) -> str:
    """The coach's own words: what is quoted (the rep's words) replaced by “…”."""
    return _QUOTED.sub("“…”", text)


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def shares_words(text: str, source: str, n: int) -> bool:
    """Does ``text`` contain ``n`` consecutive words of ``source``?"""
    words = _norm(source).split()
    hay = f" {_norm(text)} "
    return any(f" {' '.join(words[i:i + n])} " in hay for i in range(len(words) - n + 1))


def describe(defects: Sequence[Defect]) -> str:
    """Which checks some text failed, in words: "the cut off, generic checks"."""
    kinds = sorted({d.kind.replace("_", " ") for d in defects})
    return f"the {', '.join(kinds)} check" + ("s" if len(kinds) > 1 else "")


def text_defects(
    text: str, where: str, limit: int, names: Sequence[str] = (), facts: Sequence[str] = (),
) -> list[Defect]:
    """The checks every piece of coaching text gets, whatever it is about."""
    found: list[Defect] = []

    def add(kind: str) -> None:
        found.append(Defect(kind=kind, text=text, where=where))

    stripped = text.strip()
    if not stripped:
        return found
    # The coach's own words: what it quotes is the rep's (checked verbatim where it is quoted).
    prose = without_quotes(stripped)
    if _THIRD_PERSON_REP.search(prose):
        add("not_to_you")
    if not _ENDS.search(stripped) or _DANGLING.search(stripped):
        add("cut_off")
    if _TEMPLATE.search(prose):
        add("template_residue")
    if _ROLE.search(prose):
        add("role_confusion")
    if (_NON_LATIN.search(prose) or _REPEAT.search(prose) or any(n and n in prose for n in names)
            or any(shares_words(prose, f, 5) for f in facts)):
        add("garbled_persona")
    if len(stripped) > limit:
        add("too_long")
    return found


def note_defects(
    dimension: str, score: int, note: str, evidence: str | None, try_instead: str | None, reply: str, where: str,
    names: Sequence[str] = (), facts: Sequence[str] = (),
) -> list[Defect]:
    """Defects of one dimension's note on one reply.

    Args:
        dimension, score: what the note is about.
        note: the note shown (what was seen, and what to keep or why to change).
        evidence: the quote of the rep's words shown with it.
        try_instead: the line offered instead, if any.
        reply: what the rep said.
        where: where the note is, for the defect list.
        names: the persona's full name and company (never part of a note).
        facts: the persona's hidden facts (never pasted into advice).
    """
    found = text_defects(note, where, NOTE_CHARS, names, facts)
    if try_instead:
        found += [d for d in text_defects(try_instead, where + " try instead", LINE_CHARS, (), facts)
                  if d.kind != "not_to_you"]
    if evidence and _norm(evidence) not in _norm(reply):
        found.append(Defect(kind="quote_not_verbatim", text=evidence, where=where))
    if not evidence and _norm(reply):
        found.append(Defect(kind="generic", text=note, where=where))
    advice = _ADVICE_BY_DIMENSION[dimension]
    if (score >= 4 and advice.search(note)) or (score <= 2 and _PRAISE.search(note)):
        found.append(Defect(kind="contradicts_score", text=note, where=where))
    return found


def outcome_contradicted(summary: str, door: str, ended_by: str | None) -> bool:
    """Does the summary's own prose (quotes aside) tell another ending than the call had?"""
    prose = without_quotes(summary)
    if (door == "closed" or ended_by == "prospect") and _GOOD_OUTCOME.search(prose):
        return True
    if ended_by == "rep" and _HUNG_UP.search(prose):
        return True
    return bool(door in _DOOR_AT and _DOOR_AT[door].search(prose))


def report_defects(
    summary: str | None, follow_up: str | None, drill: str, door: str, door_when: str | None,
    rep_replies: Iterable[str], names: Sequence[str] = (), facts: Sequence[str] = (), ended_by: str | None = None,
) -> list[Defect]:
    """Defects of a report's written parts, against how the call ended (``ended_by``: "prospect"
    or "rep"), where the door was left and what the rep said."""
    found: list[Defect] = []
    replies = [r for r in rep_replies if r.strip()]
    if summary:
        found += text_defects(summary, "report summary", SUMMARY_CHARS, (), facts)
        if outcome_contradicted(summary, door, ended_by):
            found.append(Defect(kind="contradicts_outcome", text=summary, where="report summary"))
        quoted = [q for q in _QUOTED.findall(summary) if _norm(q)]
        verbatim = [q for q in quoted if any(f" {_norm(q)} " in f" {_norm(r)} " for r in replies)]
        in_reply = bool(verbatim)
        for q in quoted:
            if q not in verbatim:
                found.append(Defect(kind="quote_not_verbatim", text=q, where="report summary"))
        if replies and not in_reply and not any(shares_words(summary, r, 3) for r in replies):
            found.append(Defect(kind="generic", text=summary, where="report summary"))
    if drill:
        found += text_defects(drill, "report drill", SUMMARY_CHARS, names, facts)
    if follow_up:
        found += text_defects(follow_up, "report follow-up", FOLLOW_UP_CHARS, (), facts)
        ignores = bool(_CONDITIONAL.search(follow_up))
        if door == "closed" and _CALL_SOON.search(follow_up):
            ignores = True
        if door in ("not_now", "open") and door_when and not shares_words(follow_up, door_when, 2):
            ignores = True
        if ignores:
            found.append(Defect(kind="follow_up_ignores_door", text=follow_up, where="report follow-up"))
    return found
