"""Run every rep script in ``evals/rep_scripts/`` against every persona and print a table.

    .venv/bin/python evals/simulate_suite.py --runs 5 [--backend local] [--persona ID ...] [--json out.json]

Outcomes are checked in code (``agreed``, ``door``, ``ended_by``, ``broke_character``), so the
figures do not depend on a model judging itself. ``raw_broke`` counts the model's own words
that broke character before the persona's line replaced them; ``spoken`` is the share of
prospect turns of at most three sentences.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from roleplay.calls import Gym
from roleplay.config import Backend, load_settings
from roleplay.prospect import breaks_character
from roleplay.simulation import load_rep_script, simulate
from roleplay.storage import create_store

SCRIPTS = Path(__file__).parent / "rep_scripts"


def sentences(text: str) -> int:
    return len([s for s in re.findall(r"[^.!?]+[.!?]*", text) if s.strip()])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", default="local", choices=[b.value for b in Backend])
    parser.add_argument("--persona", nargs="*")
    parser.add_argument("--script", nargs="*")
    parser.add_argument("--json", help="write every run to this file")
    parser.add_argument("--grade", action="store_true", help="also grade each reply (slower)")
    args = parser.parse_args()

    settings = load_settings(backend=args.backend, database_url="sqlite://")
    gym = Gym(settings, store=create_store("sqlite://"))
    if not args.grade:
        gym.pool.submit = _skip_grading  # type: ignore[method-assign]
    personas = args.persona or sorted(gym.personas)
    scripts = args.script or sorted(p.stem for p in SCRIPTS.glob("*.json"))
    rows, runs = [], []
    started = time.monotonic()
    for persona in personas:
        for name in scripts:
            script = load_rep_script(SCRIPTS / f"{name}.json")
            outcomes = []
            for _ in range(args.runs):
                result = simulate(settings, persona, script, gym=gym, report=False)
                runs.append({"script": name, **result})
                outcomes.append(result)
            rows.append(_row(persona, name, outcomes))
            print(_format(rows[-1]), file=sys.stderr, flush=True)
    print(f"\n{'persona':<22} {'script':<14} {'runs':>4} {'agreed':>6} {'closed':>6} {'not_now':>7} {'open':>5} "
          f"{'hung_up':>7} {'broke':>5} {'raw_broke':>9} {'facts':>5} {'spoken':>6} {'turns':>5}")
    for row in rows:
        print(_format(row))
    print(f"\n{len(runs)} runs in {time.monotonic() - started:.0f} s, backend {args.backend}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "runs": runs}, indent=1))
    return 0


class _Done:
    def result(self, timeout=None):
        from roleplay.grading import Grade

        return Grade.unscored("grading skipped in this suite")

    def done(self):
        return True


def _skip_grading(*_args, **_kwargs):
    return _Done()


def _row(persona: str, script: str, outcomes: list[dict]) -> dict:
    n = len(outcomes)
    doors = Counter(o["outcome"]["door"] for o in outcomes)
    turns = [t for o in outcomes for t in o["turns"]]
    return {
        "persona": persona, "script": script, "runs": n,
        "agreed": sum(o["outcome"]["agreed"] for o in outcomes) / n,
        "closed": doors["closed"] / n, "not_now": doors["not_now"] / n, "open": doors["open"] / n,
        "hung_up": sum(o["outcome"]["ended_by"] == "prospect" for o in outcomes) / n,
        "broke": sum(o["outcome"]["broke_character"] for o in outcomes) / n,
        "raw_broke": sum(t["fallback_reason"] == "broke character" for t in turns),
        "facts": sum(bool(o["turns"] and o["turns"][-1]["prospect_state"]["revealed"]) for o in outcomes) / n,
        "spoken": sum(sentences(t["prospect"]) <= 3 for t in turns) / max(1, len(turns)),
        "turns": len(turns),
        "broke_lines": [t["prospect"] for t in turns if breaks_character(t["prospect"])],
    }


def _format(r: dict) -> str:
    return (f"{r['persona']:<22} {r['script']:<14} {r['runs']:>4} {r['agreed']:>6.0%} {r['closed']:>6.0%} "
            f"{r['not_now']:>7.0%} {r['open']:>5.0%} {r['hung_up']:>7.0%} {r['broke']:>5.0%} {r['raw_broke']:>9} "
            f"{r['facts']:>5.0%} {r['spoken']:>6.0%} {r['turns']:>5}")


if __name__ == "__main__":
    sys.exit(main())
