# The fixtures of test_storage and test_voice_ui are imported, and taken by name as arguments.
# ruff: noqa: F401, F811
"""Game film: a voice call's audio kept only with the rep's consent, replayed with the call, gone
with it; deleting a session (store, app, command line); delivery over calls in the Progress tab.

The storage tests run on SQLite and PostgreSQL (``test_storage``'s fixtures). The app's tests send
a spoken reply made by Piper through ``/speak`` (``test_voice_ui``'s fixtures); Whisper writes it
down and the fake prospect answers in Piper's voice.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from gradio_client.exceptions import AppError
from sqlalchemy import func, select

from roleplay import cli
from roleplay.call import Gym
from roleplay.storage import Store
from roleplay.storage.tables import metadata
from roleplay.voice import encode_opus, read_wav

from .conftest import CALL_VIEW, App, endpoint
from .test_progress import figures
from .test_storage import a_grade, new_session
from .test_voice_ui import PERSONA, rep_voice, said, speak

pytestmark = pytest.mark.timeout(240)

AUDIO_SUFFIXES = {".wav", ".mp3", ".ogg", ".opus", ".webm", ".aac", ".ts", ".m4a"}


def tone(seconds: float, rate: int = 22_050) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * rate)) / rate) * 32767).astype(np.int16)


def decoded_seconds(audio: bytes) -> float:
    with av.open(io.BytesIO(audio)) as container:
        return sum(frame.samples / frame.sample_rate for frame in container.decode(audio=0))


def rows_of_session(store: Store, session_id: str) -> dict[str, int]:
    """How many rows of each table with a ``session_id`` belong to ``session_id``."""
    with store.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t).where(t.c.session_id == session_id))
                .scalar_one() for t in metadata.sorted_tables if "session_id" in t.c}


# --- Storage -----------------------------------------------------------------------------------------

def test_a_calls_audio_is_kept_only_with_consent_and_goes_when_it_is_withdrawn(store: Store) -> None:
    session_id = new_session(store)
    reply = store.add_turn(session_id, "rep", "What made Fleetly the right fit?")
    answer = store.add_turn(session_id, "prospect", "They were cheap.")
    audio = encode_opus(22_050, tone(1.5))

    assert store.keeps_film(session_id) is False
    assert store.add_recording(session_id, reply, audio, 1.5) is False  # no consent: nothing written
    assert store.recordings_for(session_id) == {}

    store.set_film(session_id, True)
    store.set_film(session_id, True)  # twice is once
    assert store.keeps_film(session_id) is True
    assert store.add_recording(session_id, reply, audio, 1.5) is True
    assert store.add_recording(session_id, reply, b"other", 9.0) is False  # a turn keeps its first
    assert store.add_recording(session_id, answer, encode_opus(16_000, tone(0.7, 16_000)), 0.7) is True

    kept = store.recordings_for(session_id)
    assert list(kept) == [reply, answer]
    assert kept[reply].audio == audio and kept[reply].mime == "audio/ogg" and kept[reply].seconds == 1.5
    assert audio[:4] == b"OggS" and decoded_seconds(kept[reply].audio) == pytest.approx(1.5, abs=0.03)
    assert len(audio) < 1.5 * 6000  # compressed: a few kB a second

    assert store.set_film(session_id, False) == 2
    assert store.keeps_film(session_id) is False and store.recordings_for(session_id) == {}
    assert store.add_recording(session_id, reply, audio, 1.5) is False


def test_deleting_a_session_deletes_everything_of_it_and_nothing_else(store: Store) -> None:
    gone, other = new_session(store), new_session(store)
    retake = new_session(store)
    for session_id in (gone, other):
        reply = store.add_turn(session_id, "rep", "What made Fleetly the right fit?")
        answer = store.add_turn(session_id, "prospect", "They were cheap.")
        store.add_grade(session_id, reply, a_grade())
        store.add_delivery(session_id, reply, figures(7, 2.8), prospect_s=1.2)
        store.set_film(session_id, True)
        for turn in (reply, answer):
            store.add_recording(session_id, turn, encode_opus(16_000, tone(0.3, 16_000)), 0.3)
        store.save_report(session_id, {"summary": "ok"})
    store.add_attempt(retake, gone, 1)
    kept_before = rows_of_session(store, other)

    deleted = store.delete_session(gone)
    assert deleted == {"recordings": 2, "film_consents": 1, "deliveries": 1, "reports": 1, "grades": 1,
                       "attempts": 1, "turns": 2, "sessions": 1}
    assert set(rows_of_session(store, gone).values()) == {0} and store.get_session(gone) is None
    assert rows_of_session(store, other) == kept_before and store.recordings_for(other)
    assert store.get_session(retake).attempt_of is None  # the retake stays, a call of its own
    assert store.delete_session(gone) is None


# --- The command line --------------------------------------------------------------------------------

class _Terminal:
    """A terminal on stdin whose user answers ``answer``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.answer + "\n"


def test_sessions_delete_says_what_goes_asks_and_is_audited(gym: Gym, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ROLEPLAY_DATABASE_URL", gym.settings.db_url)
    call = gym.start(PERSONA, owner="ana")
    call.say("What made Fleetly the right fit for you?")
    gym.store.set_film(call.id, True)
    gym.store.add_recording(call.id, call.last_turn.rep_turn_id, encode_opus(16_000, tone(0.5, 16_000)), 0.5)

    assert cli.main(["sessions", "delete", call.id]) == 2  # no terminal to ask at
    assert "add --yes" in capsys.readouterr().err and gym.store.get_session(call.id) is not None
    monkeypatch.setattr("sys.stdin", _Terminal("n"))
    assert cli.main(["sessions", "delete", call.id]) == 1
    out = capsys.readouterr().out
    assert "3 turn(s)" in out and "1 recording(s)" in out and "nothing deleted" in out
    assert gym.store.get_session(call.id) is not None

    monkeypatch.setattr("sys.stdin", _Terminal("y"))
    assert cli.main(["sessions", "delete", call.id]) == 0
    assert f"deleted session {call.id}" in capsys.readouterr().out
    assert set(rows_of_session(gym.store, call.id).values()) == {0}
    (entry,) = gym.accounts.audit(account="ana")
    assert entry.action == "delete-session" and entry.detail == {"session_id": call.id}
    assert entry.actor.startswith("cli:")

    assert cli.main(["sessions", "delete", call.id, "--yes"]) == 1
    assert f"no session '{call.id}'" in capsys.readouterr().err
    other = gym.start(PERSONA)
    assert cli.main(["sessions", "delete", other.id, "--yes"]) == 0 and gym.store.get_session(other.id) is None


# --- The app ---------------------------------------------------------------------------------------

def audio_files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Gradio's cache folder (uploads, and outputs it writes to disk), empty, for the app served next."""
    folder = tmp_path / "gradio-cache"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def test_without_consent_nothing_of_a_spoken_call_is_kept_anywhere(serve: Callable[..., App], said: Path,
                                                                   cache: Path) -> None:
    app = serve()
    client = app.client()
    endpoint(client, "/start", CALL_VIEW, PERSONA, False)
    out = speak(client, said)
    assert len([m for m in out["chat"] if m["role"] == "user"]) == 1  # the reply was heard and answered
    session_id = app.session_id()
    assert app.gym.store.deliveries_for(session_id)  # its delivery is kept, as text figures
    assert rows_of_session(app.gym.store, session_id)["recordings"] == 0
    assert rows_of_session(app.gym.store, session_id)["film_consents"] == 0
    assert audio_files(cache, app.gym.settings.data_dir) == []  # not the upload, not the prospect's voice
    review = endpoint(client, "/review", CALL_VIEW, session_id)
    assert review["film"]["visible"] is False and review["film"]["value"] == ""


def players(film: str) -> list[bytes]:
    return [base64.b64decode(s) for s in re.findall(r'<audio controls preload="metadata" src="data:audio/ogg;base64,'
                                                     r'([A-Za-z0-9+/=]+)"', film)]


def test_with_consent_a_spoken_turn_is_replayed_beside_its_scores_then_withdrawn_or_deleted(
        serve: Callable[..., App], said: Path, cache: Path) -> None:
    app = serve()
    client = app.client()
    endpoint(client, "/start", CALL_VIEW, PERSONA, False)
    speak(client, said, keep=True)
    session_id = app.session_id()
    record = app.gym.store.get_session(session_id)
    reply, answer = record.turns[1].id, record.turns[2].id
    kept = app.gym.store.recordings_for(session_id)
    assert list(kept) == [reply, answer]
    rate, samples = read_wav(said)
    sent_s = len(samples) / rate
    assert decoded_seconds(kept[reply].audio) == pytest.approx(sent_s, abs=0.1)  # the whole recording
    assert kept[answer].seconds > 1.0  # the prospect's voice as it was heard
    assert audio_files(cache) == []  # kept in the database only

    film = endpoint(client, "/review", CALL_VIEW, session_id)["film"]
    assert film["visible"] is True and "Play the call" in film["value"]
    assert players(film["value"]) == [kept[reply].audio, kept[answer].audio]
    assert "You, reply 1" in film["value"] and "rp-pill" in film["value"] and "Delivery" in film["value"]

    hidden = client.predict(False, api_name="/keep_film")
    assert hidden["visible"] is False and hidden["value"] == ""
    assert app.gym.store.recordings_for(session_id) == {} and not app.gym.store.keeps_film(session_id)
    assert endpoint(client, "/review", CALL_VIEW, session_id)["film"]["visible"] is False

    # deleting it from Past sessions: asked first, then gone with everything of it, the view emptied
    assert "for good" in client.predict(session_id, api_name="/ask_delete")
    assert app.gym.store.get_session(session_id) is not None
    out = client.predict(session_id, api_name="/delete_session")
    view = dict(zip(CALL_VIEW, out[:len(CALL_VIEW)], strict=True))
    assert view["chat"] == [] and session_id not in str(view["past"])
    assert set(rows_of_session(app.gym.store, session_id).values()) == {0}
    with pytest.raises(AppError, match="There is no such session"):
        client.predict(session_id, api_name="/review")


def test_only_the_rep_whose_call_it_is_can_delete_it_or_keep_its_audio(team_app: App) -> None:
    ana, ben, mia = (team_app.signed_in(name) for name in ("ana", "ben", "mia"))
    endpoint(ana, "/start", CALL_VIEW, PERSONA, False)
    session_id = team_app.session_id()
    with pytest.raises(AppError, match="There is no such session"):
        ben.predict(session_id, api_name="/ask_delete")
    endpoint(mia, "/review", CALL_VIEW, session_id)  # her team's call: she may read it
    for api_name in ("/ask_delete", "/delete_session"):
        with pytest.raises(AppError, match="Only the rep whose call it is can delete it"):
            mia.predict(session_id, api_name=api_name)
    with pytest.raises(AppError, match="another rep's call"):
        mia.predict(True, api_name="/keep_film")
    assert team_app.gym.store.get_session(session_id) is not None and not team_app.gym.store.keeps_film(session_id)
    ana.predict(session_id, api_name="/delete_session")
    assert team_app.gym.store.get_session(session_id) is None
    assert team_app.gym.accounts.audit(account="ana")[0].actor == "ana"


# --- Progress ----------------------------------------------------------------------------------------

def progress(client: Any) -> dict[str, Any]:
    names = ("summary", "plot", "team", "delivery", "pace", "delivery_table")
    return dict(zip(names, client.predict(api_name="/progress"), strict=True))


def test_progress_shows_delivery_call_by_call_and_a_manager_sees_the_teams(team_app: App) -> None:
    gym, ana, mia = team_app.gym, team_app.signed_in("ana"), team_app.signed_in("mia")
    assert "No voice calls yet" in progress(ana)["delivery"]
    said_as = [(figures(30, 12.0, fillers=2), 8.0), (figures(45, 15.0, fillers=1), 5.0)]
    for n, (said_figures, answer_s) in enumerate(said_as):
        endpoint(ana, "/start", CALL_VIEW, PERSONA, False)
        endpoint(ana, "/send", CALL_VIEW, "What made Fleetly the right fit for you?", False)
        session_id = gym.store.list_sessions(limit=1)[0]["id"]
        reply = gym.store.get_session(session_id).turns[1].id
        if n == 0:
            endpoint(ana, "/send", CALL_VIEW, "How do you handle late changes?", False)  # typed: no delivery
        gym.store.add_delivery(session_id, reply, said_figures, prospect_s=answer_s)

    shown = progress(ana)
    assert "**2** voice calls" in shown["delivery"] and "180 words a minute" in shown["delivery"]  # the latest
    assert [row[:1] + row[3:] for row in shown["delivery_table"]["data"]] == [
        [2, 1, "180", "4.0", "75%", "15.0", 0],  # newest first
        [1, 1, "150", "10.0", "60%", "12.0", 0],
    ]
    assert shown["pace"]["visible"] is True
    assert [row[:2] for row in shown["pace"]["value"]["data"]] == [[1, 150.0], [2, 180.0]]
    assert "No voice calls yet" in progress(mia)["delivery"]  # her own calls

    rows = {row[0]: row for row in progress(mia)["team"]["data"]}
    assert rows["ana"][-4:] == [2, 166.7, 6.67, "68%"]  # 75 words in 27 s; 3 fillers; 27 of 40 s
    assert rows["ben"][-4:] == [0, "–", "–", "–"]
