"""``roleplay bench --voice``: a spoken turn, from the end of the rep's speech to the prospect's
first audio, and how well the rep's words were written down.

The rep's lines are spoken by Piper at bench time (the bundled voice without its random variation,
so the audio is the same every run, kept in memory) and fed to
a ``Listener`` in 100 ms pieces at the pace they were spoken, as a microphone would stream them.
When the last piece is in (the end of the rep's speech), the listener finishes, the transcript
goes through ``speak_turn`` (the app's ``Call.send``, so the real call engine and the configured
prospect model) and the bench times the first audio chunk. The rep reads the reply's scores
before the next line, as in ``roleplay bench``: the next line starts once the turn's grading and
the preparing of the next turn are done. Turn 1 warms up and is left out of the percentiles.

With ``voice.stt.backend``/``voice.tts.backend = "openai"`` (``--stt-backend``, ``--tts-backend``)
the rep's words are written down, and the prospect's voice made, on the configured speech server;
the rep's lines are still spoken by the embedded Piper.

Not included: how the app decides the rep has stopped (a stop button adds nothing; a silence
detector adds its wait), and the network between the browser and the app.
"""

from __future__ import annotations

import re
import sys
import time
from typing import Any

import numpy as np

from roleplay.backends import model_label
from roleplay.call import Gym
from roleplay.config import Role, Settings
from roleplay.measure.bench import percentile
from roleplay.storage import create_store
from roleplay.voice import Speaker, bundled_voice, load_transcriber, speak_turn, speaker_for

PERSONA = "happy_incumbent"
#: The rep's twelve lines: questions and calm exits, so that the prospect stays on the line.
VOICE_SCRIPT = [
    "Hi Dana, it's Sam from RouteWise. Have I caught you at a bad time?",
    "Totally fair. What made Fleetly the right choice for you originally?",
    "How does your team handle it when a customer changes a pickup window?",
    "That sounds painful. What does that cost dispatch in a typical week?",
    "How are you measuring on-time deliveries at the moment?",
    "What happens to your drivers' overtime when a big order lands on Friday afternoon?",
    "Who else on your team feels it when routes change late?",
    "I hear you. What would have to change for you to look at this again?",
    "When does your contract with Fleetly come up for renewal?",
    "Thanks for being straight with me. How did the last renewal go?",
    "Understood. Would it be okay if I checked back in February, before the renewal?",
    "No problem at all. I'll leave it there. Thanks for your time, Dana.",
]
#: Silence around and between the sentences of a spoken line, in seconds.
LEAD_S, BETWEEN_S = 0.3, 0.25
_PIECE_S = 0.1

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBERS = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}


def normalise(text: str) -> list[str]:
    """Words to compare: lower case, no punctuation, hyphens as spaces, numbers under 100 in digits
    (Whisper writes "20" for "twenty"; neither is wrong)."""
    words = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    words = [w.strip("'") for w in words if w.strip("'")]
    out: list[str] = []
    for word in words:
        value = _NUMBERS.get(word)
        if value is not None and out and out[-1].isdigit() and int(out[-1]) % 10 == 0 and 20 <= int(out[-1]) < 100 \
                and value < 10:
            out[-1] = str(int(out[-1]) + value)  # "twenty one" -> 21
        else:
            out.append(str(value) if value is not None else word)
    return out


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance: substitutions, deletions and insertions."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus word error rate: all the edits over all the reference words (after ``normalise``)."""
    pairs = [(normalise(r), normalise(h)) for r, h in zip(references, hypotheses, strict=True)]
    words = sum(len(r) for r, _ in pairs)
    return sum(edit_distance(r, h) for r, h in pairs) / words if words else 0.0


def spoken(speaker: Speaker, line: str) -> tuple[int, np.ndarray]:
    """``line`` said by ``speaker``: lead silence, its sentences with a short pause between them."""
    rate = speaker.sample_rate
    sentences = [speaker.synthesize(s).samples for s in re.split(r"(?<=[.!?])\s+", line) if s.strip()]
    pause = np.zeros(int(BETWEEN_S * rate), np.int16)
    pieces = [np.zeros(int(LEAD_S * rate), np.int16)]
    for i, samples in enumerate(sentences):
        pieces += [pause, samples] if i else [samples]
    return rate, np.concatenate(pieces)


def _pct(values: list[float], q: float) -> float | None:
    return _r(percentile(values, q))


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _progress(turn: dict[str, Any]) -> None:
    shown = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in turn.items() if k != "heard")
    print(f"[voice] {shown}", file=sys.stderr, flush=True)


def _feed(listener, rate: int, samples: np.ndarray) -> float:
    """Feed ``samples`` in 100 ms pieces at the pace they were spoken; return when the last was in."""
    step = int(rate * _PIECE_S)
    started = time.monotonic()
    for k in range(0, len(samples), step):
        listener.feed(rate, samples[k:k + step])
        wait = started + (k + step) / rate - time.monotonic()
        if wait > 0 and k + step < len(samples):
            time.sleep(wait)
    return time.monotonic()


def bench_voice(settings: Settings, turns: int = len(VOICE_SCRIPT)) -> dict[str, Any]:
    """Play the rep's spoken lines through the app's call and time each voice turn.

    Args:
        settings: The app's settings: the prospect's backend and the voice models.
        turns: How many of ``VOICE_SCRIPT``'s lines to play (the first one warms up).

    Returns:
        ``{"turns", "speech_end_to_audio_p50", "speech_end_to_audio_p95", "stt_s_p50",
        "tts_first_audio_s_p50", "wer", …}`` with times in seconds, and the turns one by one.
    """
    lines = VOICE_SCRIPT[:turns]
    transcriber = load_transcriber(settings)
    # The rep's voice: the bundled one, the same audio every run.
    rep = Speaker(bundled_voice(settings.model_cache_dir), varied=False)
    recordings = [spoken(rep, line) for line in lines]
    gym = Gym(settings, store=create_store("sqlite://"))
    try:
        gym.warm_up()
        call = gym.start(PERSONA)
        speaker = speaker_for(call.persona, settings)  # the prospect's voice, as the app gives it
        per_turn: list[dict[str, Any]] = []
        for n, (rate, samples) in enumerate(recordings, 1):
            if call.over:
                call = gym.start(PERSONA)
            listener = transcriber.listen(prompt=f"{call.persona.name}, {call.persona.company}")
            speech_end = _feed(listener, rate, samples)
            transcript = listener.finish()
            stt_s = time.monotonic() - speech_end
            turn = speak_turn(call, transcript, speaker)
            sent = time.monotonic()
            first_audio = None
            for _ in turn:
                first_audio = first_audio or time.monotonic()
            turn_id = call.last_turn.rep_turn_id
            call.pending[turn_id].result()  # the rep reads the scores before the next line
            per_turn.append({
                "turn": n, "speech_s": round(len(samples) / rate, 2), "stt_s": _r(stt_s),
                "send_s": _r(sent - speech_end - stt_s), "first_text_s": _r(turn.first_text_s),
                "speech_end_to_audio": _r(first_audio - speech_end if first_audio else None),
                "tts_first_audio_s": _r(turn.synthesis_s[0] if turn.synthesis_s else None),
                "move": call.last_turn.move.value, "heard": transcript.text,
            })
            _progress(per_turn[-1])
        model = model_label(gym.models[Role.PROSPECT])
    finally:
        gym.close()
    later = per_turn[1:]

    def p50(key: str) -> float | None:
        return _pct([t[key] for t in later if t[key] is not None], 0.5)

    return {
        "turns": len(per_turn),
        "speech_end_to_audio_p50": p50("speech_end_to_audio"),
        "speech_end_to_audio_p95": _pct([t["speech_end_to_audio"] for t in later
                                         if t["speech_end_to_audio"] is not None], 0.95),
        "stt_s_p50": p50("stt_s"), "tts_first_audio_s_p50": p50("tts_first_audio_s"),
        "wer": round(word_error_rate(lines, [t["heard"] for t in per_turn]), 3),
        "first_text_s_p50": p50("first_text_s"), "stt": transcriber.label,
        "stt_model": settings.voice.stt.model if settings.voice.stt.backend == "openai" else settings.voice.stt_model,
        "stt_backend": settings.voice.stt.backend, "tts_backend": settings.voice.tts.backend,
        "prospect_model": model, "per_turn": per_turn,
    }
