"""Command line: ``roleplay serve | personas validate | eval grading|robustness|signals | simulate |
bench | users | export | model``.

The commands in ``shared/spec/cli.md`` and their JSON outputs are a contract with outside
scripts: add options freely, never break these.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from roleplay import PROJECT_ROOT
from roleplay.config import Backend, load_settings


def _backend_settings(args: argparse.Namespace, **extra: object):
    overrides: dict[str, object] = dict(extra)
    if getattr(args, "backend", None):
        overrides["backend"] = Backend(args.backend)
        for role in ("prospect", "grader", "coach"):
            overrides[role] = {"backend": Backend(args.backend)}
    return load_settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    from roleplay.app import TeamModeError, serve

    settings = _backend_settings(args, **({"team_mode": True} if args.team else {}))
    try:
        serve(settings, host=args.host, port=args.port)
    except TeamModeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _accounts():
    from roleplay.accounts import Accounts
    from roleplay.storage import create_store

    return Accounts(create_store(load_settings().db_url))


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line on stdin with ``--password-stdin``, else asked twice at the
    terminal. Never a command-line argument, which other users can see in the process list."""
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    from roleplay.accounts import AccountError

    try:
        user = _accounts().add(args.username, _read_password(args), args.role, args.team)
    except (AccountError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"created {user.username} ({user.role.value}{', team ' + user.team if user.team else ''})")
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from roleplay.accounts import AccountError

    try:
        _accounts().set_password(args.username, _read_password(args))
    except (AccountError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"password of {args.username} changed")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    users = _accounts().users(team=args.team)
    if args.json:
        print(json.dumps([u.model_dump(mode="json") for u in users]))
    else:
        for u in users:
            print(f"{u.username}\t{u.role.value}\t{u.team or '-'}")
    return 0


def cmd_personas_validate(args: argparse.Namespace) -> int:
    from roleplay.personas import validate_paths

    paths = [Path(p) for p in args.paths] or [load_settings().personas_dir]
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        print(f"{p}: (file): does not exist. Fix: check the path", file=sys.stderr)
    errors = validate_paths([p for p in paths if p.exists()])
    for err in errors:
        print(str(err), file=sys.stderr)
    if errors or missing:
        count = sum(len(e.problems) for e in errors) + len(missing)
        print(f"{count} problem(s) found", file=sys.stderr)
        return 1
    print("all personas valid")
    return 0


def cmd_coaching_validate(args: argparse.Namespace) -> int:
    from roleplay.coaching import LibraryError, load_library

    path = Path(args.path) if args.path else PROJECT_ROOT / "prompts" / "coaching.yaml"
    try:
        library = load_library(path)
    except LibraryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"coaching library valid: {len(library.entries)} entries")
    return 0


def cmd_eval_grading(args: argparse.Namespace) -> int:
    from roleplay.config import Role
    from roleplay.evaluation import GoldenError, compare, load_golden, run_grading_eval, save_run, summary_table
    from roleplay.grading import Grader
    from roleplay.models import create_chat_model

    settings = _backend_settings(args)
    gold = Path(args.gold)
    try:
        cases = load_golden(gold)
    except (GoldenError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        cases = cases[: args.limit]
    grader = Grader(create_chat_model(Role.GRADER, settings), settings.prompts_dir)
    report = run_grading_eval(grader, cases, settings.grader.backend.value, _progress)
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
    from roleplay.config import Role
    from roleplay.evaluation import GoldenError, load_golden, robustness_table, run_robustness
    from roleplay.grading import Grader
    from roleplay.models import create_chat_model

    settings = _backend_settings(args)
    try:
        cases = load_golden(Path(args.gold))
    except (GoldenError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cases = cases[: args.limit] if args.limit else cases
    grader = Grader(create_chat_model(Role.GRADER, settings), settings.prompts_dir)
    report = run_robustness(grader, cases, _progress)
    print(file=sys.stderr)
    print(json.dumps(report) if args.json else "\n".join(robustness_table(report)))
    return 0


def cmd_eval_coaching(args: argparse.Namespace) -> int:
    from roleplay.calls import Gym
    from roleplay.coach import Report
    from roleplay.coaching.evaluation import PlayedCall, coaching_table, run_coaching_eval
    from roleplay.simulation import REP_SCRIPTS, load_rep_script, rep_script_names, simulate
    from roleplay.storage import create_store

    settings = _backend_settings(args, database_url="sqlite://")
    cases = []
    if args.gold or not args.calls:
        if (cases := _golden_or_none(args.gold or str(PROJECT_ROOT / "evals" / "golden" / "dev.jsonl"))) is None:
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
                                   args.calls, _progress)
    finally:
        gym.close()
    print(file=sys.stderr)
    print(json.dumps(result) if args.json else "\n".join(coaching_table(result)))
    return 0


def _golden_or_none(path: str):
    """The cases of a golden file, or None after saying on stderr why it can't be read."""
    from roleplay.evaluation import GoldenError, load_golden

    try:
        return load_golden(Path(path))
    except (GoldenError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def cmd_eval_signals(args: argparse.Namespace) -> int:
    from roleplay.evaluation import run_signals_eval, signals_table

    if (cases := _golden_or_none(args.gold)) is None:
        return 2
    report = run_signals_eval(cases)
    print(json.dumps(report) if args.json else "\n".join(signals_table(report)))
    return 0


def cmd_eval_reading(args: argparse.Namespace) -> int:
    from roleplay.evaluation import reading_table, run_reading_eval
    from roleplay.understanding import Reader

    if (cases := _golden_or_none(args.gold)) is None:
        return 2
    report = run_reading_eval(cases, Reader())
    print(json.dumps(report) if args.json else "\n".join(reading_table(report)))
    return 0


def cmd_fit_reader(args: argparse.Namespace) -> int:
    from roleplay.evaluation import GoldenError
    from roleplay.understanding.fit import NotDevError, fit_reader
    from roleplay.understanding.heads import HEADS_FILE

    try:
        fit_reader([Path(g) for g in args.gold], Path(args.out) if args.out else HEADS_FILE,
                   say=lambda line: print(line, file=sys.stderr))
    except (GoldenError, NotDevError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _progress(i: int, n: int) -> None:
    print(f"\rgraded {i}/{n}", end="", file=sys.stderr, flush=True)


def cmd_simulate(args: argparse.Namespace) -> int:
    from roleplay.simulation import RepScriptError, load_rep_script, simulate

    settings = _backend_settings(args, database_url=args.database_url or "sqlite://")
    try:
        script = load_rep_script(Path(args.rep_script))
    except RepScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = simulate(settings, args.persona, script)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        for turn in result["turns"]:
            scores = turn["scores"] or {"unscored": turn.get("unscored_reason")}
            move = turn["prospect_state"]["last_move"]
            print(f"REP: {turn['rep']}\n  PROSPECT [{move}]: {turn['prospect']}\n  {scores}")
        print(f"outcome: {result['outcome']}")
    return 0


def _open_existing_store(url: str):
    """The store at ``url``, or ``None`` (after saying why) when a SQLite file is missing:
    an export must not create an empty database."""
    from roleplay.storage import Store

    path = url.removeprefix("sqlite:///").split("?")[0]
    if url.startswith("sqlite:///") and not Path(path).exists():
        print(f"error: no database at {path} "
              "(set ROLEPLAY_DATABASE_URL or database_url in roleplay.toml)", file=sys.stderr)
        return None
    return Store(url)


def _write_out(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8", newline="")
        print(f"written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_export_session(args: argparse.Namespace) -> int:
    from roleplay.exports import session_json, session_markdown

    store = _open_existing_store(load_settings().db_url)
    if store is None:
        return 1
    try:
        record = store.get_session(args.session_id)
    finally:
        store.close()
    if record is None:
        print(f"error: no session '{args.session_id}' (see the app's past sessions for ids)", file=sys.stderr)
        return 1
    _write_out(session_markdown(record) if args.format == "md" else session_json(record, audit=args.audit), args.out)
    return 0


def cmd_export_scores(args: argparse.Namespace) -> int:
    from roleplay.exports import scores_csv

    store = _open_existing_store(load_settings().db_url)
    if store is None:
        return 1
    from roleplay.accounts import Accounts

    try:
        owners = args.owners
        if args.team:
            members = [u.username for u in Accounts(store).users(team=args.team)]
            if not members:
                print(f"error: no accounts in team '{args.team}' (see `roleplay users list`)", file=sys.stderr)
                return 1
            owners = [*(owners or []), *members]
        rows = store.score_rows(owners)
    finally:
        store.close()
    _write_out(scores_csv(rows), args.out)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from roleplay.bench import run_bench

    settings = load_settings(backend=Backend.LOCAL)
    result = run_bench(settings, fake_only=args.fake)
    if args.json:
        print(json.dumps(result))
        return 0
    for section in ("app", "baseline"):
        if section in result:
            summary = {k: v for k, v in result[section].items() if k != "per_turn"}
            print(f"{section}: {json.dumps(summary)}")
            for turn in result[section]["per_turn"]:
                print(f"  {json.dumps(turn)}")
    if "ratios" in result:
        print(f"app/baseline: {json.dumps(result['ratios'])}")
    print(f"fake: {json.dumps(result['fake'])}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from roleplay.embedded import EmbeddedModelError, ensure_embedded_model

    try:
        path = ensure_embedded_model(load_settings().model_cache_dir)
    except EmbeddedModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"embedded model ready: {path} (sha256 verified)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roleplay", description="A practice gym for sales pushback.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command")
    backends = [b.value for b in Backend]

    serve = sub.add_parser("serve", help="start the browser app on 127.0.0.1")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--backend", choices=backends, help="backend for every role (default: settings)")
    serve.add_argument("--team", action="store_true",
                       help="team mode: everyone signs in (accounts: `roleplay users add`)")
    serve.set_defaults(func=cmd_serve)

    users = sub.add_parser("users", help="accounts for team mode").add_subparsers(dest="users_command", required=True)
    add = users.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["rep", "manager", "enablement"])
    add.add_argument("--team", help="the team: a manager sees the sessions of their team's reps")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line on stdin")
    add.set_defaults(func=cmd_users_add)
    passwd = users.add_parser("passwd", help="set an account's password (asks for it)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from one line on stdin")
    passwd.set_defaults(func=cmd_users_passwd)
    listing = users.add_parser("list", help="accounts, their roles and teams")
    listing.add_argument("--team")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_users_list)

    personas = sub.add_parser("personas", help="persona files").add_subparsers(dest="personas_command", required=True)
    validate = personas.add_parser("validate", help="validate persona files; exit 1 on any problem")
    validate.add_argument("paths", nargs="*", help="files or directories (default: personas/)")
    validate.set_defaults(func=cmd_personas_validate)

    coaching_lib = sub.add_parser("coaching", help="the coaching library").add_subparsers(
        dest="coaching_command", required=True)
    check = coaching_lib.add_parser("validate", help="validate the coaching library; exit 1 on any problem",
                                    description="Example: roleplay coaching validate prompts/coaching.yaml")
    check.add_argument("path", nargs="?", help="the library file (default: prompts/coaching.yaml)")
    check.set_defaults(func=cmd_coaching_validate)

    evals = sub.add_parser("eval", help="evaluations").add_subparsers(dest="eval_command", required=True)
    grading = evals.add_parser("grading", help="grade a golden file and report agreement with the labels")
    grading.add_argument("--gold", required=True, help="golden JSONL file (shared/spec/golden-format.md)")
    grading.add_argument("--backend", choices=backends)
    grading.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    grading.add_argument("--limit", type=int, help="grade only the first N cases")
    grading.add_argument("--results-dir", default=str(PROJECT_ROOT / "evals" / "results"))
    grading.add_argument("--no-save", action="store_true", help="do not write the run under evals/results/")
    grading.set_defaults(func=cmd_eval_grading)

    robust = evals.add_parser("robustness", help="same case twice, injected instruction, filler padding")
    robust.add_argument("--gold", required=True, help="golden JSONL file (shared/spec/golden-format.md)")
    robust.add_argument("--backend", choices=backends)
    robust.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    robust.add_argument("--limit", type=int, help="use only the first N cases")
    robust.set_defaults(func=cmd_eval_robustness)

    signals = evals.add_parser("signals", help="agreement of the code signals alone and push counting (no model)")
    signals.add_argument("--gold", required=True, help="golden JSONL file (shared/spec/golden-format.md)")
    signals.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    signals.set_defaults(func=cmd_eval_signals)
    reading = evals.add_parser("reading", help="agreement of the reader alone (encoder and fitted heads, no LLM)")
    reading.add_argument("--gold", required=True, help="golden JSONL file (shared/spec/golden-format.md)")
    reading.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    reading.set_defaults(func=cmd_eval_reading)

    coaching = evals.add_parser(
        "coaching", help="check the notes and reports the app would show and count defects by kind",
        description="Grade golden contexts (default: evals/golden/dev.jsonl) and/or play simulated calls "
                    "(every persona in turn with each rep script), then run every note and report through "
                    "the coaching checks. Example: roleplay eval coaching --gold evals/golden/dev.jsonl --calls 18")
    coaching.add_argument("--gold", help="golden JSONL file whose contexts are graded (default: dev.jsonl "
                                         "unless only --calls is given)")
    coaching.add_argument("--calls", type=int, default=0, help="simulated calls to play and check (default: 0)")
    coaching.add_argument("--script", nargs="*", help="rep scripts for the simulated calls (default: all)")
    coaching.add_argument("--limit", type=int, help="use only the first N golden cases")
    coaching.add_argument("--backend", choices=backends)
    coaching.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    coaching.set_defaults(func=cmd_eval_coaching)

    fit = sub.add_parser("fit", help="fit models kept as data").add_subparsers(dest="fit_command", required=True)
    fit_reader = fit.add_parser("reader", help="fit the reader's heads on dev golden files (dev cases only)")
    fit_reader.add_argument("--gold", nargs="+", required=True, help="dev golden JSONL files")
    fit_reader.add_argument("--out", help="where to write the heads (default: the packaged heads.json)")
    fit_reader.set_defaults(func=cmd_fit_reader)

    simulate = sub.add_parser("simulate", help="play a scripted rep against a persona, grading each reply")
    simulate.add_argument("--persona", required=True)
    simulate.add_argument("--rep-script", required=True, help='JSON file: {"rep": ["line", ...]}')
    simulate.add_argument("--backend", choices=backends)
    simulate.add_argument("--json", action="store_true")
    simulate.add_argument("--database-url", help="keep the simulated session (default: in memory)")
    simulate.set_defaults(func=cmd_simulate)

    bench = sub.add_parser("bench", help="latency on the embedded model vs a naive baseline; app overhead")
    bench.add_argument("--fake", action="store_true", help="only the app's overhead with a fake model")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_bench)

    export = sub.add_parser("export", help="export a session or scores").add_subparsers(
        dest="export_command", required=True)
    export_session = export.add_parser("session", help="one session as Markdown or JSON")
    export_session.add_argument("session_id")
    export_session.add_argument("--format", choices=["md", "json"], default="md")
    export_session.add_argument("--audit", action="store_true",
                                help="json: include the grader's prompts and raw answers")
    export_session.add_argument("--out", help="write to this file (default: stdout)")
    export_session.set_defaults(func=cmd_export_session)
    export_scores = export.add_parser("scores", help="one CSV line per rep reply, with its scores")
    export_scores.add_argument("--owner", dest="owners", action="append",
                               help="only this rep's sessions (repeat for several; default: all)")
    export_scores.add_argument("--team", help="only the sessions of this team's members (accounts, team mode)")
    export_scores.add_argument("--out", help="write to this file (default: stdout)")
    export_scores.set_defaults(func=cmd_export_scores)

    model = sub.add_parser("model", help="assemble and verify the embedded model")
    model.set_defaults(func=cmd_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )
    if args.command is None:
        args = build_parser().parse_args(["serve", *(argv or [])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
