"""The Progress tab and the export buttons: a rep's scores and delivery over time, a manager's team,
downloads.

Every function here receives the viewer from the app and asks ``Accounts`` whose rows it may
show; nothing here decides access by itself.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr

from roleplay.call import Gym
from roleplay.judge.coaching.follow_up import calendar_file
from roleplay.personas import Persona
from roleplay.rendering import delivery_line, noun_for, plain
from roleplay.storage import ScoreRow
from roleplay.team import MemberDelivery, Viewer, VoiceCall, team_delivery, voice_calls
from roleplay.team.exports import persona_name, scores_csv, session_json, session_markdown
from roleplay.team.progress import (
    PLAIN_DIMENSIONS,
    PLOT_COLUMNS,
    PlanStep,
    RepProgress,
    TeamRow,
    practice_plan,
    rep_progress,
    team_table,
)

#: The team table's columns: (TeamRow field, heading).
TEAM_COLUMNS = [
    ("member", "Rep"), ("sessions", "Calls"), ("graded", "Replies scored"), ("unscored", "Unscored"),
    ("curiosity", "Curiosity"), ("composure", "Composure"), ("restraint", "Restraint"),
    ("weakest_dimension", "Weakest lately"), ("last_practice", "Last practice"),
    # their delivery over their latest voice calls (``team_delivery``)
    ("voice_calls", "Voice calls"), ("pace_wpm", "Pace (wpm)"), ("fillers_per_min", "Fillers/min"),
    ("rep_share", "Talk share"),
]
#: The rep's delivery table's headings, one row per voice call (``delivery_rows``).
DELIVERY_HEADERS = ["Call", "Date", "Prospect", "Spoken replies", "Pace (wpm)", "Fillers/min", "Your talk share",
                    "Longest monologue (s)", "Talked over"]
NO_VOICE_CALLS = ("No voice calls yet. Choose **Voice** under *Reply by* in a call: your pace, fillers and share of "
                  "the talking then show here, call by call.")


def own_rows(gym: Gym, who: Viewer) -> list[ScoreRow]:
    """The viewer's own replies (single-user mode: every session, which are all theirs)."""
    if who.user is None:
        return [row.model_copy(update={"owner": None}) for row in gym.store.score_rows(None)]
    return gym.store.score_rows([who.user.username])


def own_voice_calls(gym: Gym, who: Viewer, rows: list[ScoreRow]) -> list[VoiceCall]:
    """The viewer's calls with spoken replies (``rows``: theirs, from ``own_rows``), oldest first."""
    return voice_calls(rows, gym.store.deliveries_of(None if who.user is None else [who.user.username]))


def delivery_markdown(calls: list[VoiceCall]) -> str:
    """The words above the delivery table: how many voice calls, and the latest one's delivery."""
    if not calls:
        return NO_VOICE_CALLS
    return f"**{len(calls)}** {noun_for(len(calls), 'voice call')}. Your latest: {delivery_line(calls[-1].facts)}"


def _figure(value: float | None, form: str = "{:.0f}") -> str:
    return "–" if value is None else form.format(value)


def delivery_rows(calls: list[VoiceCall], personas: Mapping[str, Persona]) -> list[list[Any]]:
    """The rep's delivery table (``DELIVERY_HEADERS``), newest call first."""
    def name(persona_id: str) -> str:
        return personas[persona_id].name if persona_id in personas else persona_id

    return [[c.number, f"{c.started:%Y-%m-%d %H:%M}", name(c.persona_id), c.facts.spoken,
             _figure(c.facts.pace_wpm), _figure(c.facts.fillers_per_min, "{:.1f}"),
             _figure(c.facts.rep_share, "{:.0%}"), _figure(c.facts.longest_monologue_s, "{:.1f}"), c.facts.talk_overs]
            for c in reversed(calls)]


def pace_frame(calls: list[VoiceCall]) -> Any:
    """Plot data: the pace of each voice call that has one (``session``: its number, ``pace_wpm``)."""
    import pandas as pd

    points = [{"session": c.number, "pace_wpm": c.facts.pace_wpm} for c in calls if c.facts.pace_wpm is not None]
    return pd.DataFrame(points, columns=["session", "pace_wpm"])



def team_members(gym: Gym, who: Viewer) -> list[str]:
    """The reps a manager leads (their team's accounts, the manager excluded); ``[]`` for others."""
    if not who.is_manager:
        return []
    return [u.username for u in gym.accounts.users(team=who.user.team) if u.username != who.user.username]


def summary_markdown(progress: RepProgress, plan: list[PlanStep] | None = None) -> str:
    """The words above the plot: how many calls, the weakest dimension, and the practice plan
    (what to practise next, each step a button below)."""
    scored = [s for s in progress.sessions if s.scored]
    if not progress.sessions:
        lines = ["No calls yet. Your scores show here after your first call."]
    else:
        calls = len(progress.sessions)
        lines = [f"**{calls}** {noun_for(calls, 'call')}, **{len(scored)}** with scores."]
    if len(scored) == 1:  # one point draws no line: say the figures instead
        means = " · ".join(f"{d} {m:.1f}" for d, m in scored[0].means.items() if m is not None)
        lines.append(f"Your call's scores: {means}. The plot starts with your second scored call.")
    if progress.weakest_dimension:
        lines.append(f"Weakest lately: **{PLAIN_DIMENSIONS[progress.weakest_dimension]}**, "
                     f"{progress.weakest_mean:.1f} on average over your latest calls.")
    if plan:
        lines.append("**Next:**\n" + "\n".join(f"{i}. {plain(step.text)}" for i, step in enumerate(plan, start=1)))
    elif progress.suggestion:
        lines.append(f"**Next:** {plain(progress.suggestion.reason)}")
    return "\n\n".join(lines)


def team_rows(table: list[TeamRow], delivery: dict[str, MemberDelivery]) -> list[list[Any]]:
    """The team table as Dataframe rows (times as dates, the talk share in per cent, missing
    figures as a dash), each member's delivery beside their scores."""
    def cell(row: TeamRow, name: str) -> Any:
        spoken = delivery.get(row.member) or MemberDelivery(voice_calls=0)
        value = getattr(spoken if name in MemberDelivery.model_fields else row, name)
        if value is None:
            return "–"
        if name == "last_practice":
            return f"{value:%Y-%m-%d %H:%M}"
        return f"{value:.0%}" if name == "rep_share" else value

    return [[cell(row, name) for name, _ in TEAM_COLUMNS] for row in table]


def _write(name: str, text: str) -> str:
    """Write a download to a fresh private temporary folder; Gradio serves it from there."""
    path = Path(tempfile.mkdtemp(prefix="roleplay-export-")) / name
    path.write_text(text, encoding="utf-8")
    return str(path)


class PlanButtons(NamedTuple):
    """The practice plan's buttons, and the plan they act on (``PlanStep`` dicts), for the app
    to bind to the practice view."""

    plan: Any
    retry: Any
    drill: Any
    call: Any


def build_progress(gym: Gym, viewer: Callable[[gr.Request], Viewer]) -> tuple[Callable, list[Any], PlanButtons]:
    """Build the Progress tab's components in the current Blocks context.

    Returns:
        ``(load, outputs, buttons)``: the function that fills the tab for a request, and its
        outputs, for the page's load event and the tab's refresh button; the plan's buttons.
    """
    summary = gr.Markdown("", elem_id="progress-summary")
    with gr.Row():
        buttons = PlanButtons(
            plan=gr.State([]),
            retry=gr.Button("Take that reply again", visible=False, size="sm", elem_id="plan-retry"),
            drill=gr.Button("Play the drill", visible=False, size="sm", elem_id="plan-drill"),
            call=gr.Button("Start that call", visible=False, size="sm", elem_id="plan-call"),
        )
    plot = gr.LinePlot(None, x="session", y="score", color="dimension", y_lim=[1, 5], x_title="Call",
                       y_title="Mean score", title="Your scores, call by call", x_axis_format="d",
                       elem_id="progress-plot")
    with gr.Column(visible=False, elem_id="team-box") as team_box:
        gr.Markdown("### Your team")
        team = gr.Dataframe(headers=[head for _, head in TEAM_COLUMNS], value=[], interactive=False,
                            elem_id="team-table")
        csv_btn = gr.Button("Export the team's scores (CSV)", elem_id="export-team")
    gr.Markdown("### Your delivery on voice calls")
    spoken_summary = gr.Markdown(NO_VOICE_CALLS, elem_id="delivery-summary")
    pace_plot = gr.LinePlot(None, x="session", y="pace_wpm", x_title="Call", y_title="Words a minute",
                            title="Your pace, call by call", x_axis_format="d", elem_id="pace-plot", visible=False)
    spoken_table = gr.Dataframe(headers=DELIVERY_HEADERS, value=[], interactive=False, elem_id="delivery-table")
    refresh_btn = gr.Button("Refresh", elem_id="progress-refresh")
    download = gr.File(label="Download", visible=False, interactive=False, elem_id="progress-download")

    def load(request: gr.Request) -> tuple[Any, ...]:
        who = viewer(request)
        rows = own_rows(gym, who)
        progress = rep_progress(rows, gym.personas)
        plan = practice_plan(rows, progress, gym.playable_drills(), gym.personas)
        frame = progress.plot_frame()
        members = team_members(gym, who)
        table = []
        if who.is_manager:
            team_scores = gym.store.score_rows(members)
            table = team_rows(team_table(team_scores, members),
                              team_delivery(team_scores, gym.store.deliveries_of(members), members))
        kinds = {step.kind for step in plan}
        drawn = frame["session"].nunique() >= 2
        calls = own_voice_calls(gym, who, rows)
        paces = pace_frame(calls)
        return (summary_markdown(progress, plan), gr.update(value=frame if drawn else _empty_frame(), visible=drawn),
                gr.update(visible=who.is_manager), table, [step.model_dump() for step in plan],
                *(gr.update(visible=kind in kinds) for kind in ("retry", "drill", "call")),
                delivery_markdown(calls), gr.update(value=paces, visible=len(paces) >= 2),
                delivery_rows(calls, gym.personas))

    def export_team(request: gr.Request) -> Any:
        who = viewer(request)
        if not who.is_manager:
            raise gr.Error("The team export is for managers.")
        rows = gym.store.score_rows(team_members(gym, who))
        return gr.update(value=_write(f"scores-{who.user.team}.csv", scores_csv(rows)), visible=True)

    outputs = [summary, plot, team_box, team, *buttons, spoken_summary, pace_plot, spoken_table]
    refresh_btn.click(load, None, outputs, api_name="progress")
    csv_btn.click(export_team, None, download, api_name="export_team")
    return load, outputs, buttons


def _empty_frame() -> Any:
    import pandas as pd

    return pd.DataFrame(columns=list(PLOT_COLUMNS))


def export_follow_up(gym: Gym, session_id: str) -> str:
    """Write the follow-up call of session ``session_id`` (already checked readable) as an .ics
    file; its path. Raises ``LookupError`` when the report names no time to try again."""
    record = gym.store.get_session(session_id)
    report = record.report or {}
    if not report.get("follow_up_at"):
        raise LookupError("This call has no follow-up to put in a calendar: the door was closed, "
                          "or the prospect named no time to try again.")
    name = persona_name(record)
    start = datetime.fromisoformat(report["follow_up_at"])
    practice = (f"Rehearse it first in Pushback Gym: open this call under Past sessions "
                f"(session {record.id}) and press Call back.")
    body = calendar_file(f"Follow-up call: {name}", f"{report.get('follow_up') or ''}\n\n{practice}", start)
    path = Path(tempfile.mkdtemp(prefix="roleplay-export-")) / f"follow-up-{record.persona_id}-{start:%Y%m%d}.ics"
    path.write_bytes(body)
    return str(path)


def export_session(gym: Gym, session_id: str, fmt: str) -> str:
    """Write session ``session_id`` (already checked readable) as Markdown or JSON; its path."""
    record = gym.store.get_session(session_id)
    stem = f"session-{record.persona_id}-{record.created_at:%Y%m%d-%H%M}"
    if fmt == "json":
        return _write(f"{stem}.json", session_json(record))
    return _write(f"{stem}.md", session_markdown(record))
