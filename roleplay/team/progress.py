"""Progress: how a rep's scores move from call to call, what to practise next, a team's table.

Pure logic over ``storage.ScoreRow`` (what ``Store.score_rows`` returns); no Gradio. Only
scored replies count towards a mean: an unscored reply, or one not graded yet, is counted as
such and never stands in for a score (no default 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from roleplay.drills import Drill
from roleplay.judge import DIMENSIONS
from roleplay.personas import Difficulty, Persona
from roleplay.storage import ScoreRow

if TYPE_CHECKING:
    import pandas as pd

#: The weakest dimension is judged over this many of the rep's latest sessions with scores.
RECENT_SESSIONS = 5

#: What each dimension means, in a rep's words (for the suggestion's reason).
PLAIN_DIMENSIONS = {
    "curiosity": "curiosity (asking about their view)",
    "composure": "composure (staying calm, never arguing)",
    "restraint": "restraint (respecting their no)",
}

#: The columns of ``RepProgress.plot_frame``, long form: one row per session and dimension.
PLOT_COLUMNS = ("started", "session", "dimension", "score")

_EASE = {level: i for i, level in enumerate(Difficulty)}


class SessionProgress(BaseModel):
    """One session of a rep, with the means of its scored replies."""

    session_id: str
    #: The session's number among the rep's sessions, from 1, oldest first.
    number: int
    started: datetime
    persona_id: str
    persona_version: str
    replies: int
    scored: int
    unscored: int
    #: Replies with no grade yet.
    pending: int
    #: Mean of each dimension over the scored replies (2 decimals); ``None`` with none scored.
    means: dict[str, float | None]


class Suggestion(BaseModel):
    """The persona to practise next. ``reason`` contains the persona's name: escape it when shown."""

    persona_id: str
    reason: str


class PlotPoint(BaseModel):
    started: datetime
    session: int
    dimension: str
    score: float


class RepProgress(BaseModel):
    """A rep's sessions over time, their weakest dimension lately, and what to practise next."""

    sessions: list[SessionProgress]
    weakest_dimension: str | None
    #: The weakest dimension's mean over the recent sessions (``RECENT_SESSIONS``).
    weakest_mean: float | None
    suggestion: Suggestion | None

    def plot_points(self) -> list[PlotPoint]:
        """One point per session and dimension that has a mean (sessions with no score have none)."""
        return [
            PlotPoint(started=s.started, session=s.number, dimension=dim, score=mean)
            for s in self.sessions for dim, mean in s.means.items() if mean is not None
        ]

    def plot_frame(self) -> pd.DataFrame:
        """Long-form plot data for ``gr.LinePlot(x="session", y="score", color="dimension")``.

        Returns:
            A DataFrame with the columns ``PLOT_COLUMNS``; empty (with those columns) without scores.
        """
        import pandas as pd

        return pd.DataFrame([p.model_dump() for p in self.plot_points()], columns=list(PLOT_COLUMNS))


class TeamRow(BaseModel):
    """One team member's practice, for a lead's table."""

    member: str
    sessions: int
    replies: int
    #: Replies with scores (as in the coach's report); unscored ones are counted apart.
    graded: int
    unscored: int
    #: Means over the scored replies, to 1 decimal; ``None`` with none.
    curiosity: float | None
    composure: float | None
    restraint: float | None
    #: As the rep sees it: lowest mean over their latest ``RECENT_SESSIONS`` sessions with scores.
    weakest_dimension: str | None
    #: When they last replied on a call.
    last_practice: datetime | None


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _means(rows: Iterable[ScoreRow]) -> dict[str, float | None]:
    """Exact means per dimension over the scored rows among ``rows``."""
    scored = [r for r in rows if r.scored is True]
    return {d.value: _mean([v for r in scored if (v := getattr(r, d.value)) is not None]) for d in DIMENSIONS}


def by_session(rows: Iterable[ScoreRow]) -> list[list[ScoreRow]]:
    """Rows grouped by session, sessions oldest first, replies in order."""
    groups: dict[str, list[ScoreRow]] = {}
    for row in rows:
        groups.setdefault(row.session_id, []).append(row)
    ordered = sorted(groups.values(), key=lambda g: (g[0].session_started, g[0].session_id))
    return [sorted(g, key=lambda r: r.turn) for g in ordered]


def weakest(rows: Iterable[ScoreRow], recent: int = RECENT_SESSIONS) -> tuple[str | None, float | None]:
    """The dimension with the lowest mean over the latest ``recent`` sessions that have scores.

    The scored replies of those sessions are pooled (each reply counts once). A tie goes to
    the dimension that comes first in the rubric (curiosity, composure, restraint).

    Args:
        rows: one rep's rows.
        recent: how many of the latest sessions with scores to look at.

    Returns:
        ``(dimension, mean)``, or ``(None, None)`` without any scored reply.
    """
    with_scores = [g for g in by_session(rows) if any(r.scored is True for r in g)][-recent:]
    means = {k: v for k, v in _means(r for g in with_scores for r in g).items() if v is not None}
    if not means:
        return None, None
    dim = min(means, key=means.__getitem__)  # min keeps the first of equal values: rubric order
    return dim, means[dim]


def suggest_persona(
    rows: Iterable[ScoreRow], personas: Mapping[str, Persona], weakest_dimension: str | None,
) -> Suggestion | None:
    """The persona to practise next: practise where it hurts.

    1. No scored reply yet: the easiest persona (easy, then normal, then hard), one never
       called first, then by id.
    2. Otherwise a persona the rep has no scores with yet, the easiest first (then by id).
    3. Otherwise the persona where the rep's ``weakest_dimension`` has its lowest mean over
       all their scored replies with it; a tie goes to the easier persona, then by id.

    Only published personas (``personas``) are suggested; sessions with others are ignored.

    Args:
        rows: one rep's rows.
        personas: the published personas by id.
        weakest_dimension: the rep's weakest dimension (see ``weakest``).

    Returns:
        The suggestion with a one-sentence reason, or ``None`` when there is no persona.
    """
    if not personas:
        return None
    rows = list(rows)
    called = {r.persona_id for r in rows}
    scored: dict[str, list[ScoreRow]] = {}
    for row in rows:
        if row.scored is True:
            scored.setdefault(row.persona_id, []).append(row)

    def ease(p: Persona) -> tuple[int, str]:
        return _EASE[p.difficulty], p.id

    if weakest_dimension is None:
        pick = min(personas.values(), key=lambda p: (_EASE[p.difficulty], p.id in called, p.id))
        return Suggestion(persona_id=pick.id, reason=(
            f"Start with {pick.name}, one of the easiest prospects: your first scores will show what to work on."))
    focus = PLAIN_DIMENSIONS.get(weakest_dimension, weakest_dimension)
    fresh = [p for p in personas.values() if p.id not in scored]
    if fresh:
        pick = min(fresh, key=ease)
        return Suggestion(persona_id=pick.id, reason=(
            f"You have no scores with {pick.name} yet, and a new prospect is a good test of your {focus}, "
            "your weakest lately."))
    lowest = {p.id: _means(scored[p.id])[weakest_dimension] for p in personas.values()}
    pick = min(personas.values(), key=lambda p: (lowest[p.id] is None, lowest[p.id] or 0.0, *ease(p)))
    return Suggestion(persona_id=pick.id, reason=(
        f"Your {focus} is your weakest lately, and it was lowest with {pick.name} "
        f"({lowest[pick.id]:.1f} of 5): practise it where it hurts."))


def _session_progress(number: int, rows: list[ScoreRow]) -> SessionProgress:
    first = rows[0]
    means = _means(rows)
    return SessionProgress(
        session_id=first.session_id, number=number, started=first.session_started, persona_id=first.persona_id,
        persona_version=first.persona_version, replies=len(rows), scored=sum(r.scored is True for r in rows),
        unscored=sum(r.scored is False for r in rows), pending=sum(r.scored is None for r in rows),
        means={k: None if v is None else round(v, 2) for k, v in means.items()},
    )


def rep_progress(rows: Iterable[ScoreRow], personas: Mapping[str, Persona]) -> RepProgress:
    """One rep's progress: per-session means, weakest dimension lately, what to practise next.

    The weakest dimension is the lowest mean over the rep's latest ``RECENT_SESSIONS``
    sessions with scores (see ``weakest``); the suggestion practises where it hurts: a
    published persona the rep has no scores with yet, else the one where their weakest
    dimension scored lowest, and the easiest persona without any data (see ``suggest_persona``).

    Args:
        rows: the rep's rows (``Store.score_rows([username])``); all of one owner.
        personas: the published personas by id (``Gym.personas``), for the suggestion.

    Returns:
        The progress; with no rows, no sessions, no weakest dimension and the easiest persona.

    Raises:
        ValueError: the rows belong to more than one owner.
    """
    rows = list(rows)
    owners = {r.owner for r in rows}
    if len(owners) > 1:
        raise ValueError(f"rows of {len(owners)} owners given; progress is per rep")
    sessions = [_session_progress(n, g) for n, g in enumerate(by_session(rows), start=1)]
    dim, mean = weakest(rows)
    return RepProgress(sessions=sessions, weakest_dimension=dim, weakest_mean=None if mean is None else round(mean, 2),
                       suggestion=suggest_persona(rows, personas, dim))


def team_table(rows: Iterable[ScoreRow], members: Iterable[str]) -> list[TeamRow]:
    """One row per team member, in the order of ``members``, including members with no session.

    Args:
        rows: the team's rows (``Store.score_rows(members)``); rows of others are ignored.
        members: the team's usernames.

    Returns:
        The table rows; means over each member's scored replies, rounded to 1 decimal.
    """
    mine: dict[str, list[ScoreRow]] = {}
    for row in rows:
        if row.owner is not None:
            mine.setdefault(row.owner, []).append(row)
    table = []
    for member in dict.fromkeys(members):
        own = mine.get(member, [])
        means = _means(own)
        table.append(TeamRow(
            member=member, sessions=len({r.session_id for r in own}), replies=len(own),
            graded=sum(r.scored is True for r in own), unscored=sum(r.scored is False for r in own),
            **{k: None if v is None else round(v, 1) for k, v in means.items()},
            weakest_dimension=weakest(own)[0], last_practice=max((r.replied_at for r in own), default=None),
        ))
    return table


class PlanStep(BaseModel):
    """One of the next things to practise, one click away. ``text`` may hold a persona's name:
    escape it when shown."""

    kind: Literal["retry", "drill", "call"]
    text: str
    session_id: str | None = None  # retry: the call whose reply to take again
    reply: int | None = None  # retry: which reply
    drill_id: str | None = None  # drill
    persona_id: str | None = None  # call


def practice_plan(
    rows: Iterable[ScoreRow], progress: RepProgress, drills: Sequence[Drill], personas: Mapping[str, Persona],
) -> list[PlanStep]:
    """The next three things to do, from the weakest habit lately: take the reply of the latest
    scored call that was weakest on it again (when it scored 3 or lower), play the drill for it,
    and call the suggested persona."""
    dim = progress.weakest_dimension
    if dim is None:
        return []
    plan: list[PlanStep] = []
    scored = [r for r in rows if r.scored]
    if scored:
        latest = max(scored, key=lambda r: r.session_started).session_id
        worst = min((r for r in scored if r.session_id == latest), key=lambda r: (getattr(r, dim), r.turn))
        score = getattr(worst, dim)
        if score <= 3:
            name = personas[worst.persona_id].name if worst.persona_id in personas else worst.persona_id
            plan.append(PlanStep(kind="retry", session_id=worst.session_id, reply=worst.turn,
                                 text=f"Take reply {worst.turn} of your last call with {name} again: it scored "
                                      f"{score} on {dim}."))
    drill = next((d for d in drills if d.dimension == dim), None)
    if drill is not None:
        plan.append(PlanStep(kind="drill", drill_id=drill.id,
                             text=f"Play the drill “{drill.title}”: three replies, each {drill.pass_at}+ on {dim}."))
    if progress.suggestion is not None:
        plan.append(PlanStep(kind="call", persona_id=progress.suggestion.persona_id, text=progress.suggestion.reason))
    return plan
