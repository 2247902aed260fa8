"""The follow-up call, checked on every persona: does the prospect refer to the first call
correctly in its first two turns, and is it harder to open after a closed door than after
"not now"?

    .venv/bin/python evals/follow_up_check.py [--backend local] [--persona ID ...] [--json out.json]

For each persona two first calls are played (ungraded): one that asks once and then asks about
their world and accepts a later call (it usually ends "not now" or open), and one that pushes
once and ends (closed). Each gets its follow-up call, where the rep says who they are and asks
how things stand. Checked in code: the prospect's first words name the day of the first call
and how it ended; its second line does not treat the rep as a stranger. "Harder to open" is the
follow-up's starting patience and interest after each ending.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from roleplay.call import Gym
from roleplay.call.state import how_it_ended
from roleplay.config import Backend, load_settings
from roleplay.storage import create_store

FIRST_OPEN = ["Hi, it's Sam. Is now a bad time for a quick question?",
              "Understood. What would have to change for this to be worth a look later?",
              "That's fair. Would it be all right if I called you back then?"]
FIRST_CLOSED = ["Hi, it's Sam. Could we book twenty minutes next week?"]
BACK = "Hi, it's Sam again, as we discussed last time. How are things looking now?"
#: The prospect treating the caller as someone it never spoke to.
STRANGER = re.compile(r"(?i)\b(?:never (?:spoken|talked|heard)|who is this|who are you|don't know you|first time)\b")
#: How the first words must say the first call ended, by ending.
RECALL = {"not_now": "try again", "open": "talk again", "spoke": "you called on", "closed": "told you no",
          "hung_up": "hung up on you"}


def check(gym: Gym, persona: str, first_lines: list[str]) -> dict:
    first = gym.start(persona, grade=False)
    for line in first_lines:
        if first.over:
            break
        first.say(line)
    first.end(grade_timeout=0)
    record = gym.store.get_session(first.id)
    ended = how_it_ended(record.ended_by, first.state)
    back = gym.follow_up(first.id)
    start = back.state.model_copy()
    opening = back.lines[0].text
    day = f"{record.created_at:%A} {record.created_at.day} {record.created_at:%B}"
    second = back.say(BACK).text if not back.over else ""
    return {
        "persona": persona, "first_ended": ended, "opening": opening, "second": second,
        "recalls_day": day in opening, "recalls_ending": RECALL[ended] in opening,
        "treats_as_stranger": bool(STRANGER.search(second)),
        "start": {"patience": start.patience, "interest": start.interest},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="local", choices=[b.value for b in Backend])
    parser.add_argument("--persona", nargs="*")
    parser.add_argument("--json", help="write every run to this file")
    args = parser.parse_args()
    settings = load_settings(backend=args.backend, database_url="sqlite://")
    gym = Gym(settings, store=create_store("sqlite://"))
    runs = []
    for persona in args.persona or sorted(gym.personas):
        pair = {kind: check(gym, persona, lines) for kind, lines in (("open", FIRST_OPEN), ("closed", FIRST_CLOSED))}
        runs.append(pair)
        for kind, run in pair.items():
            ok = run["recalls_day"] and run["recalls_ending"] and not run["treats_as_stranger"]
            print(f"{persona:22} {kind:6} first call {run['first_ended']:8} refers correctly: {'yes' if ok else 'NO '}"
                  f"  start patience {run['start']['patience']}, interest {run['start']['interest']}"
                  f"\n    1: {run['opening']}\n    2: {run['second']}", flush=True)
    gym.close()
    correct = sum(r["recalls_day"] and r["recalls_ending"] and not r["treats_as_stranger"]
                  for pair in runs for r in pair.values())
    pairs = [p for p in runs if p["closed"]["first_ended"] in ("closed", "hung_up")
             and p["open"]["first_ended"] in ("not_now", "open")]
    harder = sum((p["closed"]["start"]["patience"], p["closed"]["start"]["interest"])
                 < (p["open"]["start"]["patience"], p["open"]["start"]["interest"]) for p in pairs)
    print(f"\nfollow-ups referring to the first call correctly in their first two turns: {correct} of {2 * len(runs)}; "
          f"harder to open after a closed door than after not now/open: {harder} of {len(pairs)} personas "
          f"where the first calls ended that way; backend {args.backend}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
