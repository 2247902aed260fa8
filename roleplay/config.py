"""Settings: one place for backends and models per role, database and paths.

Values come from (highest first) environment variables, a ``.env`` file in the working
directory, a TOML file, and defaults.
Environment: ``ROLEPLAY_BACKEND=openai`` sets every role at once; a single role is set with
``ROLEPLAY_GRADER__BACKEND``/``ROLEPLAY_GRADER__MODEL`` and so on. The TOML file is
``roleplay.toml`` in the working directory, or the path in ``ROLEPLAY_CONFIG``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from roleplay import content


class Backend(StrEnum):
    LOCAL = "local"
    OPENAI = "openai"
    FAKE = "fake"


class Role(StrEnum):
    PROSPECT = "prospect"
    GRADER = "grader"
    COACH = "coach"


class RoleSettings(BaseModel):
    """Which model plays one role."""

    backend: Backend | None = None
    #: local: path to a GGUF file (default: the embedded model); openai: the model name.
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    #: Most tokens of conversation history in one prompt; older turns are left out.
    history_tokens: int | None = None
    #: Seconds before a model call is abandoned (one retry, then a clear message). Default:
    #: 120 s on the openai backend; 600 s on the embedded model, whose first call of a process
    #: may process a long system prompt on a busy CPU before it writes a word.
    timeout_s: float | None = None
    #: openai backend: how JSON output is constrained. ``json_schema`` (OpenAI, vLLM, Ollama,
    #: LM Studio), ``json_object`` (llama.cpp's server: a schema inside ``json_object``), or
    #: ``none`` (prompt only; the answer is still validated).
    json_mode: Literal["json_schema", "json_object", "none"] = "json_schema"
    #: openai backend: this role's endpoint (default: ``OPENAI_BASE_URL``, then OpenAI's), so
    #: the prospect can stay on a local server while the grader uses a hosted model.
    base_url: str | None = None
    #: openai backend: the environment variable (or ``.env`` entry) holding this role's API key.
    api_key_env: str = "OPENAI_API_KEY"
    #: openai backend: the request field that caps the answer's length. OpenAI and vLLM read
    #: ``max_completion_tokens``; llama.cpp's server and older Ollama read only ``max_tokens``.
    length_cap: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"


class AudioServer(BaseModel):
    """A speech server that speaks OpenAI's audio API (``voice.stt`` or ``voice.tts``).

    ``backend = "embedded"`` (the default) keeps speech on this machine (Whisper, Piper);
    ``"openai"`` sends it to ``base_url``: OpenAI itself, or a team's own server.
    """

    backend: Literal["embedded", "openai"] = "embedded"
    #: The server's API root, ending in ``/v1`` (default: ``OPENAI_BASE_URL``, then OpenAI's).
    base_url: str | None = None
    #: The environment variable (or ``.env`` entry) holding the server's API key.
    api_key_env: str = "OPENAI_API_KEY"
    #: Seconds before a request is abandoned (one retry, then a clear message).
    timeout_s: float = Field(default=30.0, gt=0)


class SpeechToTextServer(AudioServer):
    """Where the rep's words are written down: the embedded Whisper, or a server."""

    #: openai backend: the server's transcription model (OpenAI: ``whisper-1``, the one that
    #: gives word times; a team's server: the name it knows its model by).
    model: str = "whisper-1"
    #: openai backend: ask for each word's time (``verbose_json``), which the delivery figures use.
    #: A server that cannot give them (OpenAI's gpt-4o-transcribe) needs ``false``: the pace and
    #: talking over are then timed from the speech found in the recording, and fillers have no times.
    word_times: bool = True


class TextToSpeechServer(AudioServer):
    """Where the prospect's voice is made: the embedded Piper, or a server."""

    #: openai backend: the server's speech model (OpenAI: ``tts-1``, ``gpt-4o-mini-tts``).
    model: str = "tts-1"
    #: openai backend: the server's voice for personas that name none (``voice.server`` in a persona).
    voice: str = "alloy"
    #: openai backend: ``wav`` (checked as it is read) or ``pcm`` (raw 16-bit samples at ``sample_rate``).
    response_format: Literal["wav", "pcm"] = "wav"
    #: openai backend: the rate the prospect's audio plays at: a ``pcm`` server's rate (OpenAI's
    #: is 24 kHz); ``wav`` at another rate is resampled to it.
    sample_rate: int = Field(default=24_000, ge=8_000, le=96_000)


class VoiceSettings(BaseModel):
    """Practising out loud: the speech-to-text model, the prospect's voice and its pace; embedded
    by default, or on a speech server (``stt``, ``tts``)."""

    #: The embedded Whisper model that writes down what the rep says: ``tiny.en`` (English, faster) or ``base``
    #: (multilingual, slower on CPU); see ``roleplay/voice/stt.py`` for the measurements.
    stt_model: Literal["tiny.en", "base"] = "tiny.en"
    #: CPU threads for speech to text (0: CTranslate2's default).
    stt_threads: int = 0
    #: The prospect's embedded voice: a Piper ``.onnx`` file (its ``.onnx.json`` beside it); default the
    #: bundled en_US "joe" voice.
    tts_voice: Path | None = None
    #: Piper's length_scale: 1.0 is the voice's own pace, below 1 faster, above 1 slower (a
    #: server's ``speed`` is its inverse).
    length_scale: float = Field(default=1.0, gt=0.2, lt=5.0)
    #: Speech to text on a server instead of the embedded Whisper (``[voice.stt]``).
    stt: SpeechToTextServer = Field(default_factory=SpeechToTextServer)
    #: The prospect's voice from a server instead of the embedded Piper (``[voice.tts]``).
    tts: TextToSpeechServer = Field(default_factory=TextToSpeechServer)


#: Per-role defaults for what a role's settings leave unset: (temperature, max_tokens,
#: history_tokens). With the 4096-token context, each role's system prompt, history, longest
#: message and answer fit.
ROLE_DEFAULTS: dict[Role, tuple[float, int, int]] = {
    Role.PROSPECT: (0.5, 80, 1600),
    Role.GRADER: (0.0, 220, 900),
    Role.COACH: (0.3, 160, 1600),
}


#: Default of ``Settings.concurrency``, the events the app runs at once (more wait in Gradio's
#: queue, which tells each waiting rep its place). On 2 cores, ``evals/load_test.py`` (50 reps at
#: once), run side by side, moved 30 to 31 turns a second with 64 against 25 to 26 with 8 (and
#: 24 to 26 with 32 in another hour): keeping the queue cost the server more CPU than the events
#: it held back. A model that computes in the process (the embedded one) still speaks one reply
#: at a time.
CONCURRENCY = 64

#: Default deadlines of a model call (``RoleSettings.timeout_s``), by kind of backend.
HTTP_TIMEOUT_S, LOCAL_TIMEOUT_S = 120.0, 600.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ROLEPLAY_", env_nested_delimiter="__", extra="forbid", env_file=".env",
        # .env also holds what is read where it is used (OPENAI_API_KEY): only settings count here.
        env_file_encoding="utf-8", dotenv_filtering="only_existing",
    )

    #: Sets the backend of every role that does not set its own.
    backend: Backend = Backend.LOCAL
    prospect: RoleSettings = Field(default_factory=RoleSettings)
    grader: RoleSettings = Field(default_factory=RoleSettings)
    coach: RoleSettings = Field(default_factory=RoleSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)

    data_dir: Path = Path("data")
    database_url: str | None = None
    #: The personas, prompts and scripted reps: by default the ones shipped in the package
    #: (``roleplay/content/``); a team sets its own folders here.
    personas_dir: Path = content.PERSONAS_DIR
    prompts_dir: Path = content.PROMPTS_DIR
    rep_scripts_dir: Path = content.REP_SCRIPTS_DIR
    #: Where the embedded model is assembled (kept across checkouts).
    model_cache_dir: Path = Path.home() / ".cache" / "roleplay"
    #: llama.cpp context size and threads for the embedded model.
    n_ctx: int = 4096
    n_threads: int | None = None
    #: Longest rep message accepted, in characters (after control characters are removed).
    max_message_chars: int = 2000
    #: Team mode: everyone signs in (accounts: ``roleplay users add``); reps see only their own
    #: sessions, managers their team's, and only enablement publishes personas.
    team_mode: bool = False
    #: Requests one app process works on at once (a rep's message being answered is one); more
    #: wait in the queue, which shows each rep its place. A request mostly waits for a model, so
    #: this is above the number of cores; more helps only where the models answer many calls at
    #: once and the app has CPU to spare (the embedded model speaks for one call at a time).
    concurrency: int = Field(default=CONCURRENCY, ge=1)
    #: Pause before the one retry of a model call that timed out, could not connect or was
    #: rate-limited; a server's Retry-After is followed up to ``retry_max_delay_s``.
    retry_delay_s: float = 0.5
    retry_max_delay_s: float = 5.0
    #: Seconds a process holds a reply's grading job without renewing it. A process renews its
    #: jobs while it lives; when one is killed, another takes its jobs over this long after.
    grading_lease_s: float = Field(default=30.0, gt=0)
    #: How often each process renews its jobs and looks for jobs whose lease lapsed (at most a
    #: third of the lease).
    grading_poll_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _fill_role_backends(self) -> Settings:
        for role in Role:
            rs: RoleSettings = getattr(self, role.value)
            temperature, max_tokens, history_tokens = ROLE_DEFAULTS[role]
            rs.backend = rs.backend or self.backend
            rs.temperature = temperature if rs.temperature is None else rs.temperature
            rs.max_tokens = rs.max_tokens or max_tokens
            rs.history_tokens = rs.history_tokens or history_tokens
            if rs.timeout_s is None:
                rs.timeout_s = LOCAL_TIMEOUT_S if rs.backend == Backend.LOCAL else HTTP_TIMEOUT_S
        return self

    def role(self, role: Role | str) -> RoleSettings:
        return getattr(self, Role(role).value)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'roleplay.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("ROLEPLAY_CONFIG", "roleplay.toml"))
        return (init_settings, env_settings, dotenv_settings, TomlConfigSettingsSource(settings_cls, toml_path))


def environment(name: str) -> str | None:
    """A variable from the environment, or else from ``.env`` in the working directory."""
    if name in os.environ:
        return os.environ[name]
    dotenv = Path(".env")
    return dotenv_values(dotenv).get(name) if dotenv.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``roleplay.toml``; keyword overrides win."""
    return Settings(**overrides)
