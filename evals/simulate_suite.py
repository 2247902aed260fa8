"""Run every rep script (``rep_scripts_dir``, default ``roleplay/content/rep_scripts/``) against every
persona and print a table.

    .venv/bin/python evals/simulate_suite.py --runs 5 [--backend local] [--persona ID ...] [--json out.json]

Outcomes are checked in code (``agreed``, ``door``, ``ended_by``, ``broke_character``), so the
figures do not depend on a model judging itself. ``raw_broke`` counts the model's own words
that broke character before the persona's line replaced them; ``spoken`` is the share of
prospect turns of at most three sentences.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

from roleplay.call import Gym
from roleplay.cli.common import Progress
from roleplay.config import Backend, load_settings
from roleplay.measure.simulation import (
    format_header,
    format_row,
    load_rep_script,
    outcome_row,
    rep_script_names,
    simulate,
)
from roleplay.storage import create_store


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
    personas = args.persona or sorted(gym.personas)
    scripts = args.script or rep_script_names(settings.rep_scripts_dir)
    rows, runs = [], []
    started = time.monotonic()
    total = len(personas) * len(scripts) * args.runs
    with Progress("simulating", unit="call") as bar:
        for persona in personas:
            for name in scripts:
                script = load_rep_script(settings.rep_scripts_dir / f"{name}.json")
                outcomes = []
                for _ in range(args.runs):
                    result = simulate(settings, persona, script, gym=gym, report=False, grade=args.grade)
                    runs.append({"script": name, **result})
                    outcomes.append(result)
                    bar(len(runs), total)
                rows.append(outcome_row(persona, name, outcomes))
                tqdm.write(format_row(rows[-1]), file=sys.stderr)
    print(f"\n{format_header()}")
    for row in rows:
        print(format_row(row))
    print(f"\n{len(runs)} runs in {time.monotonic() - started:.0f} s, backend {args.backend}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
