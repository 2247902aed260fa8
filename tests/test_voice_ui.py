"""The Practice tab's voice mode, through the app's ``/speak`` endpoint and its parts.

A spoken reply is a WAV file made by Piper (the rep's voice, without its random variation, so the
same every run), sent as the browser's microphone would send it. Whisper writes it down and the
fake prospect answers in Piper's voice; the real browser, microphone and all, is in
``test_browser.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gradio_client import handle_file

from roleplay.call import Gym, Reply
from roleplay.config import SpeechToTextServer, load_settings
from roleplay.judge import DeliveryFacts
from roleplay.measure.voice_bench import edit_distance, normalise
from roleplay.rendering import delivery_line
from roleplay.storage import Delivery
from roleplay.team import delivery_facts
from roleplay.ui import spoken
from roleplay.voice import Speaker, SpokenTurn, Transcript, Word, bundled_voice, reply_delivery, write_wav

from .conftest import CALL_VIEW, PROJECT_ROOT, App, endpoint, free_port
from .test_dashboard import downloaded

pytestmark = pytest.mark.timeout(240)

PERSONA = "happy_incumbent"
LINE = "Totally fair. What made Fleetly the right choice for you originally?"
#: What ``/speak`` returns, by name (``VoicePanel.wire``'s outputs; the API drops the State).
VOICE_VIEW = ("chat", "status", "scores", "msg", "timer", "mic", "prospect_audio", "skip")


@pytest.fixture(scope="module")
def rep_voice() -> Speaker:
    """The rep's voice: the same audio for the same text, every run."""
    return Speaker(bundled_voice(load_settings().model_cache_dir), varied=False)


def _wav(path: Path, rate: int, samples: np.ndarray) -> Path:
    write_wav(path, rate, samples)
    return path


@pytest.fixture(scope="module")
def said(tmp_path_factory: pytest.TempPathFactory, rep_voice: Speaker) -> Path:
    """``LINE`` spoken, as a WAV file, with a little silence either side as a recording has."""
    speech = rep_voice.synthesize(LINE)
    pad = np.zeros(int(0.3 * speech.sample_rate), np.int16)
    return _wav(tmp_path_factory.mktemp("voice") / "line.wav", speech.sample_rate,
                np.concatenate([pad, speech.samples, pad]))


@pytest.fixture(scope="module")
def silence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _wav(tmp_path_factory.mktemp("voice") / "silence.wav", 16_000, np.zeros(24_000, np.int16))


def speak(client: Any, wav: Path | None, exam: bool = False, keep: bool = False) -> dict[str, Any]:
    """A spoken reply through ``/speak``; ``keep``: the game film box ticked."""
    return endpoint(client, "/speak", VOICE_VIEW, handle_file(str(wav)) if wav else None, exam, keep)


def lines(chat: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], "".join(part.get("text", "") for part in m["content"])) for m in chat]


def recall(reference: str, heard: str) -> float:
    """The share of ``reference``'s words heard (1 minus the word error rate, at best 1)."""
    words = normalise(reference)
    return 1 - edit_distance(words, normalise(heard)) / len(words)


def cards(scores: str) -> list[str]:
    return re.split(r'(?=<div class="rp-card)', scores)[1:]


def test_a_spoken_reply_is_the_reps_line_graded_with_its_delivery_and_survives_a_restart(
        serve: Callable[..., App], new_gym: Callable[..., Gym], said: Path) -> None:
    app = serve()
    client = app.client()
    endpoint(client, "/start", CALL_VIEW, PERSONA, False)

    out = speak(client, said)
    (opening, rep, prospect) = lines(out["chat"])
    assert rep[0] == "user" and recall(LINE, rep[1]) >= 0.8, rep
    assert opening[0] == prospect[0] == "assistant" and prospect[1]
    assert "Delivery" in out["scores"] and "words a minute" in out["scores"]
    assert out["mic"]["value"] is None and out["mic"]["interactive"] is True  # ready for the next reply
    session_id = app.session_id()
    (turn_id,) = app.gym.store.deliveries_for(session_id)
    kept = app.gym.store.deliveries_for(session_id)[turn_id]
    assert [t.text for t in app.turns(session_id) if t.id == turn_id] == [rep[1]]
    assert kept.figures["words"] == len(rep[1].split()) and kept.prospect_s > 0
    assert kept.summary in out["scores"].replace("&#x27;", "'")

    # a new process over the same database: the delivery is shown with the reply, in exports and the report
    reopened = serve(new_gym()).client()
    review = endpoint(reopened, "/review", CALL_VIEW, session_id)
    assert "Delivery" in review["scores"] and f"{kept.figures['words']} words in" in review["scores"]
    markdown = downloaded(reopened.predict(api_name="/export_md"))
    assert f"- *delivery*: {kept.figures['words']} words in" in markdown
    exported = json.loads(downloaded(reopened.predict(api_name="/export_json")))
    spoken_turn = next(t for t in exported["turns"] if t["delivery"])
    assert spoken_turn["reply"] == 1 and spoken_turn["delivery"]["prospect_s"] == kept.prospect_s
    report = endpoint(reopened, "/end", CALL_VIEW)["report"]["value"]
    assert "**Delivery** (1 spoken reply):" in report
    assert app.gym.store.get_session(session_id).report["delivery"]["spoken"] == 1


def test_nothing_heard_says_so_and_stores_nothing(serve: Callable[..., App], silence: Path) -> None:
    app = serve()
    client = app.client()
    endpoint(client, "/start", CALL_VIEW, PERSONA, False)

    out = speak(client, silence)
    assert "No words were heard" in out["status"] and out["mic"] is None
    assert out["chat"] == {"__type__": "update"}  # left as it was
    out = speak(client, None)
    assert "Nothing was recorded" in out["status"]
    session_id = app.session_id()
    assert [t.speaker for t in app.turns(session_id)] == ["prospect"]
    assert app.gym.store.deliveries_for(session_id) == {}
    # the call goes on
    typed = endpoint(client, "/send", CALL_VIEW, "How do you plan routes today?", False)
    assert lines(typed["chat"])[1] == ("user", "How do you plan routes today?")


def test_a_speech_server_that_cannot_be_reached_says_so_and_stores_nothing(
        settings, new_gym: Callable[..., Gym], serve: Callable[..., App], said: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEECH_KEY", "sk-test")
    closed = f"http://127.0.0.1:{free_port()}/v1"
    stt = SpeechToTextServer(backend="openai", base_url=closed, api_key_env="SPEECH_KEY")
    app = serve(new_gym(settings.model_copy(update={"voice": settings.voice.model_copy(update={"stt": stt})})))
    client = app.client()
    endpoint(client, "/start", CALL_VIEW, PERSONA, False)

    out = speak(client, said)
    assert f"speech-to-text server at {closed} could not be reached" in out["status"], out["status"]
    assert "correct voice.stt.base_url" in out["status"] and out["mic"] is None
    assert [t.speaker for t in app.turns(app.session_id())] == ["prospect"]


def test_a_call_switches_between_typing_and_speaking(serve: Callable[..., App], said: Path) -> None:
    app = serve()
    client = app.client()
    endpoint(client, "/start", CALL_VIEW, PERSONA, False)
    first, last = "Hi Dana, is now a bad time?", "How do your dispatchers handle late changes?"

    endpoint(client, "/send", CALL_VIEW, first, False)
    speak(client, said)
    out = endpoint(client, "/send", CALL_VIEW, last, False)

    session_id = app.session_id()
    reps = [t for t in app.turns(session_id) if t.speaker == "rep"]
    assert [t.text for t in (reps[0], reps[2])] == [first, last] and recall(LINE, reps[1].text) >= 0.8
    assert list(app.gym.store.deliveries_for(session_id)) == [reps[1].id]
    shown = cards(out["scores"])
    assert ["Delivery" in card for card in shown] == [False, True, False]


def test_words_too_long_to_send_are_kept_in_the_text_box(settings, new_gym: Callable[..., Gym],
                                                         serve: Callable[..., App], said: Path) -> None:
    app = serve(new_gym(settings.model_copy(update={"max_message_chars": 20})))
    client = app.client()
    endpoint(client, "/start", CALL_VIEW, PERSONA, False)

    out = speak(client, said)
    assert "the limit is 20" in out["status"] and recall(LINE, out["msg"]) >= 0.8
    assert [t.speaker for t in app.turns(app.session_id())] == ["prospect"]


def test_a_hang_up_after_a_spoken_push_closes_the_microphone(serve: Callable[..., App], rep_voice: Speaker,
                                                              tmp_path: Path) -> None:
    app = serve()
    client = app.client()
    endpoint(client, "/start", CALL_VIEW, PERSONA, False)
    for push in ["Could we book 20 minutes next Tuesday?", "Just fifteen minutes, Thursday?",
                 "How about Friday at 2pm?"]:
        endpoint(client, "/send", CALL_VIEW, push, False)
    speech = rep_voice.synthesize("What about Monday at ten?")

    out = speak(client, _wav(tmp_path / "push.wav", speech.sample_rate, speech.samples))
    assert "hung up" in out["status"] and out["mic"]["interactive"] is False
    assert lines(out["chat"])[-1] == ("assistant", app.gym.personas[PERSONA].hang_up.line)


def test_a_manager_cannot_speak_in_a_reps_call(team_app: App, said: Path) -> None:
    ana = team_app.signed_in("ana")
    endpoint(ana, "/start", CALL_VIEW, PERSONA, False)
    session_id = team_app.session_id()
    mia = team_app.signed_in("mia")
    endpoint(mia, "/review", CALL_VIEW, session_id)
    with pytest.raises(Exception, match="not take part|another rep's call"):
        speak(mia, said)
    assert [t.speaker for t in team_app.turns(session_id)] == ["prospect"]


# --- the parts: the answer as it streams, the clock, the report's line, FFmpeg ------------------------

def _heard(text: str) -> Transcript:
    """A transcript of ``text`` said at 150 words a minute, from 0.2 s into the recording."""
    words = [Word(text=w, start=round(0.2 + 0.4 * i, 3), end=round(0.55 + 0.4 * i, 3))
             for i, w in enumerate(text.split())]
    return Transcript(text=text, words=words, duration_s=words[-1].end + 0.3)


def test_a_hang_up_is_heard_its_line_then_the_tone(gym: Gym, rep_voice: Speaker) -> None:
    call = gym.start(PERSONA)
    for push in ["Could we book 20 minutes next Tuesday?", "Just fifteen minutes, Thursday?",
                 "How about Friday at 2pm?"]:
        call.say(push)
    clock = spoken.VoiceClock(call.id)
    turn = spoken.send(call, _heard("What about Monday at 10?"), rep_voice, clock)
    updates = list(spoken.answer(call, turn, clock))

    assert call.over and call.ended_by == "prospect"
    audio = [u.audio for u in updates if u.audio is not None]
    assert all(len(samples) <= spoken.PIECE_S * rate for rate, samples in audio)  # streamed in short pieces
    tone = spoken.hang_up_tone(rep_voice.sample_rate)
    pieces = -(-len(tone) // int(spoken.PIECE_S * rep_voice.sample_rate))
    assert np.array_equal(np.concatenate([samples for _, samples in audio[-pieces:]]), tone)
    last = updates[-1]
    assert last.last and last.text == call.persona.hang_up.line and last.voice_fault is None
    tone_s = len(tone) / rep_voice.sample_rate
    assert last.spoken_s == pytest.approx(sum(end - start for start, end in clock.prospect) - tone_s, abs=0.01)
    spoken.keep_delivery(call, turn, last.spoken_s)
    assert gym.store.deliveries_for(call.id)[call.last_turn.rep_turn_id].prospect_s == last.spoken_s


def test_words_replaced_after_they_were_spoken_start_the_audio_over(gym: Gym, rep_voice: Speaker) -> None:
    call = gym.start(PERSONA)  # only for its id; the turn below is scripted
    snapshots = ["Sure, let's book it. ", "Sure, let's book it. Tuesday?", "We're happy with Fleetly."]
    turn = SpokenTurn(_heard("Hello there"), reply_delivery([]), rep_voice, Reply("Hello there", iter(snapshots)))
    updates = list(spoken.answer(call, turn, spoken.VoiceClock(call.id)))

    over = next(i for i, u in enumerate(updates) if u.starts_over_at is not None)
    sent = [u.audio for u in updates[:over] if u.audio is not None]
    assert sent and updates[over].audio is None and updates[over + 1].audio is not None
    # where the new audio begins in the stream: after everything sent before it
    assert updates[over].starts_over_at == pytest.approx(sum(len(s) / rate for rate, s in sent), abs=0.001)
    assert updates[-1].text == "We're happy with Fleetly."


def test_the_words_show_as_they_grow_between_sentences(gym: Gym, rep_voice: Speaker) -> None:
    def slowly() -> Any:
        for snapshot in ["Dana ", "Dana here. ", "Dana here. We are", "Dana here. We are fine."]:
            time.sleep(0.15)
            yield snapshot

    call = gym.start(PERSONA)
    turn = SpokenTurn(_heard("Hello there"), reply_delivery([]), rep_voice, Reply("Hello there", slowly()))
    texts = [u.text for u in spoken.answer(call, turn, spoken.VoiceClock(call.id)) if u.audio is None]
    assert "Dana " in texts and "Dana here. We are" in texts


def test_talking_over_the_prospect_is_measured_on_the_clock(gym: Gym, rep_voice: Speaker) -> None:
    call = gym.start(PERSONA)
    clock = spoken.VoiceClock(call.id)
    clock.played(30.0)  # the prospect is still speaking for half a minute
    turn = spoken.send(call, _heard("Sorry to cut in, what made Fleetly the right fit?"), rep_voice, clock)
    assert turn.delivery.talk_over_s > 20 and "before the prospect had finished" in turn.delivery.summary
    list(turn)


def test_the_clock_queues_the_prospects_voice_after_what_is_playing() -> None:
    clock = spoken.VoiceClock("s")
    clock.played(2.0)
    clock.played(1.5)
    (first_start, first_end), (second_start, second_end) = clock.prospect
    assert first_end - first_start == pytest.approx(2.0) and second_start == first_end
    assert second_end == pytest.approx(first_end + 1.5)
    assert clock.of("s") is clock and clock.of("t").prospect == []
    clock.cut()  # the voice starts over: what was still to play of it is dropped
    assert clock.prospect == [(first_start, pytest.approx(clock.now(), abs=0.05))]


def test_a_calls_delivery_for_its_report_and_the_line_that_states_it() -> None:
    def kept(turn_id: int, text: str, prospect_s: float) -> Delivery:
        return Delivery(turn_id=turn_id, figures=reply_delivery(_heard(text).words).model_dump(mode="json"),
                        prospect_s=prospect_s)

    assert delivery_facts([]) is None
    facts = delivery_facts([kept(1, "um what made Fleetly the right fit for you back then", 4.0),
                            kept(2, "and how do your dispatchers handle late changes today", 6.0)])
    assert facts.spoken == 2 and facts.prospect_talk_s == 10.0 and facts.talk_overs == 0
    assert facts.pace_wpm == pytest.approx(150, abs=15) and facts.fillers_per_min > 0
    line = delivery_line(facts)
    assert line.startswith("**Delivery** (2 spoken replies): ") and "words a minute on average" in line
    assert "fillers a minute" in line and "of the talking" in line and "longest monologue" in line
    quiet = DeliveryFacts(spoken=1, rep_talk_s=1.0, prospect_talk_s=0.0, rep_share=1.0, longest_monologue_s=1.0,
                          pace_wpm=None, fillers_per_min=0.0, talk_overs=2)
    assert "no fillers heard" in delivery_line(quiet) and "finished twice" in delivery_line(quiet)


def test_ffmpeg_is_put_on_path_from_its_package_when_there_is_none(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    spoken.ensure_ffmpeg(tmp_path / "cache")
    found = shutil.which("ffmpeg")
    assert found == str(tmp_path / "cache" / "bin" / "ffmpeg")
    version = subprocess.run([found, "-version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("ffmpeg version")


def test_a_rep_who_only_types_loads_nothing_of_voice(tmp_path: Path) -> None:
    """A whole typed call, in a fresh process: no speech model, voice or audio library is imported."""
    script = textwrap.dedent(f"""
        import sys
        from roleplay.call import Gym
        from roleplay.config import Role, load_settings
        from roleplay.backends.fakes import fake_model_for
        from roleplay.ui.app import build_app
        settings = load_settings(backend="fake", database_url="sqlite:///{tmp_path}/t.db", data_dir="{tmp_path}")
        gym = Gym(settings, models={{role: fake_model_for(role) for role in Role}})
        build_app(gym)
        call = gym.start("{PERSONA}")
        call.say("What made Fleetly the right fit for you?")
        call.end(grade_timeout=30)
        gym.close()
        heavy = {{"faster_whisper", "ctranslate2", "piper", "onnxruntime", "av", "roleplay.voice"}}
        print(sorted(name for name in sys.modules if name in heavy))
    """)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
