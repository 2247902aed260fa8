"""A persona's fields, validated strictly: the pydantic model of a persona file.

A persona describes one prospect in one pushback situation: who they are, what they object
to, what they only tell a rep who is genuinely curious, what drains and restores their
patience, when they hang up, and what "not now" sounds like for them, and how they sound on a
spoken call (``voice``). The state machine in ``call.state`` reads these numbers; the prompts
``prompts/prospect_*.md`` read the words; ``roleplay.voice.speaker_for`` reads the voice.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SCHEMA_VERSION = 1

Level = Annotated[int, Field(ge=0, le=10)]
Amount = Annotated[int, Field(ge=0, le=10)]
Text = Annotated[str, Field(min_length=1)]

#: The Piper voices that ship with the app, by the name a persona gives in ``voice.name``
#: (``roleplay.voice.persona`` maps each name to its model).
BUNDLED_VOICES = ("joe",)
#: The slowest and the fastest speaking rate a persona may ask for (``voice.rate``).
MIN_RATE, MAX_RATE = 0.5, 2.0
#: The validation context key of the folder a relative ``voice.path`` is read from.
PERSONA_DIR = "persona_dir"
#: Pronouns, for telling a fact said about someone from one said by the prospect.
_THIRD_PERSON = frozenset({"she", "he", "her", "his", "him", "hers", "herself", "himself", "she's", "he's"})
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "we", "us", "our", "ours", "i'm", "i've", "we're", "we've"})


class Difficulty(StrEnum):
    EASY = "easy"
    NORMAL = "normal"
    HARD = "hard"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HiddenFact(_Strict):
    fact: Text = Field(description="something true the prospect only tells a curious rep")
    after_questions: int = Field(
        default=1, ge=1, le=5,
        description="how many genuine open questions the rep must ask before it comes out (1-5)",
    )


class Drains(_Strict):
    """How much patience (0-10 scale) each rep behaviour costs."""

    push: Amount = Field(3, description="asking again for a commitment after a refusal")
    first_ask: Amount = Field(0, description="the rep's first ask, before any refusal")
    argue: Amount = Field(2, description="contradicting, correcting or lecturing the prospect")
    pitch: Amount = Field(1, description="pitching without asking anything")
    monologue: Amount = Field(2, description="a long reply (over about 60 words)")
    hostile: Amount = Field(6, description="sarcasm, insults, blame")
    off_topic: Amount = Field(1, description="chatter or requests that have nothing to do with the call")


class Restores(_Strict):
    """How much patience each rep behaviour gives back."""

    open_question: Amount = Field(1, description="a genuine open question about their view")
    acknowledge: Amount = Field(1, description="acknowledging the objection calmly")
    accept_no: Amount = Field(2, description="accepting the no or asking permission to follow up")


class Patience(_Strict):
    start: Level = Field(description="patience at the start of the call, 0-10")
    drains: Drains = Field(default_factory=Drains, description="patience lost per behaviour")
    restores: Restores = Field(default_factory=Restores, description="patience regained")


class Interest(_Strict):
    start: Level = Field(2, description="interest in the rep's offer at the start, 0-10")
    open_door_at: Level = Field(
        6, description="interest at which the prospect leaves the door open (agrees to a later talk)"
    )


class HangUp(_Strict):
    patience_at: Level = Field(0, description="hangs up when patience falls to this level or below")
    after_pushes: int = Field(
        3, ge=1, le=6,
        description="hangs up on this many pushes after the first refusal, whatever the patience",
    )
    line: Text = Field(description="how they end the call when they hang up (an example line)")


class NotNow(_Strict):
    when: Text = Field(description="the time they give for trying again, e.g. 'after the March renewal'")
    line: Text = Field(description="what 'not now' sounds like from them (an example line)")


class Voice(_Strict):
    """How the prospect sounds on a spoken call: which voice, and how fast it speaks.

    With neither ``name`` nor ``path`` the prospect has the app's default voice (the setting
    ``voice.tts_voice``, or else the bundled "joe"). Files are checked only when the persona is
    read with its folder known (``parse_persona(..., base_dir=)``, as ``load_persona`` and the
    studio do), never when a stored session's persona is read back.

    ``server`` is the voice on a team's speech server (the setting ``voice.tts.backend = "openai"``),
    which only the server can check; the embedded voice (``name``, ``path``) is used otherwise, so
    a persona can carry both. ``rate`` applies to either.
    """

    name: str | None = Field(None, description=f"a bundled voice: {', '.join(BUNDLED_VOICES)}")
    path: Text | None = Field(
        None, description="a Piper .onnx voice file with its .onnx.json beside it; a relative path is read from "
                          "the folder of the persona file")
    server: str | None = Field(
        None, max_length=100,
        description="the voice's name on the team's speech server when voice comes from one (OpenAI: alloy, "
                    "onyx, …); default: the setting voice.tts.voice")
    rate: float = Field(
        1.0, ge=MIN_RATE, le=MAX_RATE, strict=True,
        description=f"speaking rate from {MIN_RATE} to {MAX_RATE}: 1.0 is the voice's own pace, 1.2 is 20% faster, "
                    "0.9 10% slower")

    @field_validator("name")
    @classmethod
    def _bundled(cls, name: str | None) -> str | None:
        if name is not None and name not in BUNDLED_VOICES:
            raise PydanticCustomError(
                "voice_name", "unknown voice '{name}'",
                {"name": name, "fix": f"use a bundled voice ({', '.join(BUNDLED_VOICES)}), or give a Piper voice "
                                      "file as voice.path instead of voice.name"})
        return name

    @field_validator("server")
    @classmethod
    def _server_voice(cls, server: str | None) -> str | None:
        if server is not None and (not server.strip() or server != server.strip() or "\n" in server):
            raise PydanticCustomError("voice_server", "'{server}' is not a voice name", {
                "server": server[:40], "fix": "give the voice's name as the speech server knows it, on one line "
                                              "without spaces around it (e.g. onyx), or leave voice.server out"})
        return server

    @field_validator("path")
    @classmethod
    def _voice_file(cls, path: str | None, info: ValidationInfo) -> str | None:
        """A Piper voice is an ``.onnx`` file and its ``.onnx.json`` config; both must be there."""
        if path is None:
            return None
        if not path.endswith(".onnx"):
            raise PydanticCustomError("voice_path", "'{path}' is not a Piper voice file (.onnx)", {
                "path": path, "fix": "give the voice's .onnx file (e.g. voices/en_GB-alba-medium.onnx); its "
                                     ".onnx.json goes beside it"})
        base = (info.context or {}).get(PERSONA_DIR)
        if base is None:
            return path
        try:
            found = voice_file(path, Path(base))
            exists, configured = found.is_file(), found.with_name(found.name + ".json").is_file()
        except (OSError, ValueError, RuntimeError) as exc:  # too long, a NUL byte, ~nobody
            raise PydanticCustomError("voice_path", "'{path}' cannot be looked up ({problem})", {
                "path": path[:80], "problem": str(exc)[:120],
                "fix": "give a short plain path to the .onnx file, relative to the persona file's folder"}) from None
        where = "" if Path(path).is_absolute() or path.startswith("~") else (
            f" (a relative path is read from the persona file's folder, {base})")
        if not exists:
            raise PydanticCustomError("voice_path", "no voice file at {found}{where}", {
                "found": str(found), "where": where,
                "fix": "put the .onnx voice and its .onnx.json there, or correct the path: relative to the folder "
                       "of the persona file, or absolute"})
        if not configured:
            config = f"{found.name}.json"
            raise PydanticCustomError("voice_path", "{found} has no config {config} beside it{where}", {
                "found": str(found), "config": config, "where": where,
                "fix": f"put the voice's config (downloaded with it) beside it as {config}"})
        return path

    @model_validator(mode="after")
    def _one_voice(self) -> Voice:
        if self.name is not None and self.path is not None:
            raise PydanticCustomError("voice_both", "both voice.name and voice.path are given", {
                "fix": "keep one: name for a bundled voice, path for a Piper voice file"})
        return self

    @property
    def length_scale(self) -> float:
        """Piper's ``length_scale`` for this rate: 1/rate (a faster rate, shorter sounds)."""
        return 1.0 / self.rate

    def file(self, base_dir: Path) -> Path | None:
        """The Piper ``.onnx`` file this voice names, a relative path read from ``base_dir`` (the
        persona file's folder); ``None`` for a bundled voice or the default."""
        return voice_file(self.path, base_dir) if self.path is not None else None


def voice_file(path: str, base_dir: Path) -> Path:
    """``path`` as written in a persona, read from ``base_dir`` unless it is absolute (``~`` expanded)."""
    given = Path(path).expanduser()
    return given if given.is_absolute() else base_dir / given


class Persona(_Strict):
    schema_version: int = Field(description=f"always {SCHEMA_VERSION}")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$", description="lower_snake_case identifier")
    name: Text = Field(description="the prospect's name")
    title: Text = Field(description="their job title")
    company: Text = Field(description="their company, with a few words on what it does")
    difficulty: Difficulty = Field(description="easy, normal or hard")
    brief: Text = Field(description="the situation, as the rep reads it before the call")
    rep_offer: Text = Field(description="what the rep sells and wants from this call")
    personality: Text = Field(description="how they talk and what they care about")
    opening_line: Text = Field(description="the prospect's first words when they pick up")
    objections: list[Text] = Field(min_length=1, description="their objections, in the order they raise them")
    hidden_facts: list[HiddenFact] = Field(
        min_length=1, description="facts revealed only to genuine curiosity"
    )
    patience: Patience = Field(description="patience and what moves it")
    interest: Interest = Field(default_factory=Interest, description="interest and the open-door level")
    hang_up: HangUp = Field(description="when and how they hang up")
    not_now: NotNow = Field(description="the door left open, with a time")
    refusal_lines: list[Text] = Field(
        min_length=2, description="how they say no: first refusal, then firmer ones"
    )
    voice: Voice = Field(default_factory=Voice,
                         description="how they sound on a spoken call: name or path, and rate")

    @field_validator("hidden_facts")
    @classmethod
    def _facts_in_the_first_person(cls, facts: list[HiddenFact], info: ValidationInfo) -> list[HiddenFact]:
        """The prospect says its facts aloud: written as it would say them, they can't come out
        as "she sends her wish list" in its own mouth."""
        names = [w for w in str(info.data.get("name", "")).split() if len(w) > 1]
        for i, item in enumerate(facts, start=1):
            words = set(re.findall(r"[a-z']+", item.fact.lower()))
            # "she" may be someone else ("my daughter… she's been asking me"); with no I, my, we
            # or our anywhere, it is the prospect.
            pronouns = sorted(words & _THIRD_PERSON) if not words & _FIRST_PERSON else []
            found = pronouns + [n for n in names if re.search(rf"\b{re.escape(n)}\b", item.fact)]
            if found:
                raise ValueError(f"fact {i} speaks of the prospect in the third person ({', '.join(found)}); write it "
                                 "as they would say it, with I, my, we and our")
        return facts

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"unknown schema_version {v}")
        return v
