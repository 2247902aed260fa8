"""Speech to text: what the rep said, with a time for every word, from faster-whisper.

``Transcriber`` loads a Whisper model (int8 on CPU, Silero VAD filter) once per process
(``load_whisper``) and is safe to share between threads. Its base, ``BaseTranscriber``, is what
the app writes speech down with, embedded or on a speech server (``roleplay.voice.server``):
``BaseTranscriber.listen`` opens a ``Listener`` that takes the rep's audio while they speak and
writes down each finished stretch (up to a pause) in the background, so that when they stop only
the last stretch is left.

Why these choices (measured on 2 CPU cores, rep lines of 3–5 s spoken by Piper's joe voice;
``roleplay bench --voice`` measures the whole turn):

- Whisper pads every input to a 30-second window and its encoder reads all of it: for a
  4-second reply that padding is most of the time (tiny.en 0.60 s, base 1.21 s per line).
  ``_ShortWindowWhisper`` reads the speech plus 3 s of the padding instead: tiny.en 0.21 s and
  base 0.38 s per line, with the same word error rate on 12 whole lines (0.098 either way).
  With only 1 s of padding, base sometimes repeated itself; 3 s did not.
- One greedy pass, bounded in length by the audio: Whisper's fallback passes once took 7 s.
- The prompt (``FILLER_PROMPT`` and what was said before) helps Whisper keep fillers, but on
  audio under 2.5 s it sent tiny.en into loops ("I hear you. I hear you. …"), so shorter audio
  gets none; a loop that still happens is written down again without the prompt.
- tiny.en (English only) is the default. In ``roleplay bench --voice`` (the ``Listener`` on the
  12 lines, fake prospect): tiny.en 0.25 s after the end of speech (p50), word error rate 0.067;
  base 0.48 s and 0.168, its short stretches sometimes ending in invented words. Base
  (``voice.stt_model = "base"``) stays a setting to compare against; it too is asked for
  English, the one language the prospect's voice speaks.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.vad import VadOptions, get_speech_timestamps
from pydantic import BaseModel

from roleplay.config import Settings
from roleplay.voice.audio import WHISPER_RATE, for_whisper, read_wav
from roleplay.voice.models import STT_MODELS, ensure_voice_model

log = logging.getLogger(__name__)

#: Frames of Whisper's zero padding kept after the speech (100 frames a second).
_PAD_FRAMES = 300
#: Whisper is trained to leave out "um" and "uh"; a prompt written with them makes it keep some.
#: Measured on Piper-spoken lines (tiny.en): 4 of 11 fillers written down instead of 1, and the
#: word error rate on the 12 lines without fillers 0.086 instead of 0.098 (no filler invented).
#: A prompt dense with fillers kept 6 of 11 but invented words (error rate 0.26), so not that.
FILLER_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
#: Most tokens written per second of audio (fast speech is under 6), and per 30-second window.
_TOKENS_PER_S, _MAX_TOKENS = 10, 220
#: Shorter audio gets no prompt: on one-sentence stretches the prompt sent tiny.en into loops
#: ("I hear you. I hear you. …") 17 times in 27; without it, none.
_PROMPT_MIN_S = 2.5
#: Words of what was said before that go into the prompt (Whisper keeps the prompt's end).
_CONTEXT_WORDS = 40


class Word(BaseModel):
    """A word as heard, and when (seconds from the start of the audio)."""

    text: str
    start: float
    end: float


class Transcript(BaseModel):
    """What was said in a stretch of audio."""

    text: str
    #: Each word with its times; empty when the words came without times (``words_timed``).
    words: list[Word]
    #: Length of the audio given, in seconds (silence included).
    duration_s: float
    #: Seconds spent writing it down (for a ``Listener``: after ``finish`` was called).
    seconds: float = 0.0
    #: ``False`` when a speech server gave the text without word times: ``speech`` then says
    #: when the speech began and ended (found in the audio by Silero VAD; ``None``: none found).
    words_timed: bool = True
    speech: tuple[float, float] | None = None

    @classmethod
    def joined(cls, parts: list[Transcript], duration_s: float, seconds: float) -> Transcript:
        """One transcript of consecutive stretches (their times on one clock)."""
        timed = all(p.words_timed for p in parts)
        spans = [p.speech for p in parts if p.speech is not None]
        return cls(text=" ".join(p.text for p in parts if p.text), words=[w for p in parts for w in p.words],
                   duration_s=duration_s, seconds=seconds, words_timed=timed,
                   speech=None if timed or not spans else (spans[0][0], spans[-1][1]))


def whisper_prompt(audio: np.ndarray, context: str | None) -> str | None:
    """Whisper's prompt for 16 kHz ``audio``: the filler style, then the last words of ``context``;
    none for audio shorter than ``_PROMPT_MIN_S`` (see there)."""
    if len(audio) < _PROMPT_MIN_S * WHISPER_RATE:
        return None
    said = " ".join((context or "").split()[-_CONTEXT_WORDS:])
    return f"{FILLER_PROMPT} {said}".strip()


def _repeats(words: list[Word], shortest: int = 2) -> tuple[int, int] | None:
    """The first run of at least ``shortest`` words said twice in a row: ``(start, size)``."""
    said = ["".join(ch for ch in w.text.lower() if ch.isalnum()) for w in words]
    for size in range(shortest, len(said) // 2 + 1):
        for i in range(len(said) - 2 * size + 1):
            if said[i:i + size] == said[i + size:i + 2 * size]:
                return i, size
    return None


def _loops(words: list[Word]) -> bool:
    """Is Whisper caught in a loop (a run of words written twice in a row)?"""
    return _repeats(words) is not None


def _drop_unheard_repeats(words: list[Word]) -> list[Word]:
    """Drop the copies of a repeated run that have (almost) no audio under them: a loop's words
    get squeezed into the last instant of the speech, real repeats take as long as the first."""
    search_from = 0
    while (found := _repeats(words[search_from:])) is not None:
        start, size = found
        start += search_from
        first, second = words[start:start + size], words[start + size:start + 2 * size]
        if sum(w.end - w.start for w in second) < 0.25 * sum(w.end - w.start for w in first):
            words = words[:start + size] + words[start + 2 * size:]
        else:
            search_from = start + 1
    return words


class _ShortWindowWhisper(WhisperModel):
    """faster-whisper's model, but its encoder reads the speech and 3 s of padding, not a full
    30-second window (see the module's docstring for the measurements)."""

    def encode(self, features: np.ndarray):
        frames = features.shape[-1]
        heard = np.flatnonzero(np.any(features != 0, axis=tuple(range(features.ndim - 1))))
        if heard.size:
            keep = min(frames, math.ceil((heard[-1] + 1 + _PAD_FRAMES) / 100) * 100)
            features = np.ascontiguousarray(features[..., :keep])
        return super().encode(features)


class BaseTranscriber(ABC):
    """Writes down speech (``transcribe``), from Gradio's PCM or a file too, and while it is
    spoken (``listen``); safe to share between threads. ``Transcriber`` is the embedded Whisper,
    ``roleplay.voice.server.ServerTranscriber`` a speech server."""

    #: Names the model in logs and reports.
    label: str

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="listener")

    @abstractmethod
    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None, offset_s: float = 0.0) -> Transcript:
        """Write down 16 kHz mono float32 speech.

        Args:
            audio: PCM at 16 kHz (``audio.for_whisper`` converts other rates and formats).
            prompt: Text said just before (or names likely to come up), to guide the spelling;
                it follows ``FILLER_PROMPT``.
            offset_s: Added to every word's times (where this audio starts in a longer one).

        Returns:
            The text, each word with its start and end, the audio's duration and the seconds taken.
        """

    def transcribe_pcm(self, sample_rate: int, samples: np.ndarray, *, prompt: str | None = None) -> Transcript:
        """Write down PCM as Gradio's ``Audio`` gives it: ``(sample_rate, int16 array)``, any rate."""
        return self.transcribe(for_whisper(sample_rate, samples), prompt=prompt)

    def transcribe_file(self, path: Path, *, prompt: str | None = None) -> Transcript:
        """Write down a 16-bit PCM WAV file."""
        return self.transcribe_pcm(*read_wav(path), prompt=prompt)

    def listen(self, *, prompt: str | None = None) -> Listener:
        """Start taking a reply as it is spoken (``Listener.feed``, then ``Listener.finish``)."""
        return Listener(self, prompt=prompt)

    def submit(self, fn, *args) -> Future:
        """Run background work of a ``Listener`` on this transcriber's one worker thread."""
        return self._worker.submit(fn, *args)


class Transcriber(BaseTranscriber):
    """A Whisper model that writes down speech; one per process, shared by threads.

    Args:
        model_dir: A CTranslate2 Whisper model directory (``ensure_voice_model``). English is
            asked for, also of the multilingual model.
        threads: CPU threads (0: CTranslate2's default).
        label: Names the model in logs and reports.
    """

    def __init__(self, model_dir: Path, *, threads: int = 0, label: str = "whisper"):
        super().__init__()
        self.label = label
        self._model = _ShortWindowWhisper(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
        # One transcription at a time: the model's one worker would queue them anyway, and the
        # segments are decoded lazily, so the lock also covers reading them.
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None, offset_s: float = 0.0) -> Transcript:
        """Write down 16 kHz mono float32 speech (see ``BaseTranscriber.transcribe``)."""
        started = time.monotonic()
        audio = np.asarray(audio, dtype=np.float32)
        with self._lock:
            short = len(audio) < _PROMPT_MIN_S * WHISPER_RATE
            texts, words = self._write_down(audio, whisper_prompt(audio, prompt), offset_s)
            if _loops(words) and not short:
                # The prompt can send Whisper into a loop ("I hear you. I hear you. …"); without
                # it, none of the lines measured looped.
                log.info("stt: %r repeats itself; written down again without the prompt", " ".join(texts)[:80])
                texts, words = self._write_down(audio, None, offset_s)
            if _loops(words):
                words = _drop_unheard_repeats(words)
                texts = [" ".join(w.text for w in words)]
        return Transcript(text=" ".join(t for t in texts if t), words=words, duration_s=len(audio) / WHISPER_RATE,
                          seconds=time.monotonic() - started)

    def _write_down(self, audio: np.ndarray, prompt: str | None, offset_s: float) -> tuple[list[str], list[Word]]:
        """One pass of the model: the segments' texts and the words with their times."""
        words: list[Word] = []
        texts: list[str] = []
        # One greedy pass, its length bounded by the audio's: Whisper's fallback (up to six more
        # passes at rising temperatures) once took 7 s on a 4-second line.
        segments, _ = self._model.transcribe(
            audio, language="en", beam_size=1, temperature=0.0, vad_filter=True, word_timestamps=True,
            condition_on_previous_text=False, initial_prompt=prompt,
            max_new_tokens=min(_MAX_TOKENS, 16 + int(_TOKENS_PER_S * len(audio) / WHISPER_RATE)),
        )
        for segment in segments:
            if not any(ch.isalnum() for ch in segment.text):
                continue  # a pause written down as "." or "..."
            texts.append(segment.text.strip())
            words += [Word(text=w.word.strip(), start=round(w.start + offset_s, 3), end=round(w.end + offset_s, 3))
                      for w in segment.words or [] if w.word.strip()]
        return texts, words


class Listener:
    """One reply, taken while it is spoken: finished stretches are written down in the background.

    ``feed`` the audio as it comes (any rate; it never waits for the model). Once at least
    ``min_stretch_s`` of speech is waiting and the rep has paused after it, that stretch is
    written down on the transcriber's worker. ``finish`` writes down the rest and returns the
    whole reply, its ``seconds`` being the time ``finish`` took: only the last stretch.
    """

    def __init__(self, transcriber: BaseTranscriber, *, prompt: str | None = None, min_stretch_s: float = 3.0,
                 min_pause_s: float = 0.3):
        self._transcriber = transcriber
        self._prompt = prompt
        self._min_stretch = int(min_stretch_s * WHISPER_RATE)
        self._vad = VadOptions(min_silence_duration_ms=int(min_pause_s * 1000), speech_pad_ms=100)
        self._chunks: list[np.ndarray] = []
        self._audio = np.zeros(0, np.float32)
        self._committed = 0  # samples already written down (or being written down)
        self._parts: list[Transcript] = []
        self._job: Future | None = None
        self._lock = threading.Lock()
        self._finished = False

    def feed(self, sample_rate: int, samples: np.ndarray) -> None:
        """Take the next piece of the reply (``(rate, array)`` as Gradio streams it)."""
        piece = for_whisper(sample_rate, samples)
        with self._lock:
            if self._finished:
                raise RuntimeError("this reply is finished; start another with Transcriber.listen()")
            self._chunks.append(piece)
            waiting = sum(len(c) for c in self._chunks) + len(self._audio) - self._committed
            if waiting >= self._min_stretch and (self._job is None or self._job.done()):
                self._job = self._transcriber.submit(self._write_finished_stretch)

    @property
    def duration_s(self) -> float:
        with self._lock:
            return (len(self._audio) + sum(len(c) for c in self._chunks)) / WHISPER_RATE

    def _gather(self) -> np.ndarray:
        with self._lock:
            if self._chunks:
                self._audio = np.concatenate([self._audio, *self._chunks])
                self._chunks = []
            return self._audio

    def _context(self) -> str | None:
        said = " ".join(p.text for p in self._parts if p.text)
        return " ".join(t for t in (self._prompt, said) if t) or None

    def _write_finished_stretch(self) -> None:
        """Write down the waiting speech up to the middle of its last pause, if there is one."""
        audio = self._gather()
        start = self._committed
        speech = get_speech_timestamps(audio[start:], self._vad)
        if len(speech) < 2:
            return  # no pause with speech after it yet
        cut = start + (speech[-2]["end"] + speech[-1]["start"]) // 2
        if cut - start < self._min_stretch // 2:
            return
        self._parts.append(self._transcriber.transcribe(audio[start:cut], prompt=self._context(),
                                                        offset_s=start / WHISPER_RATE))
        self._committed = cut

    def finish(self) -> Transcript:
        """The whole reply: waits for any stretch being written, then writes down the rest."""
        started = time.monotonic()
        with self._lock:
            self._finished = True
        job = self._job
        if job is not None:
            job.result()
        audio = self._gather()
        rest = audio[self._committed:]
        if len(rest) >= WHISPER_RATE // 10:
            self._parts.append(self._transcriber.transcribe(rest, prompt=self._context(),
                                                            offset_s=self._committed / WHISPER_RATE))
        log.debug("listener: %d stretch(es), %.2f s of audio", len(self._parts), len(audio) / WHISPER_RATE)
        return Transcript.joined(self._parts, len(audio) / WHISPER_RATE, time.monotonic() - started)


@lru_cache(maxsize=2)
def _load(model: str, cache_dir: Path, threads: int) -> Transcriber:
    spec = STT_MODELS[model]
    return Transcriber(ensure_voice_model(spec, cache_dir), threads=threads, label=spec.label)


def load_whisper(settings: Settings) -> Transcriber:
    """The process's embedded Whisper for ``settings.voice`` (loaded on first use, then shared).

    Raises:
        VoiceModelError: the model's package is missing or its files fail their check.
    """
    voice = settings.voice
    return _load(voice.stt_model, Path(settings.model_cache_dir), voice.stt_threads)
