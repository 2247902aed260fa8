"""Practising out loud: the rep speaks, the prospect answers aloud, and the delivery is measured.

- ``models``: the voice models, assembled from PyPI packages and verified by sha256 (no download).
- ``stt``: ``Transcriber`` (faster-whisper) writes down what the rep said, word by word with times;
  a ``Listener`` does it while they speak, so little is left when they stop.
- ``tts``: ``Speaker`` (Piper) speaks the prospect's words a sentence or clause at a time, as the
  model writes them (``Chunker``, ``speakable_chunks``).
- ``persona``: ``speaker_for``, the prospect's speaker for a persona: the voice and speaking
  rate its YAML names (``voice:``), or the app's voice at rate 1.0.
- ``server``: the same on a speech server that speaks OpenAI's audio API (``ServerTranscriber``,
  ``ServerSpeaker``), when the settings ``voice.stt``/``voice.tts`` choose ``backend = "openai"``;
  ``loading``: ``load_transcriber``, the embedded Whisper or the server, as the settings say.
- ``delivery``: pace, fillers, talk time, the longest monologue and talking over, from word times.
- ``turn``: ``speak_turn``, one spoken turn through the same ``Call.send`` as a typed one.
- ``audio``: PCM conversions (Gradio's ``(rate, int16 array)``, Whisper's 16 kHz float32), and
  ``encode_opus`` for a call's audio kept as game film.

The models load once per process (``load_transcriber``; each Piper voice once, shared by every
speaker of it: ``shared_speaker``; a persona's, ``speaker_for``); the whole package
needs the ``voice`` extra (``pip install -e '.[voice]'``, which ``scripts/setup`` installs), a
speech server too (its Silero VAD and audio conversions are the embedded ones).
"""

from roleplay.voice.audio import WHISPER_RATE, encode_opus, for_whisper, read_wav, write_wav
from roleplay.voice.delivery import (
    FILLERS,
    CallDelivery,
    Filler,
    Interval,
    ReplyDelivery,
    call_delivery,
    reply_delivery,
    transcript_delivery,
)
from roleplay.voice.loading import load_transcriber
from roleplay.voice.models import (
    ALL_MODELS,
    JOE_VOICE,
    STT_MODELS,
    WHISPER_BASE,
    WHISPER_TINY_EN,
    VoiceModel,
    VoiceModelError,
    ensure_voice_model,
)
from roleplay.voice.persona import speaker_for
from roleplay.voice.server import ServerSpeaker, ServerTranscriber, VoiceServerError
from roleplay.voice.stt import BaseTranscriber, Listener, Transcriber, Transcript, Word
from roleplay.voice.tts import (
    BaseSpeaker,
    Chunker,
    Speaker,
    Speech,
    bundled_voice,
    default_voice,
    shared_speaker,
    speakable_chunks,
)
from roleplay.voice.turn import NothingHeard, ProspectAudio, SpokenTurn, speak_turn

__all__ = [
    "ALL_MODELS", "FILLERS", "JOE_VOICE", "STT_MODELS", "WHISPER_BASE", "WHISPER_RATE", "WHISPER_TINY_EN",
    "BaseSpeaker", "BaseTranscriber", "CallDelivery", "Chunker", "Filler", "Interval", "Listener", "NothingHeard",
    "ProspectAudio", "ReplyDelivery", "ServerSpeaker", "ServerTranscriber", "Speaker", "Speech", "SpokenTurn",
    "Transcriber", "Transcript", "VoiceModel", "VoiceModelError", "VoiceServerError", "Word",
    "bundled_voice", "default_voice", "call_delivery", "encode_opus", "ensure_voice_model", "for_whisper",
    "load_transcriber", "read_wav", "reply_delivery", "shared_speaker", "speak_turn", "speakable_chunks", "speaker_for",
    "transcript_delivery", "write_wav",
]
