"""Which speech to text a process uses, as the settings choose (``load_transcriber``).

``voice.stt.backend = "embedded"`` (the default): the embedded Whisper (``stt.load_whisper``);
``"openai"``: a speech server (``server.server_transcriber``). Either is made once and shared.
The prospect's voice is chosen per persona the same way (``persona.speaker_for``).
"""

from __future__ import annotations

from roleplay.config import Settings
from roleplay.voice.server import server_transcriber
from roleplay.voice.stt import BaseTranscriber, load_whisper


def load_transcriber(settings: Settings) -> BaseTranscriber:
    """The process's transcriber for ``settings.voice`` (loaded on first use, then shared).

    Raises:
        VoiceModelError: the embedded model's package is missing or its files fail their check.
        VoiceServerError: the server's API key is not set.
    """
    if settings.voice.stt.backend == "openai":
        return server_transcriber(settings)
    return load_whisper(settings)
