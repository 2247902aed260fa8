"""``roleplay eval …`` and ``roleplay fit reader``: measuring the grader, the reader and the coaching."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from roleplay.cli.common import Progress, backend_settings, golden_or_none

#: The golden files and the eval results are the developers', kept in a checkout and not in the
#: package: the defaults that name them are read from the working directory (a checkout's root).
DEV_GOLD = Path("evals/golden/dev.jsonl")
RESULTS_DIR = Path("evals/results")


def cmd_eval_grading(args: argparse.Namespace) -> int:
    from roleplay.backends import create_chat_model
    from roleplay.config import Backend, Role
    from roleplay.judge import Grader
    from roleplay.measure.evaluation import compare, run_grading_eval, save_run, summary_table
    from roleplay.measure.gates import (
        GateError,
        baseline_entry,
        comparison_lines,
        gate,
        paired_comparison,
        parse_fail_under,
    )
    from roleplay.measure.html_report import render_html
    from roleplay.measure.runs import Run, RunError

    settings = backend_settings(args)
    gold, results = Path(args.gold), Path(args.results_dir)
    baseline_path = Path(args.baseline)
    if (cases := golden_or_none(args.gold)) is None:
        return 2
    cases = cases[: args.limit] if args.limit else cases
    backend = settings.grader.backend
    try:
        floors = parse_fail_under(args.fail_under)
        if args.concurrency > 1 and backend == Backend.LOCAL:
            raise GateError("--concurrency: the embedded model answers one request at a time; "
                            "use it with --backend openai")
        against = json.loads(Path(args.against).read_text(encoding="utf-8")) if args.against else None
        grader = Grader(create_chat_model(Role.GRADER, settings), settings.prompts_dir)
        run = (Run.resume(args.resume, results, gold, backend.value) if args.resume
               else Run.start(results, gold, backend.value, settings.grader.model or ""))
    except (GateError, RunError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    graded = run.graded()
    print(f"run {run.name}: {len(graded)} of {len(cases)} cases graded before; resume with --resume {run.name}",
          file=sys.stderr)
    with Progress("grading") as bar:
        report = run_grading_eval(grader, cases, backend.value, bar, graded=graded, record=run.recorder(),
                                  concurrency=args.concurrency)
    report["run"] = run.name
    if not args.no_save:
        print(f"report written to {save_run(report, results, gold)}", file=sys.stderr)
    baselines = json.loads(baseline_path.read_text()) if baseline_path.exists() else {}
    for line in compare(report, baselines.get(gold.stem, {})):
        print(line, file=sys.stderr)
    comparison = paired_comparison(report, against) if against else None
    if comparison:
        report["comparison"] = comparison
        print("\n".join(comparison_lines(comparison)), file=sys.stderr)
    if args.html:
        Path(args.html).write_text(render_html(report, str(gold), comparison), encoding="utf-8")
        print(f"page written to {args.html}", file=sys.stderr)
    if args.save_baseline:
        baselines[gold.stem] = baseline_entry(report, f"{gold} ({len(cases)} cases), run {run.name}")
        baseline_path.write_text(json.dumps(baselines, indent=1) + "\n")
        print(f"baseline for {gold.stem} written to {baseline_path}", file=sys.stderr)
    print(json.dumps(report) if args.json else "\n".join(summary_table(report)))
    try:
        failures = gate(report, floors, args.max_drop, baselines.get(gold.stem))
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in failures:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if failures else 0


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
    with Progress("robustness") as bar:
        report = run_robustness(grader, cases, bar)
    print(json.dumps(report) if args.json else "\n".join(robustness_table(report)))
    return 0


def cmd_eval_coaching(args: argparse.Namespace) -> int:
    from roleplay.call import Gym
    from roleplay.judge import Report
    from roleplay.measure.coaching import PlayedCall, coaching_table, run_coaching_eval
    from roleplay.measure.simulation import load_rep_script, rep_script_names, simulate
    from roleplay.storage import create_store

    settings = backend_settings(args, database_url="sqlite://")
    cases = []
    if args.gold or not args.calls:
        if not args.gold and not DEV_GOLD.is_file():
            print(f"error: no --gold given, and there is no {DEV_GOLD} under the working directory (the golden "
                  "files come with a checkout, not with the package): run from the checkout's root, or pass "
                  "--gold FILE or --calls N", file=sys.stderr)
            return 2
        if (cases := golden_or_none(args.gold or str(DEV_GOLD))) is None:
            return 2
        cases = cases[: args.limit] if args.limit else cases
    gym = Gym(settings, store=create_store(settings.db_url))
    plays = [(p, s) for s in (args.script or rep_script_names(settings.rep_scripts_dir)) for p in sorted(gym.personas)]

    def simulate_call(i: int) -> PlayedCall:
        persona_id, script = plays[i % len(plays)]
        played = simulate(settings, persona_id, load_rep_script(settings.rep_scripts_dir / f"{script}.json"), gym=gym)
        record = gym.store.get_session(played["session_id"])
        return PlayedCall(
            replies=[(t.text, record.grades.get(t.id)) for t in record.turns if t.speaker == "rep"],
            report=Report.model_validate(record.report), persona=gym.personas[persona_id],
            prospect=[(t.text, t.meta or {}) for t in record.turns[1:] if t.speaker == "prospect"],
        )

    try:
        with Progress("checking coaching") as bar:
            result = run_coaching_eval(gym.grader, cases, gym.personas, settings.grader.backend.value,
                                       simulate_call, args.calls, bar)
    finally:
        gym.close()
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
