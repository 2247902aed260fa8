"""Each persona's voice: the Speaker a persona gets (``roleplay.voice.speaker_for``), the voices a
process keeps loaded, and what the rate does to the audio.

Piper voices load for real (about 0.3 s each); a voice "by path" is a link to the bundled one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from roleplay.call import Gym
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.personas import BUNDLED_VOICES, Persona, load_persona
from roleplay.voice import bundled_voice, shared_speaker, speaker_for
from roleplay.voice.persona import BUNDLED, length_scale_for
from roleplay.voice.tts import _loaded

LINE = "Look, we've used Fleetly for six years and it does the job for us."


@pytest.fixture
def joe(settings: Settings) -> Path:
    return bundled_voice(settings.model_cache_dir)


def with_voice(persona: Persona, **voice: object) -> Persona:
    return persona.model_copy(update={"voice": type(persona.voice)(**voice)})


def linked_voice(folder: Path, joe: Path, name: str = "alba.onnx") -> Path:
    """A Piper voice at ``folder/name``: links to the bundled voice and its config."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(joe)
    (folder / f"{name}.json").symlink_to(Path(f"{joe}.json"))
    return folder / name


def test_every_name_a_persona_may_give_is_a_bundled_voice() -> None:
    assert sorted(BUNDLED) == sorted(BUNDLED_VOICES)


def test_a_persona_without_a_voice_speaks_with_the_bundled_one_at_the_normal_pace(
        persona: Persona, settings: Settings, joe: Path) -> None:
    speaker = speaker_for(persona, settings)
    assert speaker.voice_path == joe and speaker.length_scale == 1.0


@pytest.mark.parametrize(("rate", "app_pace", "length_scale"),
                         [(1.0, 1.0, 1.0), (1.25, 1.0, 0.8), (0.5, 1.0, 2.0), (1.2, 1.2, 1.0), (2.0, 1.5, 0.75)])
def test_the_rate_divides_the_apps_pace(persona: Persona, settings: Settings, rate: float, app_pace: float,
                                        length_scale: float) -> None:
    settings = settings.model_copy(update={"voice": settings.voice.model_copy(update={"length_scale": app_pace})})
    voiced = with_voice(persona, rate=rate)
    assert length_scale_for(voiced.voice, settings) == pytest.approx(length_scale)
    assert speaker_for(voiced, settings).length_scale == pytest.approx(length_scale)


def test_personas_share_one_loaded_copy_of_a_voice(persona: Persona, settings: Settings) -> None:
    _loaded.cache_clear()
    fast, slow = speaker_for(with_voice(persona, rate=1.2), settings), speaker_for(persona, settings)
    again = speaker_for(with_voice(persona, name="joe", rate=1.2), settings)
    assert _loaded.cache_info().misses == 1  # loaded once, for all three
    assert (fast.length_scale, slow.length_scale, again.length_scale) == (pytest.approx(1 / 1.2), 1.0,
                                                                          pytest.approx(1 / 1.2))
    assert fast.synthesize("Hello.").sample_rate == slow.sample_rate == 22_050


def test_the_app_voice_setting_is_the_default_and_a_named_voice_overrides_it(
        persona: Persona, settings: Settings, joe: Path, tmp_path: Path) -> None:
    own = linked_voice(tmp_path / "app_voices", joe)
    settings = settings.model_copy(update={"voice": settings.voice.model_copy(update={"tts_voice": own})})
    assert speaker_for(persona, settings).voice_path == own
    assert speaker_for(with_voice(persona, name="joe"), settings).voice_path == joe


def test_a_relative_voice_path_is_read_from_the_personas_folder(settings: Settings, joe: Path,
                                                                tmp_path: Path) -> None:
    folder = tmp_path / "team_personas"
    voice = linked_voice(folder / "voices", joe)
    text = Path(settings.personas_dir / "happy_incumbent.yaml").read_text()
    (folder / "happy_incumbent.yaml").write_text(text + "voice:\n  path: voices/alba.onnx\n  rate: 0.8\n")
    persona = load_persona(folder / "happy_incumbent.yaml")

    speaker = speaker_for(persona, settings, base_dir=folder)
    assert speaker.voice_path == voice and speaker.length_scale == pytest.approx(1.25)
    published = settings.model_copy(update={"personas_dir": folder})  # the app reads personas_dir
    assert speaker_for(persona, published).voice_path == voice

    with pytest.raises(ConfigError, match=r"persona happy_incumbent: .*voice\.path: voices/alba\.onnx.*fix: put "):
        speaker_for(persona, settings)  # the shipped personas' folder has no voices/alba.onnx


def test_a_faster_rate_says_the_same_line_in_less_time(persona: Persona, settings: Settings) -> None:
    durations = [speaker_for(with_voice(persona, rate=rate), settings, varied=False).synthesize(LINE).duration_s
                 for rate in (0.8, 1.0, 1.25)]
    assert durations[0] > durations[1] > durations[2]
    # rate 0.8 stretches the phonemes 1.5625 times as long as 1.25 does; the silent edges stay put
    assert durations[0] > 1.3 * durations[2]


def test_the_same_text_and_rate_give_the_same_audio_without_variation(persona: Persona,
                                                                      settings: Settings) -> None:
    voiced = with_voice(persona, rate=1.1)
    first = speaker_for(voiced, settings, varied=False).synthesize(LINE)
    second = speaker_for(voiced, settings, varied=False).synthesize(LINE)
    assert (first.samples == second.samples).all()


def test_a_shared_speaker_names_a_missing_voice(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        shared_speaker(tmp_path / "nobody.onnx")


def test_serving_warms_the_voice_models_after_the_gym(monkeypatch: pytest.MonkeyPatch,
                                                       new_gym: Callable[..., Gym]) -> None:
    """``serve`` readies speech to text and the first persona's voice with the other models, so the
    rep's first switch to Voice does not wait for them; without the voice extra it goes on quietly."""
    from roleplay.ui import serving, spoken

    gym = new_gym()
    order: list[str] = []
    monkeypatch.setattr(gym, "warm_up", lambda: order.append("gym"))
    monkeypatch.setattr(spoken, "warm", lambda settings, persona: order.append(f"voice {persona.id}"))
    serving.warm_up(gym)
    assert order == ["gym", f"voice {next(iter(gym.personas))}"]

    def missing(settings: object, persona: object) -> None:
        raise spoken.VoiceUnavailable("no voice extra")

    monkeypatch.setattr(spoken, "warm", missing)
    serving.warm_up(gym)  # no error
