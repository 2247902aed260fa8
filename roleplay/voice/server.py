"""Speech on a server that speaks OpenAI's audio API: the rep's words written down there
(``ServerTranscriber``), the prospect's voice made there (``ServerSpeaker``).

The server is OpenAI itself or a team's own (any that serves ``/v1/audio/transcriptions`` and
``/v1/audio/speech``), chosen per direction by the settings ``voice.stt`` and ``voice.tts``
(``config.AudioServer``: ``backend = "openai"``, ``base_url``, ``api_key_env``, ``model``). Both
classes offer what the embedded ones do (``BaseTranscriber``, ``BaseSpeaker``), so the app, the
``Listener`` and ``speak_turn`` use them unchanged.

Requests go through the official ``openai`` client with its own retries off: one retry of a
transient fault (``roleplay.backends.faults.RetryPolicy``, as for the chat models), then a
``VoiceServerError`` that names the server, what went wrong and the fix.

Word times: the transcription is asked for as ``verbose_json`` with word timestamps. A server
that gives the text without them (one that keeps to segments, or ``voice.stt.word_times = false``
for a model that has no verbose_json) gets ``Transcript.words_timed = False``: when the speech
began and ended is then found in the recording itself (Silero VAD), so speaking time, pace and
talking over are still measured, and only the fillers' times are missing (``delivery``).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps
from openai import OpenAI

from roleplay.backends.faults import Fault, ModelFault, RetryPolicy, classify, status_code
from roleplay.config import AudioServer, Settings, environment
from roleplay.errors import ConfigError
from roleplay.voice.audio import WHISPER_RATE, read_wav, resample, to_float_mono, to_int16, write_wav
from roleplay.voice.stt import BaseTranscriber, Transcript, Word, whisper_prompt
from roleplay.voice.tts import BaseSpeaker, Speech

log = logging.getLogger(__name__)

T = TypeVar("T")

OPENAI_URL = "https://api.openai.com/v1"
#: Silence kept around the speech VAD finds: about what Whisper's word times leave around words.
_VAD = VadOptions(speech_pad_ms=30, min_silence_duration_ms=500)
_NOT_AUDIO = (b"{", b"<", b"ID3", b"\xff\xfb", b"\xff\xf3", b"OggS", b"fLaC", b"RIFF")


class VoiceServerError(ConfigError):
    """A speech server cannot be used; the message names it, says what went wrong and how to fix it."""


@lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, timeout_s: float) -> OpenAI:
    # The one retry is ours (RetryPolicy), as for the chat models.
    return OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)


@dataclass(frozen=True)
class Endpoint:
    """One direction's server: its client, and how to call it and explain its failures. Two are
    equal when they reach the same server the same way (the client is shared: ``_client``)."""

    #: The setting's name (``voice.stt``, ``voice.tts``) and what the server does, for messages.
    key: str
    what: str
    base_url: str
    server: AudioServer = field(compare=False)
    client: OpenAI
    policy: RetryPolicy

    @classmethod
    def of(cls, settings: Settings, key: str) -> Endpoint:
        """The server configured at ``key`` (``"voice.stt"`` or ``"voice.tts"``).

        Raises:
            VoiceServerError: its API key is not set.
        """
        server: AudioServer = getattr(settings.voice, key.split(".")[1])
        what = "speech-to-text" if key == "voice.stt" else "text-to-speech"
        if not (api_key := environment(server.api_key_env)):
            raise VoiceServerError(
                f"{key}.backend is openai and the {what} server's API key is read from {server.api_key_env}, which is "
                f"not set; fix: export {server.api_key_env}=… or put it in .env (a server that needs no key takes any "
                f"value), or set {key}.api_key_env to the variable that holds it")
        base_url = (server.base_url or environment("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
        policy = RetryPolicy(retries=1, delay_s=settings.retry_delay_s, max_delay_s=settings.retry_max_delay_s)
        return cls(key, what, base_url, server, _client(base_url, api_key, server.timeout_s), policy)

    def call(self, request: Callable[[], T], *, rejected_fix: str) -> T:
        """Run ``request`` (one whole attempt), retried once after a transient fault.

        Args:
            request: Makes the request and returns what was read.
            rejected_fix: The fix to give when the server rejects the request (HTTP 400, 422, …).

        Raises:
            VoiceServerError: it failed for good.
        """
        try:
            return self.policy.call(request, what=f"{self.what} at {self.base_url}")
        except ModelFault as fault:
            raise VoiceServerError(self.explain(fault.cause, fault.attempts, rejected_fix)) from fault.cause

    def explain(self, exc: BaseException, attempts: int, rejected_fix: str) -> str:
        """What went wrong with a request, and the fix."""
        where = f"the {self.what} server at {self.base_url}"
        tried = " (tried twice)" if attempts > 1 else ""
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        code, fault = status_code(exc), classify(exc)
        if fault == Fault.TIMEOUT:
            return (f"{where} did not answer within {self.server.timeout_s:g} s{tried}; fix: check that it is running "
                    f"and not overloaded, or raise {self.key}.timeout_s")
        if fault == Fault.CONNECTION:
            return (f"{where} could not be reached{tried} ({detail}); fix: start it, or correct {self.key}.base_url "
                    f"(the API's root, ending in /v1), or set {self.key}.backend = \"embedded\"")
        if code in (401, 403):
            return (f"{where} refused the API key from {self.server.api_key_env} (HTTP {code}: {detail}); fix: put "
                    f"the server's key in {self.server.api_key_env} (the environment or .env)")
        if code == 404:
            return (f"{where} has no such endpoint or model (HTTP 404: {detail}); fix: check {self.key}.base_url "
                    f"(the API's root, ending in /v1) and {self.key}.model")
        if fault == Fault.REJECTED:
            return f"{where} rejected the request (HTTP {code}: {detail}); fix: {rejected_fix}"
        return f"{where} failed{tried} ({detail})"

    def unsupported(self, answer: str, wanted: str, fix: str) -> VoiceServerError:
        """The error for an answer in a format the app cannot read."""
        return VoiceServerError(f"the {self.what} server at {self.base_url} answered with {answer} instead of "
                                f"{wanted}; fix: {fix}")


def _field(item: Any, name: str) -> Any:
    """A field of an answer's item: an attribute of the client's model, or a key of a plain dict
    (the fields a server adds beyond OpenAI's are kept as dicts)."""
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def timed_words(answer: Any, offset_s: float = 0.0) -> list[Word]:
    """The words with times in a ``verbose_json`` transcription: OpenAI's ``words``, or else the
    ``words`` inside each segment (as some servers give them); none when it has neither."""
    found = _field(answer, "words") or [w for s in _field(answer, "segments") or [] for w in _field(s, "words") or []]
    words = []
    for item in found:
        text, start, end = (_field(item, k) for k in ("word", "start", "end"))
        if isinstance(text, str) and text.strip() and isinstance(start, int | float) and isinstance(end, int | float):
            words.append(Word(text=text.strip(), start=round(start + offset_s, 3), end=round(end + offset_s, 3)))
    return words


def speech_span(audio: np.ndarray, offset_s: float = 0.0) -> tuple[float, float] | None:
    """When the speech in 16 kHz ``audio`` begins and ends (Silero VAD), ``offset_s`` added; ``None`` for none."""
    found = get_speech_timestamps(audio, _VAD)
    if not found:
        return None
    return round(found[0]["start"] / WHISPER_RATE + offset_s, 3), round(found[-1]["end"] / WHISPER_RATE + offset_s, 3)


class ServerTranscriber(BaseTranscriber):
    """Writes speech down on a server (``voice.stt``): English, with word times when it gives them.

    Args:
        endpoint: The server (``Endpoint.of(settings, "voice.stt")``).
        model: The server's transcription model.
        word_times: Ask for word times (``verbose_json``); ``False`` asks for plain ``json``.
    """

    def __init__(self, endpoint: Endpoint, model: str, *, word_times: bool = True):
        super().__init__()
        self.label = f"{model} at {endpoint.base_url}"
        self._endpoint, self._model, self._word_times = endpoint, model, word_times
        self._warned = False

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None, offset_s: float = 0.0) -> Transcript:
        """Write down 16 kHz mono float32 speech (see ``BaseTranscriber.transcribe``).

        Raises:
            VoiceServerError: the server failed, or gave no text.
        """
        started = time.monotonic()
        audio = np.asarray(audio, dtype=np.float32)
        upload = io.BytesIO()
        write_wav(upload, WHISPER_RATE, audio)
        asked: dict[str, Any] = ({"response_format": "verbose_json", "timestamp_granularities": ["word"]}
                                 if self._word_times else {"response_format": "json"})
        if written := whisper_prompt(audio, prompt):
            asked["prompt"] = written

        def request() -> Any:
            return self._endpoint.client.audio.transcriptions.create(
                model=self._model, file=("reply.wav", upload.getvalue(), "audio/wav"), language="en", **asked)

        fix = (f"check {self._endpoint.key}.model; a model without word times (verbose_json) needs "
               f"{self._endpoint.key}.word_times = false" if self._word_times else f"check {self._endpoint.key}.model")
        answer = self._endpoint.call(request, rejected_fix=fix)
        text = _field(answer, "text")
        if not isinstance(text, str):
            raise self._endpoint.unsupported(f"{type(answer).__name__} {str(answer)[:80]!r}", "a JSON transcription "
                                             "with its text", f"use a server that gives OpenAI's json or verbose_json "
                                             f"transcription (set {self._endpoint.key}.word_times = false for json)")
        words = timed_words(answer, offset_s) if self._word_times else []
        duration = len(audio) / WHISPER_RATE
        if words or not text.strip():
            return Transcript(text=text.strip(), words=words, duration_s=duration, seconds=time.monotonic() - started)
        if self._word_times and not self._warned:
            self._warned = True
            log.warning("stt: %s gave no word times; speaking time, pace and talking over are timed from the speech "
                        "in the recording, and fillers have no times", self.label)
        return Transcript(text=text.strip(), words=[], duration_s=duration, seconds=time.monotonic() - started,
                          words_timed=False, speech=speech_span(audio, offset_s))


class ServerSpeaker(BaseSpeaker):
    """The prospect's voice made on a server (``voice.tts``), one piece of text per request.

    Args:
        endpoint: The server (``Endpoint.of(settings, "voice.tts")``).
        model: The server's speech model.
        voice: The server's voice.
        speed: The server's ``speed`` (1.0: the voice's own pace; sent only when it differs).
        response_format: ``wav`` (checked as it is read) or ``pcm`` (raw 16-bit samples at ``sample_rate``).
        sample_rate: The rate of the audio it gives; WAV at another rate is resampled to it.
    """

    def __init__(self, endpoint: Endpoint, model: str, voice: str, *, speed: float = 1.0,
                 response_format: str = "wav", sample_rate: int = 24_000):
        self._endpoint, self.model, self.voice, self.speed = endpoint, model, voice, speed
        self.response_format, self.sample_rate = response_format, sample_rate

    def synthesize(self, text: str) -> Speech:
        """Speak ``text`` as one piece of audio, made on the server.

        Raises:
            VoiceServerError: the server failed, or gave audio in another format.
        """
        started = time.monotonic()
        asked: dict[str, Any] = {"speed": round(self.speed, 3)} if abs(self.speed - 1.0) > 1e-3 else {}

        def request() -> tuple[str, bytes]:
            answer = self._endpoint.client.audio.speech.create(
                model=self.model, voice=self.voice, input=text, response_format=self.response_format, **asked)
            return answer.response.headers.get("content-type", ""), answer.content

        key = self._endpoint.key
        kind, data = self._endpoint.call(request, rejected_fix=f"check {key}.model and the voice ({key}.voice, or "
                                                               "the persona's voice.server)")
        samples = self._wav(kind, data) if self.response_format == "wav" else self._pcm(kind, data)
        return Speech(text, self.sample_rate, samples, time.monotonic() - started)

    def _fix(self) -> str:
        key = self._endpoint.key
        return (f"set {key}.response_format to the format the server gives, wav or pcm (with pcm, "
                f"{key}.sample_rate to its rate), or use a server that gives one of them")

    def _wav(self, kind: str, data: bytes) -> np.ndarray:
        """Mono int16 at ``sample_rate`` from a WAV answer."""
        if not (data[:4] == b"RIFF" and data[8:12] == b"WAVE"):
            raise self._endpoint.unsupported(f"{kind or 'no content type'} ({data[:12]!r}…)", "WAV audio", self._fix())
        try:
            rate, samples = read_wav(io.BytesIO(data))
        except ValueError as exc:
            raise self._endpoint.unsupported(f"WAV it cannot read ({exc})", "16-bit PCM WAV", self._fix()) from exc
        if rate == self.sample_rate and samples.ndim == 1:
            return samples
        return to_int16(resample(to_float_mono(samples), rate, self.sample_rate))

    def _pcm(self, kind: str, data: bytes) -> np.ndarray:
        """Mono int16 from a raw 16-bit PCM answer (which has nothing to check but its length)."""
        if kind.startswith(("application/json", "text/")) or data.startswith(_NOT_AUDIO) or len(data) % 2:
            raise self._endpoint.unsupported(f"{kind or 'no content type'} ({data[:12]!r}…)", "raw 16-bit PCM",
                                             self._fix())
        return np.frombuffer(data, dtype="<i2").astype(np.int16)


@lru_cache(maxsize=4)
def _transcriber(endpoint: Endpoint, model: str, word_times: bool) -> ServerTranscriber:
    return ServerTranscriber(endpoint, model, word_times=word_times)


def server_transcriber(settings: Settings) -> ServerTranscriber:
    """The process's transcriber on the ``voice.stt`` server (shared, like the embedded one).

    Raises:
        VoiceServerError: the server's API key is not set.
    """
    stt = settings.voice.stt
    return _transcriber(Endpoint.of(settings, "voice.stt"), stt.model, stt.word_times)


def server_speaker(settings: Settings, voice: str | None = None, rate: float = 1.0) -> ServerSpeaker:
    """A speaker on the ``voice.tts`` server.

    Args:
        settings: The server (``voice.tts``) and the app's pace (``voice.length_scale``).
        voice: The server's voice; default ``voice.tts.voice``.
        rate: The persona's speaking rate; it scales the app's pace, as for the embedded voice.

    Raises:
        VoiceServerError: the server's API key is not set.
    """
    tts = settings.voice.tts
    return ServerSpeaker(Endpoint.of(settings, "voice.tts"), tts.model, voice or tts.voice,
                         speed=rate / settings.voice.length_scale, response_format=tts.response_format,
                         sample_rate=tts.sample_rate)
