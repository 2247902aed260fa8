"""What a turn of a call takes and gives: the rep's message made safe (``clean_message``), the
errors a turn can meet, the reply as it is spoken (``Reply``), when its steps happened
(``TurnTimes``) and what the prospect said (``TurnResult``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from roleplay.call.state import Move
from roleplay.errors import InvalidInput, RoleplayError


class InputError(InvalidInput):
    """The rep's message cannot be accepted; the message says why."""


class CallEnded(RoleplayError, RuntimeError):
    """The call is over; start a new one."""


class CallMoved(RoleplayError, RuntimeError):
    """Another window (or app process) took the call's next turn first; nothing of this message
    was stored, and the call is as the database has it."""


#: The unscored reason of every reply in a call started with ``grade=False``.
GRADING_SKIPPED = "grading skipped for this call"
#: The unscored reason of a drill's own rep lines, which set up its moment.
DRILL_SETUP = "said by the drill to set up the moment, not by you"


#: Characters that reorder how the text around them is displayed ("Trojan source" tricks).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_message(text: str | None, limit: int) -> str:
    """Normalise and validate a rep message; raise ``InputError`` if it can't be sent.

    Control characters (other than newlines and tabs), lone surrogates, byte-order marks and
    bidirectional overrides are removed; everything else (emoji with their joiners, any
    script, non-breaking and ideographic spaces) is kept exactly as typed. The message must
    have something visible in it and be at most ``limit`` characters long.
    """
    kept = []
    for ch in (text or "").replace("\r\n", "\n").replace("\r", "\n"):
        category = unicodedata.category(ch)
        if ch in "\n\t":
            kept.append(ch)
        elif category in ("Zl", "Zp"):
            kept.append("\n")
        elif category not in ("Cc", "Cs") and ch not in _BIDI_CONTROLS and ch != "\ufeff":
            kept.append(ch)
    cleaned = "".join(kept).strip()
    if all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in cleaned):
        raise InputError("Say something first: the message is empty.")
    if len(cleaned) > limit:
        raise InputError(f"That message is {len(cleaned):,} characters; the limit is {limit:,}. "
                         "On a call, say it in a few sentences.")
    return cleaned


class Reply:
    """A reply being spoken: the rep's message as the call took it (``message``), and the
    prospect's words as they grow, by iterating."""

    def __init__(self, message: str, words: Iterator[str]):
        self.message = message
        self._words = words

    def __iter__(self) -> Iterator[str]:
        return self._words


@dataclass
class TurnTimes:
    """When the steps of a turn happened (``time.time()``, to set beside a browser's clock): the
    message taken, the prospect's model asked (after storing and reading), its first words."""

    taken: float
    asked: float | None = None
    first_words: float | None = None


@dataclass
class TurnResult:
    """What the prospect said, and how."""

    rep_turn_id: int
    prospect_turn_id: int
    text: str
    move: Move
    fallback_reason: str | None
    ended: bool
    #: Set when the prospect's model failed (after its one retry), for the rep to read.
    fault: str | None = None
    #: The hidden fact this turn was to reveal and did not say (it stays hidden).
    withheld_fact: str | None = None
    times: TurnTimes | None = None
