"""The Practice tab's voice mode: the rep's recording in, the prospect's voice out, the delivery kept.

A spoken reply takes the same road as a typed one (``voice.speak_turn`` → ``Call.send``: checked,
stored, read, graded). This module adds what the browser needs around it:

- ``voice_models``: the speech-to-text model and the prospect's voice, loaded when the rep first
  switches to voice (``warm``) or on the first voice turn, then shared by the process; the voice
  package itself is imported only then, so a rep who only types pays nothing. Gradio streams
  audio through FFmpeg, so one is put on PATH too.
- ``take_recording`` reads the browser's upload of the rep's recording and deletes it at once,
  and ``playable`` hands the prospect's voice to the player as bytes: Gradio would otherwise keep
  both in its cache folder on disk, and a call's audio is kept only as game film, with consent.
- ``hear`` writes down the recording (``NothingHeard`` when there is nothing in it; nothing is
  stored then) and ``send`` sends its words, with the delivery worked out.
- ``answer`` follows the prospect's answer: its words as they grow and its audio in short
  pieces, each sentence (the first clause first) as soon as it is made; a hang-up ends with a tone.
- ``keep_delivery`` stores how the reply was said with its turn (``team.delivery.delivery_facts``
  sums up a call's spoken replies for the report).
- ``VoiceClock``: when the prospect's voice played in a tab, to tell whether the rep talked over it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.personas import Persona

if TYPE_CHECKING:
    from roleplay.call import Call
    from roleplay.voice import BaseSpeaker, BaseTranscriber, SpokenTurn, Transcript

log = logging.getLogger(__name__)

Recording = tuple[int, np.ndarray]
#: Gradio's encoder hands on most of a piece's audio only when the next piece arrives, and the
#: browser re-reads its playlist about once per piece's length. Measured in headless Chromium: a
#: 4-second sentence sent whole began to play 1.5 s after it was sent, 0.3 s with the nudge
#: below; audio sent 1.5 s later was heard 2 s late while pieces were that long. So short pieces.
PIECE_S = 0.5
#: After the last piece of a sentence, a few milliseconds of silence push its audio out to the
#: browser (else it would wait for the next sentence).
NUDGE_AFTER_S, NUDGE_S = 0.15, 0.01
_POLL_S = 0.05
#: Before audio that starts over, a pause for the browser to drop what it had queued.
_STARTS_OVER_PAUSE_S = 0.2
NOTHING_RECORDED = "Nothing was recorded. Press Record, say your reply, then press Stop."


class VoiceUnavailable(ConfigError):
    """Voice cannot be used in this install; the message says how to fix it."""


def ensure_ffmpeg(cache_dir: Path) -> None:
    """Make sure an ``ffmpeg`` is on PATH: Gradio needs one to stream audio to the browser.

    When there is none, the static build the ``imageio-ffmpeg`` package ships (a dependency of
    the voice extra) is linked as ``<cache_dir>/bin/ffmpeg`` and that folder is put first on this
    process's PATH (Gradio looks the program up by name).

    Raises:
        VoiceUnavailable: there is no FFmpeg, and the package is not installed.
    """
    if shutil.which("ffmpeg"):
        return
    try:
        import imageio_ffmpeg
    except ImportError:
        raise VoiceUnavailable("The prospect's voice needs FFmpeg: pip install -e '.[voice]' (or run ./scripts/setup), "
                               "or install ffmpeg") from None
    folder = cache_dir / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    link, target = folder / "ffmpeg", Path(imageio_ffmpeg.get_ffmpeg_exe())
    if not link.exists():  # a link to a build no longer there does not exist either
        link.unlink(missing_ok=True)
        with contextlib.suppress(FileExistsError):  # another thread linked it meanwhile
            link.symlink_to(target)
    os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


def voice_models(settings: Settings, persona: Persona) -> tuple[BaseTranscriber, BaseSpeaker]:
    """The process's speech-to-text model and ``persona``'s voice, loaded on first use.

    Raises:
        VoiceUnavailable: the voice extra is not installed.
        ConfigError: a model cannot be assembled, a configured voice file is missing, or a speech
            server's API key is not set.
    """
    try:
        from roleplay.voice import load_transcriber, speaker_for
    except ImportError as exc:
        raise VoiceUnavailable(f"Voice needs the voice extra ({exc.name} is not installed): "
                               "pip install -e '.[voice]', or run ./scripts/setup") from None
    ensure_ffmpeg(Path(settings.model_cache_dir))
    return load_transcriber(settings), speaker_for(persona, settings)


def warm(settings: Settings, persona: Persona) -> None:
    """Load the voice models in the background (the rep has just chosen to speak).

    Raises:
        VoiceUnavailable: the voice extra is not installed (checked at once, without loading it).
    """
    missing = [name for name in ("faster_whisper", "piper") if importlib.util.find_spec(name) is None]
    if missing:
        raise VoiceUnavailable(f"Voice needs the voice extra ({', '.join(missing)} not installed): "
                               "pip install -e '.[voice]', or run ./scripts/setup")

    def load() -> None:
        try:
            voice_models(settings, persona)
        except Exception as exc:  # noqa: BLE001 - the first voice turn says it again, to the rep
            log.warning("loading the voice models failed: %s", exc)

    threading.Thread(target=load, name="voice-warm-up", daemon=True).start()


@dataclass
class VoiceClock:
    """When the prospect's voice played in one tab's call, in seconds from ``origin`` (when voice
    began in that call in this tab), so a reply's delivery can tell whether the rep started
    before the prospect had finished.

    The times are the app's: a piece of audio is taken to play from when it was sent (or when the
    one before it ends). The browser starts it a little later, so talking over is a floor.
    """

    session_id: str | None = None
    origin: float = field(default_factory=time.monotonic)
    prospect: list[tuple[float, float]] = field(default_factory=list)

    def of(self, session_id: str) -> VoiceClock:
        """This clock if it is ``session_id``'s, else a new one for it."""
        return self if self.session_id == session_id else VoiceClock(session_id)

    def now(self) -> float:
        return time.monotonic() - self.origin

    def cut(self) -> None:
        """The prospect's voice stops now: what was still to play of it is dropped."""
        now = self.now()
        self.prospect = [(start, min(end, now)) for start, end in self.prospect if start < now]

    def played(self, seconds: float) -> None:
        """The prospect's voice plays ``seconds`` more, from now or after what is already playing."""
        start = max(self.now(), self.prospect[-1][1] if self.prospect else 0.0)
        self.prospect.append((round(start, 3), round(start + seconds, 3)))


def take_recording(upload: str | None) -> Recording | None:
    """The rep's recording from the file the browser uploaded (Gradio's cache), which is deleted
    as soon as it is read; ``None`` when nothing was uploaded.

    Raises:
        NothingHeard: the file holds no audio that can be read (it is deleted all the same).
    """
    if not upload:
        return None
    from roleplay.voice import NothingHeard
    from roleplay.voice.audio import read_audio

    try:
        return read_audio(Path(upload))
    except ValueError as exc:
        raise NothingHeard(f"The recording could not be read ({exc}). Say it again.") from None
    finally:
        forget_upload(upload)


def forget_upload(upload: str | None) -> None:
    """Delete the file the browser uploaded (and its own folder in Gradio's cache, once empty)."""
    if not upload:
        return
    path = Path(upload)
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()


def playable(audio: Recording) -> bytes:
    """A piece of the prospect's voice as WAV bytes for the streaming player: Gradio streams bytes
    from memory, where it would first write a ``(rate, array)`` to its cache on disk."""
    from roleplay.voice import write_wav

    buffer = io.BytesIO()
    write_wav(buffer, *audio)
    return buffer.getvalue()


def hear(transcriber: BaseTranscriber, recording: Recording | None, persona: Persona) -> Transcript:
    """What the rep said in ``recording`` (``(rate, samples)`` as Gradio's ``Audio`` gives it).

    Raises:
        NothingHeard: nothing was recorded.
        VoiceServerError: the speech-to-text server failed (``voice.stt.backend = "openai"``).
    """
    from roleplay.voice import NothingHeard

    if recording is None or np.asarray(recording[1]).size == 0:
        raise NothingHeard(NOTHING_RECORDED)
    rate, samples = recording
    return transcriber.transcribe_pcm(rate, np.asarray(samples), prompt=f"{persona.name}, {persona.company}")


def send(call: Call, transcript: Transcript, speaker: BaseSpeaker, clock: VoiceClock) -> SpokenTurn:
    """Send what the rep said through the call; the recording is taken to have ended just now.

    Raises:
        NothingHeard: the recording had no words (nothing is stored).
        InputError, CallEnded: as ``Call.send``.
    """
    from roleplay.voice import Interval, speak_turn

    started = clock.now() - transcript.duration_s
    return speak_turn(call, transcript, speaker, offset_s=max(0.0, started),
                      prospect=[Interval(start=a, end=b) for a, b in clock.prospect])


@dataclass(frozen=True)
class Update:
    """A change in the prospect's answer: its words so far and, maybe, a piece of audio to play."""

    text: str
    audio: Recording | None = None
    #: The words kept differ from those already spoken: the audio that follows starts this many
    #: seconds into the answer's stream, and the browser skips what it has queued before it.
    starts_over_at: float | None = None
    #: The last update: the prospect's words as the call kept them, and for how many seconds they
    #: were spoken (``None`` when the voice failed, with ``voice_fault`` saying how).
    last: bool = False
    spoken_s: float | None = None
    voice_fault: str | None = None


@dataclass
class _Done:
    fault: str | None = None


def _pieces(samples: np.ndarray, rate: int) -> list[np.ndarray]:
    step = max(1, int(PIECE_S * rate))
    return [samples[k:k + step] for k in range(0, len(samples), step)]


class _Stream:
    """The audio of one answer as it is sent: in pieces, and how many seconds of it so far."""

    def __init__(self) -> None:
        self.sent_s = 0.0

    def send(self, rate: int, samples: np.ndarray) -> Iterator[Recording]:
        for piece in _pieces(samples, rate):
            self.sent_s += len(piece) / rate
            yield rate, piece


def _follow(turn: SpokenTurn, events: queue.Queue) -> None:
    """Iterate the spoken turn into ``events``. When the voice fails, the call's turn is still
    finished (its words stored and graded) and the fault is reported at the end."""
    from roleplay.call import CallEnded, CallMoved

    fault = None
    try:
        for audio in turn:
            events.put(audio)
    except (CallEnded, CallMoved) as exc:
        events.put(exc)
        return
    except Exception as exc:  # noqa: BLE001 - the call goes on without the voice
        fault = f"{type(exc).__name__}: {exc}"
        log.warning("the prospect's voice failed: %s", fault)
        for _ in turn.reply:  # the rest of the turn: a reply that raised itself has no rest
            pass
    events.put(_Done(fault))


def answer(call: Call, turn: SpokenTurn, clock: VoiceClock) -> Iterator[Update]:
    """The prospect's answer as it comes: its words whenever they grow, its audio as soon as a
    sentence (or the first clause) is made, cut in ``PIECE_S`` pieces; a hang-up ends with a tone.

    Audio that starts over (``ProspectAudio.starts_over``) comes after an update that says where
    in the stream it begins (``starts_over_at``). Each piece's playing time goes on ``clock``.

    Raises:
        CallEnded, CallMoved: the call was ended, or its turn taken, elsewhere before this one was stored.
    """
    from roleplay.voice import ProspectAudio

    events: queue.Queue = queue.Queue()
    threading.Thread(target=_follow, args=(turn, events), name=f"voice-{call.id[:8]}", daemon=True).start()
    shown, nudge_at, rate, spoken_s, stream = "", None, turn.speaker.sample_rate, 0.0, _Stream()
    while True:
        try:
            item = events.get(timeout=_POLL_S)
        except queue.Empty:
            item = None
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, _Done):
            fault = item.fault
            break
        if isinstance(item, ProspectAudio):
            speech = item.speech
            if item.starts_over:
                clock.cut()
                yield Update(turn.text, starts_over_at=round(stream.sent_s, 3))
                time.sleep(_STARTS_OVER_PAUSE_S)
            clock.played(speech.duration_s)
            spoken_s += speech.duration_s
            for piece in stream.send(speech.sample_rate, speech.samples):
                yield Update(turn.text, piece)
            shown, nudge_at = turn.text, time.monotonic() + NUDGE_AFTER_S
        elif nudge_at is not None and time.monotonic() >= nudge_at:
            nudge_at = None
            for piece in stream.send(rate, np.zeros(int(NUDGE_S * rate), np.int16)):
                yield Update(turn.text, piece)
        elif turn.text != shown:
            shown = turn.text
            yield Update(shown)
    text = call.last_turn.text if call.last_turn else turn.text
    if call.last_turn is not None and call.last_turn.ended and not fault:
        tone = hang_up_tone(rate)
        clock.played(len(tone) / rate)
        for piece in stream.send(rate, tone):
            yield Update(text, piece)
    yield Update(text, last=True, spoken_s=None if fault else round(spoken_s, 3), voice_fault=fault)


def say(speaker: BaseSpeaker, text: str, clock: VoiceClock) -> Iterator[Update]:
    """``text`` in the prospect's voice (a call's first words, say), a sentence at a time, in
    ``PIECE_S`` pieces; its playing time goes on ``clock``."""
    for speech in speaker.stream([text]):
        clock.played(speech.duration_s)
        for piece in _pieces(speech.samples, speech.sample_rate):
            yield Update(text, (speech.sample_rate, piece))


def hang_up_tone(rate: int) -> np.ndarray:
    """The line going dead after a hang-up: a short silence, then three beeps at 425 Hz."""
    t = np.arange(int(0.18 * rate)) / rate
    beep = 0.3 * np.sin(2 * np.pi * 425 * t)
    fade = min(len(beep) // 2, int(0.01 * rate))
    beep[:fade] *= np.linspace(0, 1, fade)
    beep[len(beep) - fade:] *= np.linspace(1, 0, fade)
    gap = np.zeros(int(0.18 * rate))
    tone = np.concatenate([np.zeros(int(0.4 * rate)), beep, gap, beep, gap, beep])
    return (tone * 32767).astype(np.int16)


def keep_delivery(call: Call, turn: SpokenTurn, prospect_s: float | None) -> None:
    """Store how the reply was said with its turn, and how many seconds the prospect's spoken
    answer lasted (``Update.spoken_s``)."""
    if call.last_turn is None:  # the turn did not happen (the call ended elsewhere)
        return
    call.gym.store.add_delivery(call.id, call.last_turn.rep_turn_id, turn.delivery.model_dump(mode="json"),
                                prospect_s)
