"""Practising out loud: models verified, speech written down and spoken, delivery measured, a
spoken turn through the call, and ``roleplay bench --voice``.

The Whisper and Piper models load once for the whole session. The rep's audio is made by Piper
without its random variation, so each test hears the same audio every run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from roleplay.call import Reply
from roleplay.cli import main
from roleplay.config import load_settings
from roleplay.measure.voice_bench import edit_distance, normalise, word_error_rate
from roleplay.voice import (
    JOE_VOICE,
    Interval,
    NothingHeard,
    Speaker,
    SpokenTurn,
    Transcriber,
    Transcript,
    VoiceModel,
    VoiceModelError,
    Word,
    bundled_voice,
    call_delivery,
    ensure_voice_model,
    for_whisper,
    load_transcriber,
    reply_delivery,
    speak_turn,
    speakable_chunks,
)
from roleplay.voice.audio import resample
from roleplay.voice.models import ModelFile, Source


@pytest.fixture(scope="session")
def transcriber() -> Transcriber:
    return load_transcriber(load_settings())


@pytest.fixture(scope="session")
def rep_voice() -> Speaker:
    """The rep's voice for fixtures: the same audio for the same text, every run."""
    return Speaker(bundled_voice(load_settings().model_cache_dir), varied=False)


def _recall(reference: str, heard: str) -> float:
    ref = normalise(reference)
    return 1 - edit_distance(ref, normalise(heard)) / len(ref)


# --- models: assembled from installed packages, checked by size and sha256 -----------------------

@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable package holding a copy of the joe voice's config, split in two parts."""
    root = tmp_path / "site"
    data = root / "voicetest_parts" / "data"
    data.mkdir(parents=True)
    (root / "voicetest_parts" / "__init__.py").write_text("")
    real = bundled_voice(load_settings().model_cache_dir).with_suffix(".onnx.json").read_bytes()
    (data / "a.part").write_bytes(real[:1000])
    (data / "b.part").write_bytes(real[1000:])
    monkeypatch.syspath_prepend(str(root))
    return data


def _model(sha256: str, size: int = 4_794, package: str = "voicetest_parts") -> VoiceModel:
    parts = tuple(Source("voicetest-parts==1.0", package, f"data/{p}") for p in ("a.part", "b.part"))
    return VoiceModel("test-voice", "test voice", (ModelFile("voice.onnx.json", parts, size, sha256),))


def test_a_model_is_joined_from_its_parts_and_verified(package: Path, tmp_path: Path) -> None:
    expected = JOE_VOICE.files[1]
    directory = ensure_voice_model(_model(expected.sha256), tmp_path / "cache")
    assert (directory / "voice.onnx.json").read_bytes() == (package / "a.part").read_bytes() + (
        package / "b.part").read_bytes()
    # verified once: a later call trusts the stamp and does not read the parts again
    (package / "a.part").write_bytes(b"changed")
    assert ensure_voice_model(_model(expected.sha256), tmp_path / "cache") == directory


def test_a_wrong_hash_is_refused_with_the_package_to_reinstall(package: Path, tmp_path: Path) -> None:
    damaged = bytearray((package / "b.part").read_bytes())
    damaged[10] ^= 0xFF
    (package / "b.part").write_bytes(bytes(damaged))
    with pytest.raises(VoiceModelError) as err:
        ensure_voice_model(_model(JOE_VOICE.files[1].sha256), tmp_path / "cache")
    assert "sha256" in str(err.value) and "pip install --force-reinstall voicetest-parts==1.0" in str(err.value)
    assert not (tmp_path / "cache" / "models" / "test-voice" / "voice.onnx.json").exists()


def test_a_missing_package_names_the_fix(tmp_path: Path) -> None:
    fix = r"package voicetest-parts is not installed; fix: pip install -e '\.\[voice\]'"
    with pytest.raises(VoiceModelError, match=fix):
        ensure_voice_model(_model("0" * 64, package="voicetest_not_there"), tmp_path / "cache")


def test_the_voice_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROLEPLAY_VOICE__STT_MODEL", "base")
    monkeypatch.setenv("ROLEPLAY_VOICE__LENGTH_SCALE", "1.2")
    voice = load_settings().voice
    assert (voice.stt_model, voice.length_scale, voice.tts_voice) == ("base", 1.2, None)


# --- speech to text and back ----------------------------------------------------------------------

LINES = [
    "Could we book twenty minutes next week to talk about how your routes are planned?",
    "What happens to your drivers' overtime when a big order lands on Friday afternoon?",
]


@pytest.mark.parametrize("line", LINES)
def test_what_piper_says_whisper_writes_down(line: str, rep_voice: Speaker, transcriber: Transcriber) -> None:
    speech = rep_voice.synthesize(line)
    heard = transcriber.transcribe_pcm(*speech.pcm)
    assert _recall(line, heard.text) >= 0.9, heard.text
    assert heard.duration_s == pytest.approx(speech.duration_s, abs=0.01)
    assert heard.words and all(w.start <= w.end <= heard.duration_s + 0.05 for w in heard.words)
    assert [w.start for w in heard.words] == sorted(w.start for w in heard.words)


def test_audio_as_a_browser_records_it_is_heard_the_same(rep_voice: Speaker, transcriber: Transcriber) -> None:
    """48 kHz stereo int16, as Gradio's microphone gives it."""
    speech = rep_voice.synthesize(LINES[0])
    mono = resample(for_whisper(*speech.pcm), 16_000, 48_000)
    stereo = (np.stack([mono, mono], axis=1) * 32767).astype(np.int16)
    heard = transcriber.transcribe_pcm(48_000, stereo)
    assert _recall(LINES[0], heard.text) >= 0.9, heard.text


def test_a_listener_writes_down_a_reply_fed_in_pieces(rep_voice: Speaker, transcriber: Transcriber) -> None:
    rate = rep_voice.sample_rate
    first, second = (rep_voice.synthesize(line).samples for line in LINES)
    audio = np.concatenate([first, np.zeros(rate // 2, np.int16), second])
    listener = transcriber.listen()
    for k in range(0, len(audio), rate // 10):
        listener.feed(rate, audio[k:k + rate // 10])
        time.sleep(0.01)
    heard = listener.finish()
    assert _recall(" ".join(LINES), heard.text) >= 0.9, heard.text
    assert heard.duration_s == pytest.approx(len(audio) / rate, abs=0.01)
    assert heard.words[-1].end > len(first) / rate  # the second line's words are on the reply's clock
    with pytest.raises(RuntimeError, match="finished"):
        listener.feed(rate, audio[:100])


def test_silence_is_heard_as_nothing(transcriber: Transcriber) -> None:
    heard = transcriber.transcribe(np.zeros(16_000, np.float32))
    assert heard.text == "" and heard.words == []


# --- text to speech: what is spoken when ---------------------------------------------------------

@pytest.mark.parametrize(("text", "chunks"), [
    ("Look, honestly, we are happy with Fleetly right now. Why would I change?",
     ["Look, honestly, we are happy with Fleetly right now.", "Why would I change?"]),
    ("I have a meeting in five minutes, so make it quick. What is it?",
     ["I have a meeting in five minutes,", "so make it quick.", "What is it?"]),
    ("Mr. Smith signed in 2023 at 3.5 percent. Call me in March",
     ["Mr. Smith signed in 2023 at 3.5 percent.", "Call me in March"]),
    ("Sure, but, honestly, we're happy where we are, and the renewal, which is in March, is settled.",
     ["Sure, but, honestly, we're happy where we are,", "and the renewal, which is in March, is settled."]),
    ("...", []),
])
def test_streamed_text_is_cut_where_speech_can_pause(text: str, chunks: list[str]) -> None:
    """Fed word by word as a model streams: the first clause as soon as it has four words, then sentences."""
    pieces = [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))]
    assert list(speakable_chunks(pieces)) == chunks


def test_the_speaker_gives_audio_at_its_voice_rate_and_pace(rep_voice: Speaker) -> None:
    slow = Speaker(rep_voice.voice_path, length_scale=1.5, varied=False)
    normal, slower = rep_voice.synthesize(LINES[0]), slow.synthesize(LINES[0])
    assert normal.sample_rate == 22_050 and normal.samples.dtype == np.int16
    assert slower.duration_s > 1.25 * normal.duration_s  # length_scale 1.5 stretches the phonemes, not the edges
    assert [s.text for s in rep_voice.stream(["Fair question. ", "We use Fleetly."])] == [
        "Fair question.", "We use Fleetly."]


def test_a_missing_voice_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="Piper voice .* not found; fix: set voice.tts_voice"):
        Speaker(tmp_path / "nobody.onnx")


# --- delivery: exact figures from word times, then as heard ---------------------------------------

def _words(*spec: tuple[str, float, float]) -> list[Word]:
    return [Word(text=t, start=s, end=e) for t, s, e in spec]


def test_pace_fillers_and_talking_over_from_exact_word_times() -> None:
    # 12 words from 0.5 s to 5.3 s: 12 / 4.8 s = 150 words a minute
    texts = ["Um,", "could", "we", "like", "book", "a", "call,", "uh,", "next", "week", "maybe?", "Erm."]
    words = [Word(text=t, start=0.5 + 0.4 * i, end=0.5 + 0.4 * i + 0.4) for i, t in enumerate(texts)]
    prospect = [Interval(start=0.0, end=5.0)]
    reply = reply_delivery(words, offset_s=4.0, prospect=prospect)
    assert reply.words == 12 and reply.speaking_s == pytest.approx(4.8)
    assert reply.pace_wpm == 150.0
    assert [(f.word, f.at) for f in reply.fillers] == [("um", 4.5), ("uh", 7.3), ("erm", 8.9)]  # not "like"
    assert reply.talk_over_s == pytest.approx(0.5)  # started at 4.5 s, the prospect spoke until 5.0 s
    assert reply.summary == ("12 words in 4.8 s: 150 words a minute, a conversational pace; "
                             "at least 3 fillers (“um”, “uh”, “erm”); "
                             "you started 0.5 s before the prospect had finished.")


@pytest.mark.parametrize(("words", "pace", "summary"), [
    (_words(("Sure.", 0.0, 0.4)), None, "1 word in 0.4 s: too short to time; no fillers heard."),
    (_words(*[(f"w{i}", i * 0.5, i * 0.5 + 0.5) for i in range(10)]), 120.0,
     "10 words in 5.0 s: 120 words a minute, a conversational pace; no fillers heard."),
    (_words(*[(f"w{i}", i * 0.6, i * 0.6 + 0.6) for i in range(10)]), 100.0,
     "10 words in 6.0 s: 100 words a minute, slow; no fillers heard."),
    (_words(*[(f"w{i}", i * 0.3, i * 0.3 + 0.3) for i in range(10)]), 200.0,
     "10 words in 3.0 s: 200 words a minute, fast; no fillers heard."),
    ([], None, "No words heard."),
])
def test_pace_bands(words: list[Word], pace: float | None, summary: str) -> None:
    reply = reply_delivery(words)
    assert (reply.pace_wpm, reply.summary) == (pace, summary)


def test_a_calls_talk_time_share_and_longest_monologue() -> None:
    first = reply_delivery(_words(*[(f"w{i}", i * 0.5, i * 0.5 + 0.5) for i in range(10)]))  # 5 s
    second = reply_delivery(_words(("Um", 0.0, 0.5), ("right.", 0.5, 1.0)), offset_s=20.0,
                            prospect=[Interval(start=19.0, end=20.5)])  # 1 s, over by 0.5 s
    call = call_delivery([first, second], prospect=[Interval(start=6.0, end=15.0), Interval(start=19.0, end=20.5)])
    assert (call.rep_talk_s, call.prospect_talk_s, call.longest_monologue_s) == (6.0, 10.5, 5.0)
    assert call.rep_share == pytest.approx(6.0 / 16.5, abs=0.001)
    assert (call.talk_overs, call.fillers_per_min, call.pace_wpm) == (1, 10.0, 120.0)


def _speech_span(samples: np.ndarray, rate: int) -> float:
    """Seconds from the first to the last sample louder than 2% of full scale."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 0.02 * 32767)
    return (loud[-1] - loud[0]) / rate


def test_fillers_are_heard_and_pace_is_measured_in_piper_speech(rep_voice: Speaker,
                                                                transcriber: Transcriber) -> None:
    """Piper at length_scale 1.5 says 14 words with three fillers: Whisper hears at least two of
    them (it leaves out some: the count is a floor), and the pace from its word times is within
    15% of the words over the audio's own speech span."""
    text = "Um, I was wondering, um, whether you have, uh, ten minutes later this week."
    speech = Speaker(rep_voice.voice_path, length_scale=1.5, varied=False).synthesize(text)
    heard = transcriber.transcribe_pcm(*speech.pcm)
    reply = reply_delivery(heard.words)
    assert len(reply.fillers) >= 2, heard.text
    true_pace = len(text.split()) / _speech_span(speech.samples, speech.sample_rate) * 60
    assert reply.pace_wpm == pytest.approx(true_pace, rel=0.15), (heard.text, true_pace)
    clean = reply_delivery(transcriber.transcribe_pcm(*rep_voice.synthesize(LINES[0]).pcm).words)
    assert clean.fillers == []


# --- a spoken turn through the call ---------------------------------------------------------------

def test_a_spoken_turn_goes_through_the_call_and_comes_back_as_audio(gym, rep_voice: Speaker) -> None:
    call = gym.start("happy_incumbent")
    said = "What made Fleetly the right choice for you originally?"
    transcript = Transcript(text=said, words=[Word(text=w, start=i * 0.3, end=i * 0.3 + 0.3)
                                              for i, w in enumerate(said.split())], duration_s=3.0)
    turn = speak_turn(call, transcript, rep_voice)
    audio = list(turn)
    assert turn.message == said and call.lines[-2].text == said  # stored as a typed reply would be
    assert audio and all(a.speech.samples.size for a in audio) and not any(a.starts_over for a in audio)
    assert normalise(" ".join(a.speech.text for a in audio)) == normalise(call.last_turn.text)
    assert turn.first_audio_s is not None and turn.delivery.words == len(said.split())


def test_nothing_heard_is_not_sent(gym, rep_voice: Speaker) -> None:
    call = gym.start("happy_incumbent")
    with pytest.raises(NothingHeard, match="No words were heard"):
        speak_turn(call, Transcript(text="", words=[], duration_s=2.0), rep_voice)
    assert [line.speaker for line in call.lines] == ["prospect"]


def _turn(snapshots: list[str], speaker: Speaker) -> SpokenTurn:
    delivery = reply_delivery([])
    return SpokenTurn(Transcript(text="hi", words=[], duration_s=1.0), delivery, speaker,
                      Reply("hi", iter(snapshots)))


def test_a_retried_model_starts_the_audio_over(rep_voice: Speaker) -> None:
    audio = list(_turn(["Hello there. ", "Hello there. We are", "", "Fine.", "Fine. Thanks for calling.",
                        "Fine. Thanks for calling."], rep_voice))
    assert [(a.speech.text, a.starts_over) for a in audio] == [
        ("Hello there.", False), ("Fine.", True), ("Thanks for calling.", False)]


def test_kept_words_that_only_tidy_the_stream_are_not_spoken_twice(rep_voice: Speaker) -> None:
    audio = list(_turn(["Dana here. ", "Dana here. We're fine, thanks", "Dana here. We're fine, thanks."], rep_voice))
    assert [(a.speech.text, a.starts_over) for a in audio] == [("Dana here.", False),
                                                                ("We're fine, thanks.", False)]


def test_a_replaced_line_is_spoken_from_its_start(rep_voice: Speaker) -> None:
    audio = list(_turn(["Sure, let's book it. ", "Sure, let's book it. Tuesday?", "We're happy with Fleetly."],
                       rep_voice))
    assert [(a.speech.text, a.starts_over) for a in audio] == [
        ("Sure, let's book it.", False), ("We're happy with Fleetly.", True)]


# --- word error rate and the bench ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "words"), [
    ("Could we book twenty-one minutes?", ["could", "we", "book", "21", "minutes"]),
    ("On-time deliveries, drivers' overtime", ["on", "time", "deliveries", "drivers", "overtime"]),
    ("It's 20 minutes", ["it's", "20", "minutes"]),
])
def test_words_are_compared_without_case_punctuation_or_number_spelling(text: str, words: list[str]) -> None:
    assert normalise(text) == words


def test_word_error_rate_counts_substitutions_deletions_and_insertions() -> None:
    assert edit_distance(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert word_error_rate(["Could we book twenty minutes", "I hear you"],
                           ["could we book 20 minutes", "I hear hear you"]) == pytest.approx(1 / 8)


def test_bench_voice_prints_the_contracts_json(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLEPLAY_CONFIG", raising=False)
    assert main(["bench", "--voice", "--backend", "fake", "--turns", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    voice = out["voice"]
    assert {"turns", "speech_end_to_audio_p50", "speech_end_to_audio_p95", "stt_s_p50", "tts_first_audio_s_p50",
            "wer"} <= set(voice)
    assert voice["turns"] == 2 and 0 <= voice["wer"] < 0.5
    assert all(isinstance(voice[k], float) and voice[k] > 0 for k in (
        "speech_end_to_audio_p50", "speech_end_to_audio_p95", "stt_s_p50", "tts_first_audio_s_p50"))
    assert [t["turn"] for t in voice["per_turn"]] == [1, 2]


def test_bench_options_for_voice_only_go_with_voice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--backend", "fake"]) == 2
    assert "go with --voice" in capsys.readouterr().err


def test_the_models_command_assembles_the_voice_models(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROLEPLAY_MODEL_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["model", "--voice"]) == 0
    out = capsys.readouterr().out
    assert out.count("(sha256 verified)") == 3
    assert (tmp_path / "cache" / "models" / "whisper-base" / "model.bin").stat().st_size == 145_217_532
