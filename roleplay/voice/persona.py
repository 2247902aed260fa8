"""The prospect's voice for a persona: which Piper voice, or which voice on a speech server, at
what pace (``speaker_for``).

A persona's ``voice`` (``roleplay.personas.Voice``, checked when the persona is read) names a
bundled voice or a Piper file, and a speaking rate:

- ``name``: a voice that ships with the app (``BUNDLED``), assembled and verified in the model
  cache like every voice model;
- ``path``: a Piper ``.onnx`` file; a relative path is read from the persona file's folder, which
  for the app's personas is ``settings.personas_dir``;
- neither: the app's voice, ``settings.voice.tts_voice`` or else the bundled "joe".

The rate scales the app's pace: Piper's ``length_scale`` is ``settings.voice.length_scale / rate``
(with the default setting 1.0, simply ``1 / rate``: rate 1.25 speaks in 0.8 of the time).

With ``settings.voice.tts.backend = "openai"`` the voice comes from a speech server instead
(``server.ServerSpeaker``): the persona's ``voice.server``, or else ``voice.tts.voice``, at the
``speed`` that is the inverse of that length_scale.
"""

from __future__ import annotations

from pathlib import Path

from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.personas import Persona, Voice
from roleplay.voice.models import JOE_VOICE, VoiceModel
from roleplay.voice.server import server_speaker
from roleplay.voice.tts import BaseSpeaker, bundled_voice, default_voice, shared_speaker

#: The bundled voices by the name a persona gives (``roleplay.personas.BUNDLED_VOICES``).
BUNDLED: dict[str, VoiceModel] = {"joe": JOE_VOICE}


def voice_path(voice: Voice, settings: Settings, base_dir: Path | None = None) -> Path:
    """The Piper ``.onnx`` file a persona's ``voice`` speaks with.

    Args:
        voice: The persona's voice.
        settings: For the model cache, the default voice and the personas folder.
        base_dir: The persona file's folder; default ``settings.personas_dir``.

    Raises:
        VoiceModelError: a bundled voice's package is missing or its files fail their check.
    """
    if voice.name is not None:
        return bundled_voice(Path(settings.model_cache_dir), BUNDLED[voice.name])
    if own := voice.file(base_dir or Path(settings.personas_dir)):
        return own
    return default_voice(settings)


def length_scale_for(voice: Voice, settings: Settings) -> float:
    """Piper's ``length_scale`` for a persona's rate: the app's pace divided by the rate."""
    return settings.voice.length_scale / voice.rate


def speaker_for(persona: Persona, settings: Settings, *, base_dir: Path | None = None,
                varied: bool = True) -> BaseSpeaker:
    """The prospect's speaker for ``persona``: its voice at its rate, embedded or on the server.

    Each Piper voice is loaded once per process and shared by every persona that speaks with it
    (``shared_speaker``), so this is cheap to call for every call or preview.

    Args:
        persona: The prospect.
        settings: For the model cache, the default voice and pace, and the personas folder.
        base_dir: The folder of the persona's file, from which a relative ``voice.path`` is read;
            default ``settings.personas_dir``, where the app's personas live.
        varied: As for ``Speaker``; ``False`` gives the same audio for the same text (tests). A
            server's voice is as the server makes it.

    Raises:
        VoiceModelError: a bundled voice's package is missing or its files fail their check.
        ConfigError: the persona's voice file is gone (it was there when the persona was checked),
            or the configured default voice does not exist.
        VoiceServerError: the server's API key is not set.
    """
    if settings.voice.tts.backend == "openai":
        return server_speaker(settings, persona.voice.server, persona.voice.rate)
    path = voice_path(persona.voice, settings, base_dir)
    if persona.voice.path is not None and not (path.is_file() and Path(f"{path}.json").is_file()):
        raise ConfigError(f"persona {persona.id}: its voice {path} (voice.path: {persona.voice.path}) or the "
                          f"{path.name}.json beside it is missing; fix: put them back, or change voice.path "
                          "and check with `roleplay personas validate`")
    return shared_speaker(path, length_scale_for(persona.voice, settings), varied=varied)
