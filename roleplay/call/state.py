"""The prospect's state machine: code owns the state and picks the move.

Each rep reply, as the reader understood it, updates patience, interest and the push count
(``advance``), which decides the move: object, answer, refuse, say "not now", leave the door
open, close, deflect or hang up. The model only voices the move (``roleplay.call.prospect``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from roleplay.personas import Persona
from roleplay.understanding import Reading
from roleplay.understanding.signals import prospect_declines


class Move(StrEnum):
    OBJECT = "object"
    ANSWER = "answer"
    REFUSE = "refuse"
    NOT_NOW = "not_now"
    OPEN_DOOR = "open_door"
    CLOSE = "close"
    DEFLECT = "deflect"
    HANG_UP = "hang_up"


class Door(StrEnum):
    CLOSED = "closed"
    NOT_NOW = "not_now"
    OPEN = "open"


#: Moves after which the prospect is gone.
LONG_REPLY_WORDS = 60


class ProspectState(BaseModel):
    """Everything the prospect remembers about the call, in numbers."""

    patience: int
    interest: int
    asks: int = 0
    refusals: int = 0
    pushes: int = 0
    open_questions: int = 0
    objections_raised: int = 0
    revealed: list[str] = Field(default_factory=list)
    not_now_given: bool = False
    door_opened: bool = False
    agreed: bool = False
    hung_up: bool = False
    last_move: Move | None = None
    #: On a follow-up call, what the prospect remembers of the first one (written by code).
    memory: str = ""

    @property
    def door(self) -> Door:
        """Where the door stands: a hang-up or a second push closes it for this call."""
        if self.hung_up or self.pushes >= 2:
            return Door.CLOSED
        if self.door_opened:
            return Door.OPEN
        if self.not_now_given:
            return Door.NOT_NOW
        return Door.CLOSED if self.refusals else Door.OPEN

    @property
    def mood(self) -> str:
        if self.patience >= 7:
            return "calm"
        if self.patience >= 4:
            return "guarded"
        if self.patience >= 2:
            return "irritated"
        return "about to hang up"

    def snapshot(self) -> dict[str, object]:
        """The state as stored with each turn and shown in simulations."""
        return {**self.model_dump(mode="json"), "door": self.door.value, "mood": self.mood}


#: How the first call left the prospect, for a follow-up: (patience, interest) added to the
#: persona's start. A "not now" with a time was an invitation; a closed door or a hang-up was not.
FOLLOW_UP_START = {"open": (0, 2), "not_now": (0, 1), "spoke": (0, 0), "closed": (-2, -1), "hung_up": (-3, -1)}


def how_it_ended(ended_by: str | None, state: ProspectState) -> str:
    """How a call ended, for its follow-up: ``hung_up``, or where the door was left, where an
    open door with nothing agreed (nothing was refused) is ``spoke``."""
    if ended_by == "prospect":
        return "hung_up"
    door = state.door.value
    return "spoke" if door == "open" and not state.door_opened else door


def remember(persona: Persona, ended: str, day: str) -> tuple[str, str]:
    """What the prospect remembers of a first call on ``day`` that ended ``ended``: the memory
    for its directions, and the words it opens the follow-up with."""
    when = persona.not_now.when
    return {
        "open": (f"they called on {day} and you agreed to talk again {when}.",
                 f"Ah, you called on {day}. We said we'd talk again."),
        "not_now": (f"they called on {day}; you told them not now, and to try again {when}.",
                    f"Oh, you called on {day}. I did say to try again {when}."),
        "spoke": (f"they called on {day}; you spoke briefly and nothing was decided.",
                  f"Ah, you called on {day}."),
        "closed": (f"they called on {day}; you said no, and the call ended there.",
                   f"You called on {day}. I told you no then."),
        "hung_up": (f"they called on {day} and kept pushing, and you hung up on them.",
                    f"You again? I hung up on you on {day}."),
    }[ended]


def follow_up_state(persona: Persona, ended: str, memory: str, revealed: list[str]) -> ProspectState:
    """The prospect's state at the start of a follow-up call after a first call that ended
    ``ended`` (``open``, ``not_now``, ``spoke``, ``closed`` or ``hung_up``): harder to open after a closed
    door than after "not now"; what it said then is not news now."""
    patience, interest = FOLLOW_UP_START[ended]
    start = initial_state(persona)
    return start.model_copy(update={
        "patience": _clamp(start.patience + patience), "interest": _clamp(start.interest + interest),
        "memory": memory, "revealed": list(revealed),
    })


def initial_state(persona: Persona) -> ProspectState:
    return ProspectState(patience=persona.patience.start, interest=persona.interest.start)


def _clamp(value: int) -> int:
    return max(0, min(10, value))


class Decision(BaseModel):
    move: Move
    line: str
    fact: str | None = None


def advance(state: ProspectState, persona: Persona, reading: Reading) -> Decision:
    """Update ``state`` in place from the reading of the rep's reply and decide the next move.

    Args:
        state: the prospect's state, updated in place.
        persona: the persona being played.
        reading: the rep's reply read in context (``roleplay.understanding``).

    Returns:
        The move, the persona's example line for it, and a hidden fact when one is earned.
    """
    drains, restores = persona.patience.drains, persona.patience.restores
    pushing = reading.presses and state.refusals > 0
    asks = reading.asks_for_commitment or pushing
    if asks:
        state.asks += 1
        state.pushes += 1 if pushing else 0
    delta = 0
    delta -= drains.push if pushing else (drains.first_ask if asks else 0)
    delta -= drains.argue if reading.argues else 0
    delta -= drains.hostile if reading.hostile else 0
    delta -= drains.pitch if reading.pitches else 0
    delta -= drains.monologue if reading.structure.words > LONG_REPLY_WORDS else 0
    strange = reading.strange
    delta -= drains.off_topic if strange else 0
    genuine_questions = 0 if reading.hostile or strange or not reading.open_question else 1
    delta += restores.open_question if genuine_questions else 0
    delta += restores.acknowledge if reading.acknowledges and not reading.argues else 0
    yielding = reading.yields
    delta += restores.accept_no if yielding and state.refusals else 0
    state.patience = _clamp(state.patience + delta)
    state.open_questions += genuine_questions
    state.interest = _clamp(
        state.interest + genuine_questions - (1 if pushing or (reading.pitches and not genuine_questions) else 0)
    )

    def decide() -> Decision:
        if state.patience <= persona.hang_up.patience_at or state.pushes >= persona.hang_up.after_pushes:
            return Decision(move=Move.HANG_UP, line=persona.hang_up.line)
        if strange:
            return Decision(move=Move.DEFLECT, line="")
        if asks:
            if state.interest >= persona.interest.open_door_at and state.pushes <= 1:
                return Decision(move=Move.OPEN_DOOR, line=persona.not_now.line)
            return Decision(move=Move.REFUSE, line=_refusal_line(persona, state.refusals))
        if yielding and not genuine_questions:
            if state.pushes >= 2:
                return Decision(move=Move.CLOSE, line="")
            if state.interest >= persona.interest.open_door_at:
                return Decision(move=Move.OPEN_DOOR, line=persona.not_now.line)
            return Decision(move=Move.NOT_NOW, line=persona.not_now.line)
        if genuine_questions:
            return Decision(move=Move.ANSWER, line="", fact=_earned_fact(state, persona))
        if reading.asks_something:
            return Decision(move=Move.ANSWER, line="")
        index = min(state.objections_raised, len(persona.objections) - 1)
        state.objections_raised += 1
        return Decision(move=Move.OBJECT, line=persona.objections[index])

    decision = decide()
    state.last_move = decision.move
    if decision.move in (Move.REFUSE, Move.NOT_NOW, Move.HANG_UP, Move.CLOSE):
        state.refusals += 1
    if decision.move == Move.NOT_NOW:
        state.not_now_given = True
    if decision.move == Move.OPEN_DOOR:
        state.door_opened = True
        state.agreed = state.agreed or asks
    if decision.move == Move.HANG_UP:
        state.hung_up = True
    if decision.fact:
        state.revealed.append(decision.fact)
    return decision


def _refusal_line(persona: Persona, refusals: int) -> str:
    return persona.refusal_lines[min(refusals, len(persona.refusal_lines) - 1)]


def _earned_fact(state: ProspectState, persona: Persona) -> str | None:
    for hidden in persona.hidden_facts:
        if hidden.fact in state.revealed:
            continue
        return hidden.fact if state.open_questions >= hidden.after_questions else None
    return None


def withhold(state: ProspectState, fact: str) -> None:
    """The prospect did not say ``fact`` after all: it stays hidden for a later question."""
    if fact in state.revealed:
        state.revealed.remove(fact)


def spoken(state: ProspectState, text: str, unsaid_fact: str | None = None) -> None:
    """Keep in ``state`` what the prospect's line said: a fact it was to reveal and did not say
    stays hidden (``unsaid_fact``), and a decline it voiced counts as one."""
    if unsaid_fact:
        withhold(state, unsaid_fact)
    note_prospect_line(state, text)


def note_prospect_line(state: ProspectState, text: str) -> None:
    """Count a decline the model voiced on a move that was not itself a refusal."""
    if state.last_move in (Move.OBJECT, Move.ANSWER, Move.DEFLECT) and prospect_declines(text):
        state.refusals += 1
