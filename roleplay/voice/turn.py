"""A spoken turn: the rep's audio in, the prospect's audio out, through the same call as typing.

``speak_turn`` takes what the rep said (a ``Transcript``, from ``Transcriber`` or a
``Listener``), works out its delivery, sends its text through ``Call.send`` (checked, stored,
read, graded exactly as a typed reply) and returns a ``SpokenTurn``. Iterating it streams the
prospect's text into the ``Speaker`` and gives each sentence's (or first clause's) audio as soon
as it is made.

The call streams the prospect's text as it grows, and its last value is the text it keeps: the
same words tidied, or the persona's own line when the model's words failed their checks, or a
fresh start when the model was retried. Audio already given cannot be taken back, so when the
kept text does not go on from the words already spoken, the next audio is marked ``starts_over``
(the player should drop what it has queued) and speaks the kept text from its start.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from roleplay.errors import InvalidInput
from roleplay.voice.delivery import Interval, ReplyDelivery, transcript_delivery
from roleplay.voice.stt import Transcript
from roleplay.voice.tts import BaseSpeaker, Chunker, Speech, speakable_chunks

if TYPE_CHECKING:
    from roleplay.call import Call, Reply

_WORD = re.compile(r"[\w']+")
_TRAILING_PUNCTUATION = re.compile(r"^[^\w\s]+")


@dataclass(frozen=True)
class ProspectAudio:
    """A piece of the prospect's speech to play, in order."""

    speech: Speech
    #: Drop the audio queued so far: the prospect's kept words differ from those spoken (see module doc).
    starts_over: bool = False


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _after_words(text: str, n: int) -> str:
    """``text`` after its first ``n`` words and the punctuation that follows the last of them."""
    if n == 0:
        return text
    matches = list(_WORD.finditer(text))
    return _TRAILING_PUNCTUATION.sub("", text[matches[n - 1].end():]) if len(matches) >= n else ""


@dataclass
class SpokenTurn:
    """A spoken reply sent, and the prospect's answer as audio (by iterating). Afterwards the
    call's ``last_turn`` says what the turn was (move, fallback, fault), as for a typed reply."""

    transcript: Transcript
    delivery: ReplyDelivery
    speaker: BaseSpeaker
    reply: Reply
    #: The prospect's words as kept by the call, once the audio has all been given.
    text: str = ""
    #: Seconds from the start of iterating to the prospect's first words (the call stores and
    #: reads the reply, then the model writes) and to the first audio; each audio's synthesis time.
    first_text_s: float | None = None
    first_audio_s: float | None = None
    synthesis_s: list[float] = field(default_factory=list)

    @property
    def message(self) -> str:
        """The rep's words as the call took them."""
        return self.reply.message

    def __iter__(self) -> Iterator[ProspectAudio]:
        started = time.monotonic()
        chunker, seen, spoken, diverged, starts_over = Chunker(), "", [], False, False
        for snapshot in self.reply:
            self.text = snapshot
            if snapshot and self.first_text_s is None:
                self.first_text_s = time.monotonic() - started
            if snapshot == "" and seen:  # the model is retried: its words start again
                chunker, seen, diverged, starts_over = Chunker(), "", False, bool(spoken)
                spoken = []
            elif not diverged and snapshot.startswith(seen):
                for chunk in chunker.feed(snapshot[len(seen):]):
                    yield self._say(chunk, starts_over, started)
                    spoken += _words(chunk)
                    starts_over = False
                seen = snapshot
            else:
                diverged = True  # the kept text, tidied or replaced: settled below
        kept = self.text
        if _words(kept)[:len(spoken)] == spoken:
            rest = _after_words(kept, len(spoken))
        else:
            rest, starts_over = kept, True
        for chunk in speakable_chunks([rest]):
            yield self._say(chunk, starts_over, started)
            starts_over = False

    def _say(self, chunk: str, starts_over: bool, started: float) -> ProspectAudio:
        speech = self.speaker.synthesize(chunk)
        if self.first_audio_s is None:
            self.first_audio_s = time.monotonic() - started
        self.synthesis_s.append(speech.seconds)
        return ProspectAudio(speech, starts_over)


class NothingHeard(InvalidInput):
    """The recording had no words in it."""


def speak_turn(call: Call, transcript: Transcript, speaker: BaseSpeaker, *, offset_s: float = 0.0,
               prospect: Sequence[Interval] = ()) -> SpokenTurn:
    """Send what the rep said, and get the prospect's answer as audio.

    Args:
        call: The call, as for a typed reply.
        transcript: What the rep said (``Transcriber.transcribe`` or ``Listener.finish``).
        speaker: The prospect's voice.
        offset_s: Where the rep's recording started on the call's clock (for delivery).
        prospect: When the prospect's audio played on the call's clock (for talking over).

    Returns:
        The turn: iterate it for the prospect's audio; ``delivery`` is ready at once.

    Raises:
        NothingHeard: the recording had no words.
        InputError, CallEnded: as ``Call.send``.
    """
    if not transcript.text.strip():
        raise NothingHeard("No words were heard in that recording. Check the microphone and say it again.")
    delivery = transcript_delivery(transcript, offset_s=offset_s, prospect=prospect)
    reply = call.send(transcript.text)
    return SpokenTurn(transcript=transcript, delivery=delivery, speaker=speaker, reply=reply)
