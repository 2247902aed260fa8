"""The call: a rep talks, a prospect answers, every turn is stored before anything else.

- ``gym``: ``Gym``, the service a process shares (personas, models, storage, grading workers),
  and ``Call``, one conversation and its turn engine. Any number of processes may serve one
  database: a call acts on its latest stored state, and each turn takes its position or none.
- ``jobs``: ``GradingJobs``, which grades each reply at once in its process and keeps the job in
  the database, so a process killed mid-grade leaves the grade to another.
- ``prospect``: the prospect's state machine (``advance`` picks the move from the reading of
  the rep's reply) and its voice (``Prospect`` has the model say the move, then checks it).

The reading of a reply comes from ``roleplay.understanding``; grades and reports from
``roleplay.judge``.
"""

from roleplay.call.call import Call
from roleplay.call.gym import Gym
from roleplay.call.jobs import GradingJobs
from roleplay.call.prospect import Prospect
from roleplay.call.state import Decision, Door, Move, ProspectState, advance, initial_state
from roleplay.call.turn import (
    GRADING_SKIPPED,
    CallEnded,
    CallMoved,
    InputError,
    Reply,
    TurnResult,
    TurnTimes,
    clean_message,
)

__all__ = [
    "GRADING_SKIPPED", "Call", "CallEnded", "CallMoved", "Decision", "Door", "GradingJobs", "Gym", "InputError",
    "Move", "Prospect", "ProspectState", "Reply", "TurnResult", "TurnTimes", "advance", "clean_message",
    "initial_state",
]
