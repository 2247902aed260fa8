"""The reader: reads each rep reply in the context of its call (see ``reading.py`` for what a
reading holds and how its parts are counted)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from roleplay.transcript import Line
from roleplay.understanding.encoder import Encoder, shared_encoder
from roleplay.understanding.heads import Heads, load_heads
from roleplay.understanding.language import detect_language
from roleplay.understanding.reading import (
    ASK_THRESHOLD,
    DIMENSIONS,
    Reading,
    ask_features,
    count_pushes_before,
    dimension_features,
    dimension_levels,
    prospect_refusals,
    push_number,
    reading_text,
    structure_of,
)

#: Lines whose declines or asks probability each reader keeps: a call re-reads its earlier lines
#: every turn, and each is worked out once.
_KEPT_LINES = 8192


class Reader:
    """Reads rep replies. Thread-safe; holds no call state, only what each line it read came to,
    by the line's text."""

    def __init__(self, heads: Heads | None = None, encoder: Encoder | None = None):
        self.heads = heads or load_heads()
        self.encoder = encoder or shared_encoder()
        self._declines = lru_cache(maxsize=_KEPT_LINES)(self._declines_of)
        self._asks = lru_cache(maxsize=_KEPT_LINES)(self._asks_of)

    def _declines_of(self, turn: str) -> float:
        """P(a prospect turn declines)."""
        return float(self.heads.declines.proba(self.encoder.embed(turn))[1])

    def _asks_of(self, line: str) -> float:
        """P(a rep line pushes for a commitment)."""
        return float(self.heads.asks.proba(ask_features(self.encoder.embed, line))[1])

    def prepare(self, context: Sequence[Line]) -> None:
        """Read the call's lines now (each once), so the next reading reads only the reply."""
        for line in context:
            if line.speaker == "prospect":
                self._declines(line.text)
            else:
                self._asks(line.text)

    def read(self, context: Sequence[Line], reply: str) -> Reading:
        """Read ``reply`` given the call ``context`` before it.

        Args:
            context: the turns before the reply, oldest first.
            reply: the rep's reply, as typed (words to the grader are set aside here).

        Returns:
            The reading, with a probability per item and the scores per dimension.
        """
        h, embed = self.heads, self.encoder.embed
        declines = [self._declines(line.text) for line in context if line.speaker == "prospect"]
        declined = prospect_refusals(context, declines)
        s = structure_of(context, reply, declined)
        spoken = reading_text(reply)
        language, lang_p = detect_language(spoken)
        vec = embed(spoken)
        reps = [line.text for line in context if line.speaker == "rep"]
        asks_ctx = [self._asks(t) for t in reps]
        asks = self._asks(reply)
        pushes_before = count_pushes_before(context, asks_ctx, declined)
        servile = float(h.servile.proba(vec)[1])
        x = dimension_features(vec, s, asks, pushes_before, servile)
        asks_now = round(asks, 4) >= ASK_THRESHOLD  # as ``Reading.asks_for_commitment`` will say
        pushes = push_number(asks_now, s.refusals_before, pushes_before)
        return Reading(
            language=language, language_confidence=lang_p, structure=s, asks=round(asks, 4),
            asks_in_context=[round(a, 4) for a in asks_ctx], declines_in_context=[round(p, 4) for p in declines],
            pushes_before=pushes_before, servile=round(servile, 4),
            **dimension_levels({d: getattr(h, d) for d in DIMENSIONS}, x, pushes, s.stop_hard, asks_now),
        )
