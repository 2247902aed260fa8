"""The Progress tab and the exports, through the app's API (gradio_client), in both modes."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from markdown_it import MarkdownIt

from roleplay.call import Gym

from .conftest import CALL_VIEW, App, endpoint

pytestmark = pytest.mark.timeout(180)

PERSONA = "happy_incumbent"


def graded_call(gym: Gym, client: Client, *replies: str) -> str:
    """Start a call through the API, send ``replies``, wait for their grades; the session id."""
    client.predict(PERSONA, False, api_name="/start")
    for text in replies:
        client.predict(text, False, api_name="/send")
    session_id = gym.store.list_sessions(limit=1)[0]["id"]
    deadline = time.monotonic() + 30
    while len(gym.store.grades_for(session_id)) < len(replies):
        assert time.monotonic() < deadline, "grades never arrived"
        time.sleep(0.1)
    return session_id


def downloaded(update: Any) -> str:
    """The text of a file a download output points at."""
    path = update["value"] if isinstance(update, dict) else update
    return Path(path).read_text(encoding="utf-8")


@pytest.fixture
def single(serve: Callable[..., App]) -> tuple[Gym, Client]:
    app = serve()
    return app.gym, app.client()


def test_the_practice_plan_is_a_retry_a_drill_and_a_call_each_one_click_away(single: tuple[Gym, Client]) -> None:
    gym, client = single
    session_id = graded_call(gym, client, "What made you pick Fleetly back then?",
                             "Could we book twenty minutes next week?", "Just fifteen minutes, Thursday?")
    summary = client.predict(api_name="/progress")[0]
    plan = re.findall(r"^\d\. (.*)$", summary, re.MULTILINE)
    weakest = re.search(r"Weakest lately: \*\*(\w+)", summary).group(1)
    drill = next(d for d in gym.playable_drills() if d.dimension == weakest)
    assert len(plan) == 3 and plan[0].startswith("Take reply ") and f"on {weakest}" in plan[0]
    assert drill.title in plan[1]

    # one click: the retry opens the Practice view on a new call just before that reply
    reply = int(re.match(r"Take reply (\d)", plan[0]).group(1))
    out = endpoint(client, "/plan_retry", CALL_VIEW)
    assert f"Taking reply {reply} again" in out["status"]
    retry = gym.store.get_session(gym.store.list_sessions(limit=1)[0]["id"])
    assert retry.attempt_of.parent_id == session_id and retry.attempt_of.reply == reply
    out = endpoint(client, "/plan_drill", CALL_VIEW)
    assert f"Drill: {drill.title}" in out["status"]


def test_progress_shows_scores_per_call_the_weakest_dimension_and_a_next_persona(
        single: tuple[Gym, Client]) -> None:
    gym, client = single
    summary, plot, team, *_ = client.predict(api_name="/progress")
    assert "No calls yet" in summary and "Next:" in summary
    assert plot["visible"] is False and plot["value"]["data"] == []

    graded_call(gym, client, "What made you pick Fleetly back then?")
    summary, plot, team, *_ = client.predict(api_name="/progress")
    assert plot["visible"] is False, "one point draws no line"
    assert "Your call's scores: curiosity " in summary and "starts with your second scored call" in summary

    graded_call(gym, client, "Could we book twenty minutes next week?")
    summary, plot, team, *_ = client.predict(api_name="/progress")
    assert plot["visible"] is True and "Your call's scores" not in summary
    plot = plot["value"]
    assert "**2** calls, **2** with scores" in summary
    assert "Weakest lately: **curiosity" in summary  # the second call only asked for a meeting
    assert "Next:" in summary
    points = {(row[1], row[2]): row[3] for row in plot["data"]}
    assert set(points) == {(n, d) for n in (1, 2) for d in ("curiosity", "composure", "restraint")}
    assert points[(2, "curiosity")] < points[(1, "curiosity")]
    assert team["data"] == []  # no team table outside team mode


def test_a_call_exports_as_markdown_and_json_with_markup_kept_as_text(single: tuple[Gym, Client]) -> None:
    gym, client = single
    evil = "What about <script>alert(1)</script> and [this](http://evil.example)?"
    session_id = graded_call(gym, client, evil)

    markdown = downloaded(client.predict(api_name="/export_md"))
    assert "Dana Whitfield" in markdown
    html = MarkdownIt().render(markdown)  # as any Markdown viewer shows it
    assert "<script" not in html and "<a " not in html
    assert "&lt;script&gt;" in html and "[this](http://evil.example)" in html

    exported = json.loads(downloaded(client.predict(api_name="/export_json")))
    assert exported["session"]["id"] == session_id
    rep_turns = [t for t in exported["turns"] if t["speaker"] == "rep"]
    assert [t["text"] for t in rep_turns] == [evil]  # JSON is data: exactly as typed
    assert rep_turns[0]["grade"]["scored"] is True


def test_exporting_needs_a_call(single: tuple[Gym, Client]) -> None:
    _, client = single
    with pytest.raises(AppError, match="Start or open a call first"):
        client.predict(api_name="/export_md")


def test_each_rep_sees_only_their_own_progress_and_a_manager_sees_the_team(team_app: App) -> None:
    gym = team_app.gym
    ana, wes, mia = team_app.signed_in("ana"), team_app.signed_in("wes"), team_app.signed_in("mia")
    graded_call(gym, ana, "How do you plan routes today?")
    graded_call(gym, wes, "Could we book twenty minutes next week?")

    assert "**1** call," in ana.predict(api_name="/progress")[0]
    assert "**1** call," in wes.predict(api_name="/progress")[0]
    assert "No calls yet" in team_app.signed_in("ben").predict(api_name="/progress")[0]

    summary, _, table, *_ = mia.predict(api_name="/progress")
    assert "No calls yet" in summary  # the manager's own practice
    rows = {row[0]: row for row in table["data"]}
    assert set(rows) == {"ana", "ben"}  # the team, not wes, not the manager
    assert rows["ana"][1] == 1 and rows["ben"][1] == 0

    scores = list(csv.DictReader(io.StringIO(downloaded(mia.predict(api_name="/export_team")))))
    assert [r["owner"] for r in scores] == ["ana"]
    with pytest.raises(AppError, match="for managers"):
        ana.predict(api_name="/export_team")


def test_a_rep_cannot_export_another_reps_call(team_app: App) -> None:
    gym = team_app.gym
    ana, ben = team_app.signed_in("ana"), team_app.signed_in("ben")
    session_id = graded_call(gym, ana, "How do you plan routes today?")
    with pytest.raises(AppError, match="There is no such session"):
        ben.predict(session_id, api_name="/review")
    with pytest.raises(AppError, match="Start or open a call first"):
        ben.predict(api_name="/export_md")
    assert "How do you plan routes today?" in downloaded(ana.predict(api_name="/export_md"))


def test_call_back_places_the_follow_up_call_and_the_calendar_file_points_to_it(single: tuple[Gym, Client]) -> None:
    from icalendar import Calendar

    gym, client = single
    first = graded_call(gym, client, "Could we book 20 minutes next Tuesday?",
                        "Totally fair. What made Fleetly the right choice?",
                        "Understood. Would it be okay if I checked back later?")
    with pytest.raises(AppError, match="End this call first"):
        client.predict(False, api_name="/call_back")
    client.predict(api_name="/end")
    event = Calendar.from_ical(downloaded(client.predict(api_name="/export_ics"))).walk("VEVENT")[0]
    assert f"(session {first}) and press Call back" in str(event.get("description")).replace("\n", " ")

    out = endpoint(client, "/call_back", CALL_VIEW, False)
    (latest,) = gym.store.list_sessions(limit=1)
    back = gym.store.get_session(latest["id"])
    assert back.follow_up_of == first
    opening = back.turns[0].text
    assert f"I did say to try again {gym.personas[PERSONA].not_now.when}" in opening
    assert "On a call with" in out["status"]
