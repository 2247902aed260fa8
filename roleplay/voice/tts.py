"""Text to speech: the prospect's words as audio, one sentence or clause at a time, by Piper.

``Speaker`` wraps a Piper voice (default the bundled en_US "joe"; any Piper ``.onnx`` by path)
at a speaking rate (Piper's ``length_scale``). ``Speaker.stream`` takes the prospect's text as
the model writes it, cuts it where speech can pause (``Chunker``) and gives each piece's audio as
soon as it is made, so the first words play while the rest is still being written. Piper makes a
4-second sentence in about 0.5 s on 2 CPU cores, so a short first clause is heard quickly.

A process loads each voice once (``shared_speaker``): speakers of one voice at different paces
share it (``Speaker.at_pace``). ``BaseSpeaker`` is what the app speaks with, this Piper voice or a
speech server's (``roleplay.voice.server``).
"""

from __future__ import annotations

import copy
import logging
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from piper import PiperVoice, SynthesisConfig

from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.voice.models import JOE_VOICE, VoiceModel, ensure_voice_model

log = logging.getLogger(__name__)

#: Words a clause must have before a comma may end the first piece (a lone "Look," sounds clipped).
FIRST_CLAUSE_WORDS = 4
#: After the first piece, the next ones end at sentences, or at a clause once this long: the
#: first piece's audio lasts longer than the model takes to write the next sentence.
LATER_CLAUSE_WORDS = 12
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s")
_CLAUSE_END = re.compile(r"[,;:—–]\s|\s[-–—]\s")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "etc.", "e.g.", "i.e.", "inc.", "jr.", "sr."}


class Chunker:
    """Cuts text that arrives in pieces into speakable chunks: whole sentences, and a first
    clause as early as it has ``first_clause_words`` words.

    ``feed`` each piece as it comes and speak what it returns; ``flush`` at the end for the rest.
    """

    def __init__(self, first_clause_words: int = FIRST_CLAUSE_WORDS, later_clause_words: int = LATER_CLAUSE_WORDS):
        self._first = first_clause_words
        self._later = later_clause_words
        self._buffer = ""
        self._given = 0

    def feed(self, piece: str) -> list[str]:
        """Add a piece of text; return the chunks it completed (often none)."""
        self._buffer += piece
        chunks = []
        while (cut := self._cut()) is not None:
            chunk, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:].lstrip()
            if any(ch.isalnum() for ch in chunk):  # a lone "." or "—" has nothing to say
                chunks.append(chunk)
                self._given += 1
        return chunks

    def flush(self) -> list[str]:
        """The text left at the end, as a last chunk (or nothing)."""
        rest, self._buffer = self._buffer.strip(), ""
        if any(ch.isalnum() for ch in rest):
            self._given += 1
            return [rest]
        return []

    def _cut(self) -> int | None:
        """Where the buffer's first speakable chunk ends, if it has one yet."""
        for match in _SENTENCE_END.finditer(self._buffer):
            last_word = self._buffer[:match.end()].split()[-1].lower()
            if last_word not in _ABBREVIATIONS:
                return match.end()
        enough = self._first if self._given == 0 else self._later
        for match in _CLAUSE_END.finditer(self._buffer):
            if len(self._buffer[:match.start()].split()) >= enough:
                return match.end()
        return None


def speakable_chunks(pieces: Iterable[str], first_clause_words: int = FIRST_CLAUSE_WORDS) -> Iterator[str]:
    """Cut streamed text (the pieces a model writes) into chunks to speak, in order.

    Args:
        pieces: Text as it arrives, in any pieces (tokens, words).
        first_clause_words: Words a first clause needs before a comma may end it.

    Yields:
        Whole sentences, or a clause: the first chunk as soon as a clause allows.
    """
    chunker = Chunker(first_clause_words)
    for piece in pieces:
        yield from chunker.feed(piece)
    yield from chunker.flush()


@dataclass(frozen=True)
class Speech:
    """Audio of one chunk of text: ``(sample_rate, samples)`` is what Gradio's ``Audio`` plays."""

    text: str
    sample_rate: int
    samples: np.ndarray  # mono int16
    #: Seconds it took to make.
    seconds: float = 0.0

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def pcm(self) -> tuple[int, np.ndarray]:
        return self.sample_rate, self.samples


class BaseSpeaker(ABC):
    """The prospect's voice as the app uses it: ``synthesize`` a piece of text, or ``stream`` text
    as it is written; safe to share between threads. ``Speaker`` is the embedded Piper,
    ``roleplay.voice.server.ServerSpeaker`` a speech server."""

    #: The rate of every ``Speech`` it makes.
    sample_rate: int

    @abstractmethod
    def synthesize(self, text: str) -> Speech:
        """Speak ``text`` (any length) as one piece of audio."""

    def stream(self, pieces: Iterable[str]) -> Iterator[Speech]:
        """Speak text as it is written: each sentence or clause as soon as it is complete.

        Args:
            pieces: The text in pieces, as a model streams it.

        Yields:
            One ``Speech`` per chunk (see ``Chunker``), in order.
        """
        for chunk in speakable_chunks(pieces):
            yield self.synthesize(chunk)


class Speaker(BaseSpeaker):
    """A Piper voice at a speaking rate; safe to share between threads.

    Args:
        voice: A Piper ``.onnx`` voice, its ``.onnx.json`` config beside it.
        length_scale: 1.0 is the voice's own pace; below 1 faster, above 1 slower.
        varied: Piper varies each rendering a little, as a person does; ``False`` makes the same
            text always give the same audio (fixtures that must not change between runs).
    """

    def __init__(self, voice: Path, length_scale: float = 1.0, *, varied: bool = True):
        config = Path(f"{voice}.json")
        if not voice.is_file() or not config.is_file():
            raise ConfigError(f"Piper voice {voice} (and its config {config.name} beside it) not found; fix: "
                              "set voice.tts_voice to a Piper .onnx file, or leave it unset for the bundled voice")
        self.voice_path = voice
        self._voice = PiperVoice.load(voice, config_path=config)
        self.sample_rate: int = self._voice.config.sample_rate
        self.length_scale = length_scale
        self.varied = varied
        self._config = _synthesis(length_scale, varied)
        # espeak-ng is not reentrant (Piper locks it) and two syntheses at once only share 2 cores.
        self._lock = threading.Lock()

    def at_pace(self, length_scale: float, *, varied: bool | None = None) -> Speaker:
        """This voice at another ``length_scale``, without loading it again.

        The two speakers share the loaded voice and its lock, so they never synthesise at once.

        Args:
            length_scale: 1.0 is the voice's own pace; below 1 faster, above 1 slower.
            varied: As for ``Speaker``; ``None`` keeps this speaker's.
        """
        twin = copy.copy(self)
        twin.length_scale = length_scale
        twin.varied = self.varied if varied is None else varied
        twin._config = _synthesis(length_scale, twin.varied)
        return twin

    def synthesize(self, text: str) -> Speech:
        """Speak ``text`` (any length) as one piece of audio."""
        started = time.monotonic()
        with self._lock:
            arrays = [chunk.audio_int16_array for chunk in self._voice.synthesize(text, self._config)]
        samples = np.concatenate(arrays) if arrays else np.zeros(0, np.int16)
        return Speech(text, self.sample_rate, samples, time.monotonic() - started)


def _synthesis(length_scale: float, varied: bool) -> SynthesisConfig:
    """Piper's settings for a pace; without variation, no noise in the sounds or their lengths."""
    if varied:
        return SynthesisConfig(length_scale=length_scale)
    return SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)


#: How many Piper voices a process keeps loaded (a medium voice is about 60 MB and loads in about 0.3 s).
LOADED_VOICES = 4


@lru_cache(maxsize=LOADED_VOICES)
def _loaded(voice: Path) -> Speaker:
    return Speaker(voice)


def shared_speaker(voice: Path, length_scale: float = 1.0, *, varied: bool = True) -> Speaker:
    """A speaker of ``voice`` at ``length_scale``, over the process's one loaded copy of that voice.

    The last ``LOADED_VOICES`` voices used stay loaded; speakers of one voice share it and its lock.

    Args:
        voice: A Piper ``.onnx`` voice, its ``.onnx.json`` config beside it.
        length_scale: 1.0 is the voice's own pace; below 1 faster, above 1 slower.
        varied: As for ``Speaker``.

    Raises:
        ConfigError: the voice file or its config does not exist.
    """
    # absolute, not resolved: a link is its own voice, named as the persona or setting names it
    return _loaded(Path(os.path.abspath(voice))).at_pace(length_scale, varied=varied)


def bundled_voice(cache_dir: Path, model: VoiceModel = JOE_VOICE) -> Path:
    """A bundled voice's ``.onnx`` file (the en_US "joe" voice by default), assembled and verified
    in ``cache_dir``."""
    return ensure_voice_model(model, cache_dir) / model.files[0].name


def default_voice(settings: Settings) -> Path:
    """The voice of a persona that names none: the setting ``voice.tts_voice``, or the bundled one."""
    configured = settings.voice.tts_voice
    return Path(configured) if configured else bundled_voice(Path(settings.model_cache_dir))
