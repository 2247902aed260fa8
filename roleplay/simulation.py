"""Scripted reps played against a persona, with deterministic outcome checks.

The outcome (``agreed``, ``door``, ``ended_by``, ``broke_character``) is read from the
prospect's state and words by code, so the figures never depend on a model judging itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from roleplay.calls import Gym
from roleplay.config import Settings
from roleplay.prospect import agrees, breaks_character
from roleplay.storage import create_store


class RepScript(BaseModel):
    rep: list[str] = Field(min_length=1)


class RepScriptError(ValueError):
    pass


def load_rep_script(path: Path) -> RepScript:
    try:
        return RepScript.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise RepScriptError(f"{path}: {exc}") from None


def simulate(
    settings: Settings, persona_id: str, script: RepScript, gym: Gym | None = None, report: bool = True
) -> dict[str, Any]:
    """Play ``script`` against ``persona_id``; return the JSON described in ``shared/spec/cli.md``.

    ``report=False`` skips the coach's report (the outcome checks do not need it).
    """
    gym = gym or Gym(settings, store=create_store(settings.db_url))
    call = gym.start(persona_id)
    played = []
    for line in script.rep:
        if call.over:
            break
        result = call.say(line)
        played.append((result, line, dict(call.state.snapshot())))
    grades = call.grades(wait=None)
    turns = []
    broke = False
    for result, line, state in played:
        grade = grades.get(result.rep_turn_id)
        broke = broke or breaks_character(result.text)
        turns.append({
            "rep": line,
            "prospect": result.text,
            "scores": grade.scores if grade and grade.scored else None,
            "unscored_reason": None if grade and grade.scored else (grade.unscored_reason if grade else "pending"),
            "prospect_state": state,
            "fallback_reason": result.fallback_reason,
        })
    if report:
        call.end()
    return {
        "persona": persona_id,
        "backend": settings.prospect.backend.value,
        "session_id": call.id,
        "turns": turns,
        "outcome": {
            "ended_by": "prospect" if call.ended_by == "prospect" else "script",
            "agreed": bool(call.state.agreed) or any(agrees(t["prospect"]) for t in turns
                                                     if t["prospect_state"]["last_move"] != "open_door"),
            "door": call.state.door.value,
            "broke_character": broke,
        },
    }
