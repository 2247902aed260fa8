"""Scripted reps played against a persona, with deterministic outcome checks.

The outcome (``agreed``, ``door``, ``ended_by``, ``broke_character``) is read from the
prospect's state and words by code, so the figures never depend on a model judging itself.
Runs of one script against one persona sum up into a row of the outcome table
(``outcome_row``), printed by ``evals/simulate_suite.py`` and shown by the persona studio.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roleplay.call import Call, Gym
from roleplay.call.prospect import agrees, breaks_character, names_itself, pasted_fact
from roleplay.config import Settings
from roleplay.errors import InvalidInput
from roleplay.personas import Persona
from roleplay.storage import create_store


class TakeAgain(BaseModel):
    """After the script, take reply ``reply`` again (``"last"``: the call's last reply, the one
    a hang-up answered) and say ``rep`` from there."""

    model_config = ConfigDict(extra="forbid")

    reply: Annotated[int, Field(ge=1)] | Literal["last"]
    rep: list[str] = Field(min_length=1)


class RepScript(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rep: list[str] = Field(min_length=1)
    take_again: TakeAgain | None = None


class RepScriptError(InvalidInput):
    pass


def load_rep_script(path: Path) -> RepScript:
    try:
        return RepScript.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise RepScriptError(f"{path}: {exc}") from None


def rep_script_names(directory: Path) -> list[str]:
    """The names of the rep scripts in ``directory`` (file names without ``.json``), sorted; the
    scripts the app plays are in ``settings.rep_scripts_dir``."""
    return sorted(p.stem for p in directory.glob("*.json"))


def simulate(
    settings: Settings, persona: str | Persona, script: RepScript, gym: Gym | None = None, report: bool = True,
    grade: bool = True,
) -> dict[str, Any]:
    """Play ``script`` against ``persona``; return the JSON described in ``docs/spec/cli.md``.

    ``persona`` is the id of a persona the gym has loaded, or a ``Persona`` itself (a draft
    that is not published). ``report=False`` skips the coach's report and ``grade=False`` the
    grading of each reply (the outcome checks need neither; ungraded turns have no scores and
    say why in ``unscored_reason``).
    """
    gym = gym or Gym(settings, store=create_store(settings.db_url))
    call = gym.start(persona, grade=grade)
    played = []
    for line in script.rep:
        if call.over:
            break
        result = call.say(line)
        played.append((result, line, dict(call.state.snapshot())))
    grades = call.grades(wait=None)
    turns = []
    broke = False
    facts = [f.fact for f in call.persona.hidden_facts]
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
            "third_person": names_itself(result.text, call.persona.name),
            "fact_pasted": pasted_fact(result.text, result.fallback_reason, facts),
            "fact_withheld": bool(result.withheld_fact),
        })
    again = _take_again(gym, call, script.take_again) if script.take_again else None
    if report:
        call.end()
    return {
        "persona": call.persona.id,
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
        **({"take_again": again} if again is not None else {}),
    }


def _take_again(gym: Gym, call: Call, take: TakeAgain) -> dict[str, Any] | None:
    """Take reply ``take.reply`` of ``call`` again and play ``take.rep`` from there (graded);
    ``None`` when the call ended before that reply."""
    reply = len(call.rep_turns) if take.reply == "last" else take.reply
    if not 1 <= reply <= len(call.rep_turns):
        return None
    again = gym.take_again(call.id, reply)
    said = []
    for line in take.rep:
        if again.over:
            break
        said.append((line, again.say(line)))
    grades = again.grades(wait=None)
    first = call.grades(wait=None).get(call.rep_turns[reply - 1][0])
    return {
        "session_id": again.id, "reply": reply,
        "first": {"rep": call.rep_turns[reply - 1][1],
                  "scores": first.scores if first and first.scored else None},
        "turns": [{"rep": line, "prospect": result.text,
                   "scores": g.scores if (g := grades.get(result.rep_turn_id)) and g.scored else None}
                  for line, result in said],
    }


def sentences(text: str) -> int:
    """How many sentences ``text`` has (runs ending in ``.``, ``!`` or ``?``, and the rest)."""
    return len([s for s in re.findall(r"[^.!?]+[.!?]*", text) if s.strip()])


def outcome_row(persona: str, script: str, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum up runs of ``script`` against ``persona`` (each a ``simulate`` result) into a table row.

    Shares of runs: ``agreed``, ``closed``/``not_now``/``open`` (where the door was left),
    ``hung_up`` (the prospect ended the call), ``broke`` (a spoken line broke character) and
    ``facts`` (at least one hidden fact came out). ``raw_broke`` counts the model's own lines
    that broke character before the persona's line replaced them, ``spoken`` is the share of
    prospect turns of at most three sentences and ``turns`` counts rep turns in all runs.
    ``third_person`` counts spoken lines where the prospect names itself in the third person,
    ``raw_third`` the model's lines replaced for it, ``pasted`` the lines where a hidden fact
    was put in the prospect's mouth in the persona's written sentence instead of voiced by the
    model, and ``withheld`` the lines that were to reveal a fact and left it out (the fact stays
    hidden for a later question). ``retried`` counts the runs that took a reply again (a
    script with ``take_again`` whose call got that far) and ``retry_restraint_4`` those whose
    every reply on the retry scored restraint 4 or more.
    """
    n = len(outcomes)
    if n == 0:
        raise ValueError("outcome_row needs at least one run")
    doors = Counter(o["outcome"]["door"] for o in outcomes)
    turns = [t for o in outcomes for t in o["turns"]]
    retries = [o["take_again"] for o in outcomes if o.get("take_again")]
    return {
        "persona": persona, "script": script, "runs": n,
        "agreed": sum(o["outcome"]["agreed"] for o in outcomes) / n,
        "closed": doors["closed"] / n, "not_now": doors["not_now"] / n, "open": doors["open"] / n,
        "hung_up": sum(o["outcome"]["ended_by"] == "prospect" for o in outcomes) / n,
        "broke": sum(o["outcome"]["broke_character"] for o in outcomes) / n,
        "raw_broke": sum(t["fallback_reason"] == "broke character" for t in turns),
        "facts": sum(bool(o["turns"] and o["turns"][-1]["prospect_state"]["revealed"]) for o in outcomes) / n,
        "spoken": sum(sentences(t["prospect"]) <= 3 for t in turns) / max(1, len(turns)),
        "third_person": sum(t.get("third_person", False) for t in turns),
        "raw_third": sum(t["fallback_reason"] == "spoke of itself in the third person" for t in turns),
        "pasted": sum(t.get("fact_pasted", False) for t in turns),
        "withheld": sum(t.get("fact_withheld", False) for t in turns),
        "retried": len(retries),
        "retry_restraint_4": sum(bool(r["turns"]) and all((t["scores"] or {}).get("restraint", 0) >= 4
                                                          for t in r["turns"]) for r in retries),
        "turns": len(turns),
        "broke_lines": [t["prospect"] for t in turns if breaks_character(t["prospect"])],
    }


#: The outcome table's columns: row key, heading, width in the text table, and whether the
#: value is a share of runs (shown as a percentage).
COLUMNS: list[tuple[str, str, int, bool]] = [
    ("persona", "persona", 22, False), ("script", "script", 14, False), ("runs", "runs", 4, False),
    ("agreed", "agreed", 6, True), ("closed", "closed", 6, True), ("not_now", "not_now", 7, True),
    ("open", "open", 5, True), ("hung_up", "hung_up", 7, True), ("broke", "broke", 5, True),
    ("raw_broke", "raw_broke", 9, False), ("facts", "facts", 5, True), ("spoken", "spoken", 6, True),
    ("third_person", "3rd_pers", 8, False), ("raw_third", "raw_3rd", 7, False), ("pasted", "pasted", 6, False),
    ("withheld", "withheld", 8, False), ("retried", "retried", 7, False), ("retry_restraint_4", "retry_R4+", 9, False),
    ("turns", "turns", 5, False),
]
_TEXT = ("persona", "script")


def format_header() -> str:
    """The headings of the text outcome table."""
    return " ".join(f"{head:<{width}}" if key in _TEXT else f"{head:>{width}}" for key, head, width, _ in COLUMNS)


def format_row(row: dict[str, Any]) -> str:
    """One row of the text outcome table (shares as whole percentages)."""
    return " ".join(
        f"{row[key]:<{width}}" if key in _TEXT else f"{row[key]:>{width}.0%}" if share else f"{row[key]:>{width}}"
        for key, _, width, share in COLUMNS
    )


def row_cells(row: dict[str, Any], keys: list[str]) -> list[str | int]:
    """The values of ``row`` under ``keys`` for a table view: shares as whole percentages."""
    shares = {key for key, _, _, share in COLUMNS if share}
    return [f"{row[key]:.0%}" if key in shares else row[key] for key in keys]
