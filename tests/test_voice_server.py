"""Speech on a server that speaks OpenAI's audio API (``voice.stt``/``voice.tts`` with
``backend = "openai"``): the settings, the errors that say what to fix, the delivery without word
times, and the openai backend end to end against real servers on loopback, all offline:

- ``faster-whisper-server`` (PyPI) over the model cache's Whisper tiny.en: transcriptions with
  segment times only, as many servers give them;
- ``local-tts-studio`` (PyPI) over the bundled Piper joe voice: speech as WAV or PCM, behind an API key;
- ``tests/audio_server.py``, the tests' own server over the embedded Whisper and Piper: word times
  as OpenAI's whisper-1 gives them, and the answers a client must cope with (404, MP3 bytes).

The rep's lines are spoken by Piper without its random variation, so each test hears the same audio.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from roleplay.cli import main
from roleplay.config import Settings, SpeechToTextServer, TextToSpeechServer, load_settings
from roleplay.measure.voice_bench import edit_distance, normalise
from roleplay.personas import Persona
from roleplay.voice import (
    JOE_VOICE,
    WHISPER_TINY_EN,
    Interval,
    ServerSpeaker,
    ServerTranscriber,
    Speaker,
    Transcript,
    VoiceServerError,
    bundled_voice,
    call_delivery,
    ensure_voice_model,
    load_transcriber,
    reply_delivery,
    speak_turn,
    speaker_for,
    transcript_delivery,
)
from roleplay.voice.stt import load_whisper
from tests.conftest import PROJECT_ROOT, free_port, running_server

KEY = "sk-loopback-test"
LINE = "Could we book twenty minutes next week to talk about how your routes are planned?"
FILLED = "Um, I was wondering, um, whether you have, uh, ten minutes later this week."


def _recall(reference: str, heard: str) -> float:
    ref = normalise(reference)
    return 1 - edit_distance(ref, normalise(heard)) / len(ref)


@pytest.fixture(scope="module")
def rep_voice() -> Speaker:
    return Speaker(bundled_voice(load_settings().model_cache_dir), varied=False)


@pytest.fixture(scope="module")
def filled(rep_voice: Speaker):
    """A slow reply with three fillers, and what the embedded Whisper heard in it (word times)."""
    speech = Speaker(rep_voice.voice_path, length_scale=1.5, varied=False).synthesize(FILLED)
    return speech, load_whisper(load_settings()).transcribe_pcm(*speech.pcm)


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tests/audio_server.py`` on loopback: its ``/v1`` URL."""
    port, log = free_port(), tmp_path_factory.mktemp("own") / "server.log"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with running_server([sys.executable, str(PROJECT_ROOT / "tests" / "audio_server.py"), str(port), KEY],
                        f"http://127.0.0.1:{port}/health", log, 120, env=env, cwd=PROJECT_ROOT):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def whisper_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """faster-whisper-server over the cached Whisper tiny.en (a local path: nothing downloaded)."""
    model = ensure_voice_model(WHISPER_TINY_EN, load_settings().model_cache_dir)
    port, log = free_port(), tmp_path_factory.mktemp("fws") / "server.log"
    with running_server([sys.executable, "-m", "faster_whisper_server", str(model), "--host", "127.0.0.1",
                         "--port", str(port)], f"http://127.0.0.1:{port}/health", log, 120):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def piper_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """local-tts-studio with the bundled joe voice as its API's voice, behind ``KEY``."""
    data = tmp_path_factory.mktemp("lts")
    voices = ensure_voice_model(JOE_VOICE, load_settings().model_cache_dir)
    (data / "settings.json").write_text(json.dumps({
        "voices_dir": str(voices), "device": "cpu", "api_default_voice": Path(JOE_VOICE.files[0].name).stem,
        "api_key_enabled": True, "api_key": KEY}))
    port = free_port()
    with running_server([sys.executable, "-c", "from local_tts.cli import main; main()", "--port", str(port)],
                        f"http://127.0.0.1:{port}/api/health", data / "server.log", 120,
                        env={**os.environ, "LOCAL_TTS_DATA_DIR": str(data)}):
        yield f"http://127.0.0.1:{port}/v1"


def on_servers(settings: Settings, stt: str | None = None, tts: str | None = None, **tts_options) -> Settings:
    """``settings`` with speech to text and/or the prospect's voice on the servers at those URLs."""
    voice = settings.voice.model_copy(update={
        "stt": SpeechToTextServer(backend="openai", base_url=stt, api_key_env="SPEECH_KEY") if stt else
        settings.voice.stt,
        "tts": TextToSpeechServer(backend="openai", base_url=tts, api_key_env="SPEECH_KEY", **tts_options) if tts else
        settings.voice.tts})
    return settings.model_copy(update={"voice": voice})


@pytest.fixture
def speech_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEECH_KEY", KEY)


# --- settings -------------------------------------------------------------------------------------

def test_the_speech_servers_come_from_the_environment_and_the_toml(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "roleplay.toml").write_text('[voice.tts]\nbackend = "openai"\nmodel = "gpt-4o-mini-tts"\n'
                                            'voice = "onyx"\nresponse_format = "pcm"\n')
    monkeypatch.setenv("ROLEPLAY_CONFIG", str(tmp_path / "roleplay.toml"))
    monkeypatch.setenv("ROLEPLAY_VOICE__STT__BACKEND", "openai")
    monkeypatch.setenv("ROLEPLAY_VOICE__STT__BASE_URL", "http://speech.internal:8000/v1")
    monkeypatch.setenv("ROLEPLAY_VOICE__STT__WORD_TIMES", "false")
    voice = load_settings().voice
    assert (voice.stt.backend, voice.stt.base_url, voice.stt.model, voice.stt.word_times) == (
        "openai", "http://speech.internal:8000/v1", "whisper-1", False)
    assert (voice.tts.backend, voice.tts.model, voice.tts.voice, voice.tts.response_format, voice.tts.sample_rate) == (
        "openai", "gpt-4o-mini-tts", "onyx", "pcm", 24_000)
    assert (voice.stt_model, voice.tts_voice) == ("tiny.en", None)  # the embedded models' settings stay
    monkeypatch.setenv("ROLEPLAY_VOICE__TTS__RESPONSE_FORMAT", "mp3")
    with pytest.raises(ValueError, match="'wav' or 'pcm'"):
        load_settings()


# --- errors that say what to fix ------------------------------------------------------------------

def test_a_missing_api_key_names_the_variable_and_the_fix(settings: Settings, persona: Persona,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPEECH_KEY", raising=False)
    served = on_servers(settings, stt="http://127.0.0.1:9/v1", tts="http://127.0.0.1:9/v1")
    with pytest.raises(VoiceServerError, match=r"voice\.stt\.backend is openai .* read from SPEECH_KEY, which is "
                                               r"not set; fix: export SPEECH_KEY=… or put it in \.env"):
        load_transcriber(served)
    with pytest.raises(VoiceServerError, match=r"text-to-speech server's API key is read from SPEECH_KEY.*set "
                                               r"voice\.tts\.api_key_env to the variable that holds it"):
        speaker_for(persona, served)
    (Path.cwd() / ".env").write_text(f"SPEECH_KEY={KEY}\n")  # .env, as for the chat models
    assert isinstance(load_transcriber(served), ServerTranscriber)


def test_an_unreachable_server_is_tried_twice_and_named(settings: Settings, persona: Persona,
                                                       speech_key: None) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    served = on_servers(settings, stt=closed, tts=closed)
    with pytest.raises(VoiceServerError, match=rf"speech-to-text server at {closed} could not be reached \(tried "
                                               r"twice\).*fix: start it, or correct voice\.stt\.base_url"):
        load_transcriber(served).transcribe_pcm(16_000, [0] * 16_000)
    with pytest.raises(VoiceServerError, match=r"text-to-speech server .* could not be reached.*voice\.tts\.backend "
                                               '= "embedded"'):
        speaker_for(persona, served).synthesize("Hello.")


def test_a_refused_key_an_unknown_model_and_audio_in_another_format_are_named(
        settings: Settings, own_server: str, piper_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEECH_KEY", "sk-wrong")
    for url in (own_server, piper_server):
        with pytest.raises(VoiceServerError, match=r"refused the API key from SPEECH_KEY \(HTTP 401.*fix: put the "
                                                   r"server's key in SPEECH_KEY"):
            speaker_for_server(on_servers(settings, tts=url)).synthesize("Hello there.")
    monkeypatch.setenv("SPEECH_KEY", KEY)
    lost = on_servers(settings, stt=own_server)
    lost.voice.stt.model = "missing"
    with pytest.raises(VoiceServerError, match=r"has no such endpoint or model \(HTTP 404.*check voice\.stt\.base_url"):
        load_transcriber(lost).transcribe_pcm(16_000, [0] * 16_000)
    lost.voice.stt.model = "text"
    with pytest.raises(VoiceServerError, match=r"answered with str .* instead of a JSON transcription with its text; "
                                               r"fix: use a server that gives OpenAI's json or verbose_json"):
        load_transcriber(lost).transcribe_pcm(16_000, [0] * 16_000)
    with pytest.raises(VoiceServerError, match=r"answered with audio/mpeg \(b'ID3.*instead of WAV audio; fix: set "
                                               r"voice\.tts\.response_format"):
        speaker_for_server(on_servers(settings, tts=own_server, voice="mp3")).synthesize("Hello there.")
    with pytest.raises(VoiceServerError, match=r"instead of raw 16-bit PCM"):
        speaker_for_server(on_servers(settings, tts=own_server, voice="mp3", response_format="pcm")).synthesize("Hi.")


def speaker_for_server(settings: Settings) -> ServerSpeaker:
    from roleplay.voice.server import server_speaker

    return server_speaker(settings)


# --- speech to text on a server -------------------------------------------------------------------

def test_a_server_with_word_times_hears_what_the_embedded_whisper_hears(
        settings: Settings, own_server: str, speech_key: None, rep_voice: Speaker, filled) -> None:
    transcriber = load_transcriber(on_servers(settings, stt=own_server))
    heard = transcriber.transcribe_pcm(*rep_voice.synthesize(LINE).pcm)
    assert heard.words_timed and _recall(LINE, heard.text) >= 0.9, heard.text
    speech, embedded = filled
    served = transcriber.transcribe_pcm(*speech.pcm)
    assert [w.text for w in served.words] == [w.text for w in embedded.words]
    assert transcript_delivery(served) == reply_delivery(embedded.words)  # the same figures as embedded


def test_a_server_without_word_times_is_timed_from_the_speech_in_the_recording(
        settings: Settings, whisper_server: str, speech_key: None, filled) -> None:
    """faster-whisper-server gives segments only: the words are counted in the text, the speaking
    time comes from the speech Silero VAD finds, and the figures agree with the embedded ones."""
    speech, embedded = filled
    heard = load_transcriber(on_servers(settings, stt=whisper_server)).transcribe_pcm(*speech.pcm)
    assert not heard.words_timed and heard.words == [] and _recall(FILLED, heard.text) >= 0.8, heard.text
    assert heard.speech[0] == pytest.approx(embedded.words[0].start, abs=0.25)
    assert heard.speech[1] == pytest.approx(embedded.words[-1].end, abs=0.25)
    served, timed = transcript_delivery(heard), reply_delivery(embedded.words)
    assert (served.words, served.words_timed) == (timed.words, False)
    assert served.pace_wpm == pytest.approx(timed.pace_wpm, rel=0.1)
    assert len(served.fillers) >= 2 and {f.at for f in served.fillers} == {None}


def test_a_listener_on_a_server_joins_its_stretches(settings: Settings, whisper_server: str, own_server: str,
                                                   speech_key: None, rep_voice: Speaker) -> None:
    two = rep_voice.synthesize(f"{LINE} {FILLED}")
    step = two.sample_rate // 10
    for url, timed in ((own_server, True), (whisper_server, False)):
        listener = load_transcriber(on_servers(settings, stt=url)).listen()
        for k in range(0, len(two.samples), step):
            listener.feed(two.sample_rate, two.samples[k:k + step])
        heard = listener.finish()
        assert heard.words_timed is timed and _recall(f"{LINE} {FILLED}", heard.text) >= 0.8, heard.text
        span = (heard.words[0].start, heard.words[-1].end) if timed else heard.speech
        assert span[0] < 0.5 and span[1] == pytest.approx(two.duration_s, abs=0.5)


# --- the prospect's voice on a server -------------------------------------------------------------

@pytest.mark.parametrize("response_format", ["wav", "pcm"])
def test_a_servers_voice_is_heard_back_at_the_configured_rate(
        settings: Settings, piper_server: str, speech_key: None, response_format: str) -> None:
    speaker = speaker_for_server(on_servers(settings, tts=piper_server, response_format=response_format,
                                            sample_rate=22_050))
    speech = speaker.synthesize(LINE)
    assert speech.sample_rate == speaker.sample_rate == 22_050 and 3.0 < speech.duration_s < 8.0
    heard = load_whisper(load_settings()).transcribe_pcm(*speech.pcm)
    assert _recall(LINE, heard.text) >= 0.9, heard.text


def test_wav_at_another_rate_is_resampled_and_the_personas_voice_and_rate_are_asked_for(
        settings: Settings, own_server: str, speech_key: None, persona: Persona) -> None:
    served = on_servers(settings, tts=own_server)  # the server speaks at 22.05 kHz; the app plays 24 kHz
    plain = speaker_for(persona.model_copy(update={"voice": persona.voice.model_copy(update={"rate": 1.0})}), served)
    assert isinstance(plain, ServerSpeaker) and (plain.voice, plain.speed) == ("alloy", 1.0)
    slow = speaker_for(persona.model_copy(update={"voice": persona.voice.model_copy(
        update={"server": "onyx", "rate": 0.8})}), served)
    assert (slow.voice, slow.speed) == ("onyx", pytest.approx(0.8))
    normal, slower = plain.synthesize(LINE), slow.synthesize(LINE)
    assert normal.sample_rate == slower.sample_rate == 24_000
    # The server got the speed: its Piper at length_scale 1 / 0.8 (which stretches the phonemes, not the pauses).
    piper = Speaker(bundled_voice(settings.model_cache_dir), varied=False)
    assert normal.duration_s == pytest.approx(piper.synthesize(LINE).duration_s, rel=0.01)
    assert slower.duration_s == pytest.approx(piper.at_pace(1.25).synthesize(LINE).duration_s, rel=0.01)
    assert slower.duration_s > 1.05 * normal.duration_s
    heard = load_whisper(load_settings()).transcribe_pcm(*normal.pcm)
    assert _recall(LINE, heard.text) >= 0.9, heard.text


def test_a_spoken_turn_with_both_on_servers(settings: Settings, new_gym, own_server: str, piper_server: str,
                                           speech_key: None, rep_voice: Speaker) -> None:
    served = on_servers(settings, stt=own_server, tts=piper_server, sample_rate=22_050)
    call = new_gym(served).start("happy_incumbent")
    transcript = load_transcriber(served).transcribe_pcm(*rep_voice.synthesize(LINE).pcm)
    turn = speak_turn(call, transcript, speaker_for(call.persona, served))
    audio = list(turn)
    assert call.lines[-2].text == transcript.text and turn.delivery.words == len(transcript.words) > 10
    assert audio and all(a.speech.sample_rate == 22_050 and a.speech.samples.size for a in audio)


def test_bench_voice_on_the_servers(capsys: pytest.CaptureFixture[str], tmp_path: Path, own_server: str,
                                    piper_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLEPLAY_CONFIG", raising=False)
    (tmp_path / ".env").write_text(f"SPEECH_KEY={KEY}\n")
    for key, url in (("STT", own_server), ("TTS", piper_server)):
        monkeypatch.setenv(f"ROLEPLAY_VOICE__{key}__BASE_URL", url)
        monkeypatch.setenv(f"ROLEPLAY_VOICE__{key}__API_KEY_ENV", "SPEECH_KEY")
    monkeypatch.setenv("ROLEPLAY_VOICE__TTS__SAMPLE_RATE", "22050")
    assert main(["bench", "--voice", "--backend", "fake", "--turns", "2", "--stt-backend", "openai",
                 "--tts-backend", "openai", "--json"]) == 0
    voice = json.loads(capsys.readouterr().out)["voice"]
    assert (voice["stt_backend"], voice["tts_backend"]) == ("openai", "openai")
    assert voice["stt"] == f"whisper-1 at {own_server}"
    assert voice["turns"] == 2 and voice["wer"] < 0.3 and voice["tts_first_audio_s_p50"] > 0


# --- delivery without word times ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "speech", "words", "speaking", "pace", "over", "summary"), [
    ("Um, so could we, uh, meet on Tuesday at ten?", (1.0, 4.5), 10, 3.5, 171.4, 1.0,
     "10 words in 3.5 s: 171 words a minute, fast; at least 2 fillers (“um”, “uh”); you started 1.0 s before"),
    ("Fair enough.", (0.5, 1.2), 2, 0.7, None, 1.5, "2 words in 0.7 s: too short to time; no fillers heard; you"),
    ("Hmm... okay then, thanks.", None, 4, None, None, 0.0,
     "4 words: no speech found in the recording to time them; at least 1 filler (“hmm”)."),
    ("", None, 0, 0.0, None, 0.0, "No words heard."),
])
def test_a_reply_without_word_times(text: str, speech, words: int, speaking, pace, over: float,
                                    summary: str) -> None:
    transcript = Transcript(text=text, words=[], duration_s=5.0, words_timed=False, speech=speech)
    reply = transcript_delivery(transcript, prospect=[Interval(start=0.0, end=2.0)])
    assert (reply.words, reply.speaking_s, reply.pace_wpm, reply.talk_over_s, reply.words_timed) == (
        words, speaking, pace, over, False)
    assert reply.summary.startswith(summary) and all(f.at is None for f in reply.fillers)


def test_a_call_sums_the_replies_it_could_time() -> None:
    untimed = transcript_delivery(Transcript(text="Well, okay then.", words=[], duration_s=2.0, words_timed=False))
    timed = transcript_delivery(Transcript(text="a b c d e f", words=[], duration_s=4.0, words_timed=False,
                                           speech=(0.0, 3.0)))
    call = call_delivery([untimed, timed])
    assert (call.spoken, call.rep_talk_s, call.longest_monologue_s, call.pace_wpm) == (2, 3.0, 3.0, 120.0)


def test_stretches_without_word_times_join_into_one_span() -> None:
    parts = [Transcript(text="one two", words=[], duration_s=3.0, words_timed=False, speech=(0.4, 2.5)),
             Transcript(text="", words=[], duration_s=1.0, words_timed=False, speech=None),
             Transcript(text="three", words=[], duration_s=2.0, words_timed=False, speech=(4.1, 5.2))]
    joined = Transcript.joined(parts, 6.0, 0.2)
    assert (joined.text, joined.words_timed, joined.speech, joined.duration_s) == ("one two three", False,
                                                                                 (0.4, 5.2), 6.0)
