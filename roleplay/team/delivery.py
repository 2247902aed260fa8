"""Delivery over calls: how a rep's spoken replies sounded, call by call, and a team's lately.

Pure logic over what the store keeps (a ``Delivery`` per spoken reply, a ``ScoreRow`` per reply);
no Gradio. A call's figures are its report's (``DeliveryFacts``: pace, fillers a minute, the rep's
share of the talking, the longest monologue, talking over), worked out by
``roleplay.voice.call_delivery``. The voice package is imported only when there is a spoken reply,
so a rep who only types loads none of it. Only calls with spoken replies count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, ValidationError

from roleplay.judge import DeliveryFacts
from roleplay.storage import Delivery, ScoreRow
from roleplay.team.progress import RECENT_SESSIONS, by_session

log = logging.getLogger(__name__)


def delivery_facts(spoken: Iterable[Delivery]) -> DeliveryFacts | None:
    """How spoken replies sounded together (a call's, for its report; a rep's lately): pace,
    fillers a minute, the share of the talking, the longest monologue, talking over.

    Args:
        spoken: The replies' stored deliveries; one that cannot be read is left out, with a warning.

    Returns:
        The figures, or ``None`` without a spoken reply.
    """
    spoken = list(spoken)
    if not spoken:
        return None
    from roleplay.voice import Interval, ReplyDelivery, call_delivery

    replies, prospect = [], []
    for kept in spoken:
        try:
            replies.append(ReplyDelivery.model_validate(kept.figures))
        except ValidationError as exc:
            log.warning("the delivery of turn %s cannot be read: %s", kept.turn_id, exc)
            continue
        if kept.prospect_s:
            prospect.append(Interval(start=0.0, end=kept.prospect_s))
    if not replies:
        return None
    figures = call_delivery(replies, prospect)
    return DeliveryFacts(**figures.model_dump(exclude={"replies"}))


class VoiceCall(BaseModel):
    """One of a rep's calls with spoken replies, and how they sounded."""

    session_id: str
    #: The call's number among all the rep's calls, as the scores' plot numbers them.
    number: int
    started: datetime
    persona_id: str
    facts: DeliveryFacts
    #: The deliveries the figures come from, in the order of the replies.
    replies: list[Delivery]


def voice_calls(rows: Iterable[ScoreRow], kept: Mapping[int, Delivery]) -> list[VoiceCall]:
    """One rep's calls with spoken replies, oldest first.

    Only the replies in ``rows`` count, so a call that takes a reply again does not count the
    original's replies it starts with twice (``Store.score_rows`` leaves them out).

    Args:
        rows: The rep's replies (``Store.score_rows([username])``).
        kept: Deliveries by rep turn id (``Store.deliveries_of``); those of other turns are ignored.

    Returns:
        The calls with at least one spoken reply that can be read.
    """
    calls = []
    for number, replies in enumerate(by_session(rows), start=1):
        spoken = [kept[r.turn_id] for r in replies if r.turn_id in kept]
        facts = delivery_facts(spoken)
        if facts is not None:
            first = replies[0]
            calls.append(VoiceCall(session_id=first.session_id, number=number, started=first.session_started,
                                   persona_id=first.persona_id, facts=facts, replies=spoken))
    return calls


class MemberDelivery(BaseModel):
    """A team member's delivery for a lead's table: pooled over their latest voice calls."""

    voice_calls: int
    pace_wpm: float | None = None
    fillers_per_min: float | None = None
    rep_share: float | None = None
    longest_monologue_s: float | None = None


def team_delivery(rows: Iterable[ScoreRow], kept: Mapping[int, Delivery], members: Sequence[str],
                  recent: int = RECENT_SESSIONS) -> dict[str, MemberDelivery]:
    """Each member's delivery over their latest ``recent`` voice calls, their replies pooled (the
    pace is words over minutes of all of them, not a mean of means).

    Args:
        rows: The team's replies (``Store.score_rows(members)``).
        kept: Their deliveries by rep turn id.
        members: The team's usernames.
        recent: How many of each member's latest voice calls to pool.

    Returns:
        One entry per member; a member with no voice call has ``voice_calls=0`` and no figures.
    """
    mine: dict[str, list[ScoreRow]] = {}
    for row in rows:
        mine.setdefault(row.owner or "", []).append(row)
    table = {}
    for member in members:
        calls = voice_calls(mine.get(member, []), kept)
        facts = delivery_facts(d for call in calls[-recent:] for d in call.replies)
        table[member] = MemberDelivery(voice_calls=len(calls), **(facts.model_dump(include={
            "pace_wpm", "fillers_per_min", "rep_share", "longest_monologue_s"}) if facts else {}))
    return table
