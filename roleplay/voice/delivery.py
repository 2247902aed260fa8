"""How the rep said it: pace, fillers, talk time, the longest monologue, talking over the prospect.

Pure functions of word timestamps (``stt.Word``) and, optionally, when the prospect's audio
played. A speech server may give the words without times (``transcript_delivery``): the same
figures then come from the start and end of the speech in the recording, and fillers have no
times. Times are seconds on one clock: a reply's words are moved onto the call's clock by the
``offset_s`` where its recording started, and the prospect's audio is given on the same clock.

Fillers are a short, clear list (``FILLERS``: um, uh, er, erm, hmm and their spellings). "Like",
"you know", "I mean", "so", "basically" and "ah" are left out: as often as not they carry meaning,
and telling which needs more than a word list. Whisper also leaves out many fillers it hears
(``stt.FILLER_PROMPT`` makes it keep some), so the count is a floor, and the summary says
"at least".

The pace bands are conventions for a phone call (about 120–170 words a minute reads as
conversational), not measurements of this app's reps.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from roleplay.judge import DeliveryFacts
from roleplay.voice.stt import Transcript, Word

FILLERS = frozenset({"um", "umm", "ummm", "uh", "uhh", "uhhh", "uhm", "er", "err", "erm", "hmm", "hm", "hmmm", "mm"})
#: Words a minute below which a reply reads as slow, and above which as fast.
SLOW_WPM, FAST_WPM = 120.0, 170.0
#: A reply needs this many words and seconds of speech for its pace to mean anything.
MIN_WORDS_FOR_PACE, MIN_SECONDS_FOR_PACE = 5, 1.5
_EDGE = re.compile(r"^\W+|\W+$")


class Interval(BaseModel):
    """A stretch of time on the call's clock, in seconds (the prospect's audio playing, say)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


class Filler(BaseModel):
    """A filler word and when it was said (call clock; ``None`` when the words came without times)."""

    word: str
    at: float | None


class ReplyDelivery(BaseModel):
    """The figures of one spoken reply, and one plain-English line about them."""

    words: int
    #: From the first word's start to the last word's end (pauses inside included); without word
    #: times, from the start to the end of the speech found in the recording (``None``: none found).
    speaking_s: float | None
    #: Words a minute over ``speaking_s``; ``None`` for a reply too short to time.
    pace_wpm: float | None
    fillers: list[Filler] = Field(default_factory=list)
    #: The rep started while the prospect's audio was still playing: for how many seconds they overlapped.
    talk_over_s: float = 0.0
    summary: str
    #: ``False`` when the speech server gave the words without times (see ``transcript_delivery``).
    words_timed: bool = True


class CallDelivery(DeliveryFacts):
    """The figures of a whole call's spoken replies: the report's (``DeliveryFacts``) and each reply's."""

    replies: list[ReplyDelivery]


def _clean(word: str) -> str:
    return _EDGE.sub("", word.lower())


def pace_wpm(words: Sequence[Word]) -> float | None:
    """Words a minute from the first word's start to the last one's end; ``None`` when there are
    fewer than ``MIN_WORDS_FOR_PACE`` words or less than ``MIN_SECONDS_FOR_PACE`` seconds."""
    return _pace(len(words), words[-1].end - words[0].start) if words else None


def _pace(words: int, span: float) -> float | None:
    if words < MIN_WORDS_FOR_PACE or span < MIN_SECONDS_FOR_PACE:
        return None
    return round(words / span * 60, 1)


def fillers(words: Sequence[Word], offset_s: float = 0.0) -> list[Filler]:
    """The words in ``FILLERS``, with when they were said (``offset_s`` added)."""
    return [Filler(word=_clean(w.text), at=round(w.start + offset_s, 3)) for w in words if _clean(w.text) in FILLERS]


def talk_over_s(start: float, prospect: Sequence[Interval]) -> float:
    """Seconds of the prospect's audio still to play when the rep started speaking at ``start``."""
    return round(max((p.end - start for p in prospect if p.start <= start < p.end), default=0.0), 3)


def _pace_words(pace: float | None) -> str:
    if pace is None:
        return "too short to time"
    band = "slow" if pace < SLOW_WPM else "fast" if pace > FAST_WPM else "a conversational pace"
    return f"{pace:.0f} words a minute, {band}"


def _filler_words(found: list[Filler]) -> str:
    if not found:
        return "no fillers heard"
    counts = Counter(f.word for f in found)
    listed = ", ".join(f"“{w}” ×{n}" if n > 1 else f"“{w}”" for w, n in counts.most_common())
    return f"at least {len(found)} filler{'s' if len(found) > 1 else ''} ({listed})"


def reply_delivery(words: Sequence[Word], *, offset_s: float = 0.0,
                   prospect: Sequence[Interval] = ()) -> ReplyDelivery:
    """The delivery of one spoken reply.

    Args:
        words: The reply's words with times from the start of its recording (``Transcript.words``).
        offset_s: Where the recording started on the call's clock.
        prospect: When the prospect's audio played, on the call's clock (for talking over).

    Returns:
        The figures and a one-line summary, e.g. "38 words in 13.1 s: 174 words a minute, fast;
        at least 2 fillers (“um” ×2); you started 0.8 s before the prospect had finished."
    """
    if not words:
        return ReplyDelivery(words=0, speaking_s=0.0, pace_wpm=None, summary="No words heard.")
    return _delivery(len(words), (words[0].start, words[-1].end), fillers(words, offset_s), offset_s, prospect,
                     words_timed=True)


def transcript_delivery(transcript: Transcript, *, offset_s: float = 0.0,
                        prospect: Sequence[Interval] = ()) -> ReplyDelivery:
    """The delivery of one spoken reply, from its transcript, with or without word times.

    Without word times (a speech server that gives only the text) the words are counted in the
    text, the speaking time runs from the start to the end of the speech found in the recording
    (``Transcript.speech``), and the fillers are found in the text without a time each.

    Args:
        transcript: What the rep said (``BaseTranscriber.transcribe`` or ``Listener.finish``).
        offset_s: Where the recording started on the call's clock.
        prospect: When the prospect's audio played, on the call's clock (for talking over).
    """
    if transcript.words_timed:
        return reply_delivery(transcript.words, offset_s=offset_s, prospect=prospect)
    said = [_clean(w) for w in transcript.text.split() if _clean(w)]
    if not said:
        return ReplyDelivery(words=0, speaking_s=0.0, pace_wpm=None, summary="No words heard.", words_timed=False)
    found = [Filler(word=w, at=None) for w in said if w in FILLERS]
    return _delivery(len(said), transcript.speech, found, offset_s, prospect, words_timed=False)


def _delivery(words: int, span: tuple[float, float] | None, found: list[Filler], offset_s: float,
              prospect: Sequence[Interval], *, words_timed: bool) -> ReplyDelivery:
    """The figures and summary of ``words`` spoken over ``span`` (``None``: not timed)."""
    plural = "s" if words > 1 else ""
    if span is None:
        return ReplyDelivery(words=words, speaking_s=None, pace_wpm=None, fillers=found, words_timed=words_timed,
                             summary=f"{words} word{plural}: no speech found in the recording to time them; "
                                     f"{_filler_words(found)}.")
    speaking = round(span[1] - span[0], 3)
    pace = _pace(words, speaking)
    over = talk_over_s(span[0] + offset_s, prospect)
    summary = f"{words} word{plural} in {speaking:.1f} s: {_pace_words(pace)}; {_filler_words(found)}"
    summary += f"; you started {over:.1f} s before the prospect had finished." if over else "."
    return ReplyDelivery(words=words, speaking_s=speaking, pace_wpm=pace, fillers=found, talk_over_s=over,
                         summary=summary, words_timed=words_timed)


def call_delivery(replies: Sequence[ReplyDelivery], prospect: Sequence[Interval] = ()) -> CallDelivery:
    """The figures of a call from its replies' deliveries and when the prospect's audio played.

    A monologue is one reply: the prospect speaks between two of them.
    """
    rep_talk = round(sum(r.speaking_s or 0.0 for r in replies), 3)
    prospect_talk = round(sum(p.seconds for p in prospect), 3)
    total = rep_talk + prospect_talk
    timed = [r for r in replies if r.pace_wpm is not None]
    timed_s = sum(r.speaking_s for r in timed)
    n_fillers = sum(len(r.fillers) for r in replies)
    return CallDelivery(
        replies=list(replies), spoken=len(replies), rep_talk_s=rep_talk, prospect_talk_s=prospect_talk,
        rep_share=round(rep_talk / total, 3) if total else None,
        longest_monologue_s=max((r.speaking_s or 0.0 for r in replies), default=0.0),
        pace_wpm=round(sum(r.words for r in timed) / timed_s * 60, 1) if timed_s else None,
        fillers_per_min=round(n_fillers / rep_talk * 60, 2) if rep_talk else None,
        talk_overs=sum(1 for r in replies if r.talk_over_s > 0),
    )
