"""``roleplay eval …`` and ``roleplay fit reader``: measuring the grader, the reader and the coaching."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from roleplay import PROJECT_ROOT
from roleplay.cli.common import backend_settings, golden_or_none, progress


def cmd_eval_grading(args: argparse.Namespace) -> int:
    from roleplay.backends import create_chat_model
    from roleplay.config import Role
    from roleplay.judge import Grader
    from roleplay.measure.evaluation import compare, run_grading_eval, save_run, summary_table
    from roleplay.measure.golden import GoldenError, load_golden

    settings = backend_settings(args)
    gold = Path(args.gold)
    try:
        cases = load_golden(gold)
    except (GoldenError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        cases = cases[: args.limit]
    grader = Grader(create_chat_model(Role.GRADER, settings), settings.prompts_dir)
    report = run_grading_eval(grader, cases, settings.grader.backend.value, progress)
    print(file=sys.stderr)
    if not args.no_save:
        path = save_run(report, Path(args.results_dir), gold)
        print(f"run written to {path}", file=sys.stderr)
    baseline_path = Path(args.results_dir) / "baseline.json"
    if baseline_path.exists():
        baseline = json.loads(baseline_path.read_text())
        for line in compare(report, baseline.get(gold.stem, baseline)):
            print(line, file=sys.stderr)
    if args.json:
        print(json.dumps(report))
    else:
        print("\n".join(summary_table(report)))
    return 0


def cmd_eval_robustness(args: argparse.Namespace) -> int:
    from roleplay.backends import create_chat_model
    from roleplay.config import Role
    from roleplay.judge import Grader
    from roleplay.measure.golden import GoldenError, load_golden
    from roleplay.measure.robustness import robustness_table, run_robustness

    settings = backend_settings(args)
    try:
        cases = load_golden(Path(args.gold))
    except (GoldenError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cases = cases[: args.limit] if args.limit else cases
    grader = Grader(create_chat_model(Role.GRADER, settings), settings.prompts_dir)
    report = run_robustness(grader, cases, progress)
    print(file=sys.stderr)
    print(json.dumps(report) if args.json else "\n".join(robustness_table(report)))
    return 0


def cmd_eval_coaching(args: argparse.Namespace) -> int:
    from roleplay.call import Gym
    from roleplay.judge import Report
    from roleplay.measure.coaching import PlayedCall, coaching_table, run_coaching_eval
    from roleplay.measure.simulation import REP_SCRIPTS, load_rep_script, rep_script_names, simulate
    from roleplay.storage import create_store

    settings = backend_settings(args, database_url="sqlite://")
    cases = []
    if args.gold or not args.calls:
        if (cases := golden_or_none(args.gold or str(PROJECT_ROOT / "evals" / "golden" / "dev.jsonl"))) is None:
            return 2
        cases = cases[: args.limit] if args.limit else cases
    gym = Gym(settings, store=create_store(settings.db_url))
    plays = [(p, s) for s in (args.script or rep_script_names()) for p in sorted(gym.personas)]

    def simulate_call(i: int) -> PlayedCall:
        persona_id, script = plays[i % len(plays)]
        played = simulate(settings, persona_id, load_rep_script(REP_SCRIPTS / f"{script}.json"), gym=gym)
        record = gym.store.get_session(played["session_id"])
        return PlayedCall(
            replies=[(t.text, record.grades.get(t.id)) for t in record.turns if t.speaker == "rep"],
            report=Report.model_validate(record.report), persona=gym.personas[persona_id],
            prospect=[(t.text, t.meta or {}) for t in record.turns[1:] if t.speaker == "prospect"],
        )

    try:
        result = run_coaching_eval(gym.grader, cases, gym.personas, settings.grader.backend.value, simulate_call,
                                   args.calls, progress)
    finally:
        gym.close()
    print(file=sys.stderr)
    print(json.dumps(result) if args.json else "\n".join(coaching_table(result)))
    return 0


def cmd_eval_signals(args: argparse.Namespace) -> int:
    from roleplay.measure.evaluation import run_signals_eval, signals_table

    if (cases := golden_or_none(args.gold)) is None:
        return 2
    report = run_signals_eval(cases)
    print(json.dumps(report) if args.json else "\n".join(signals_table(report)))
    return 0


def cmd_eval_reading(args: argparse.Namespace) -> int:
    from roleplay.measure.evaluation import reading_table, run_reading_eval
    from roleplay.understanding import Reader

    if (cases := golden_or_none(args.gold)) is None:
        return 2
    report = run_reading_eval(cases, Reader())
    print(json.dumps(report) if args.json else "\n".join(reading_table(report)))
    return 0


def cmd_fit_reader(args: argparse.Namespace) -> int:
    from roleplay.measure.fit_reader import NotDevError, fit_reader
    from roleplay.measure.golden import GoldenError
    from roleplay.understanding.heads import HEADS_FILE

    try:
        fit_reader([Path(g) for g in args.gold], Path(args.out) if args.out else HEADS_FILE,
                   say=lambda line: print(line, file=sys.stderr))
    except (GoldenError, NotDevError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
