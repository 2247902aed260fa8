"""The command line's parser: every command, its options and its help."""

from __future__ import annotations

import argparse

from roleplay import PROJECT_ROOT, __version__
from roleplay.cli import commands
from roleplay.cli import evals as measuring
from roleplay.config import Backend


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roleplay", description="A practice gym for sales pushback.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command")
    backends = [b.value for b in Backend]

    serve = sub.add_parser("serve", help="start the browser app on 127.0.0.1")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--backend", choices=backends, help="backend for every role (default: settings)")
    serve.add_argument("--team", action="store_true",
                       help="team mode: everyone signs in (accounts: `roleplay users add`)")
    serve.set_defaults(func=commands.cmd_serve)

    users = sub.add_parser("users", help="accounts for team mode").add_subparsers(dest="users_command", required=True)
    add = users.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["rep", "manager", "enablement"])
    add.add_argument("--team", help="the team: a manager sees the sessions of their team's reps")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line on stdin")
    add.set_defaults(func=commands.cmd_users_add)
    passwd = users.add_parser("passwd", help="set an account's password (asks for it)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from one line on stdin")
    passwd.set_defaults(func=commands.cmd_users_passwd)
    listing = users.add_parser("list", help="accounts, their roles and teams")
    listing.add_argument("--team")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=commands.cmd_users_list)

    personas = sub.add_parser("personas", help="persona files").add_subparsers(dest="personas_command", required=True)
    validate = personas.add_parser("validate", help="validate persona files; exit 1 on any problem")
    validate.add_argument("paths", nargs="*", help="files or directories (default: personas/)")
    validate.set_defaults(func=commands.cmd_personas_validate)

    coaching_lib = sub.add_parser("coaching", help="the coaching library").add_subparsers(
        dest="coaching_command", required=True)
    check = coaching_lib.add_parser("validate", help="validate the coaching library; exit 1 on any problem",
                                    description="Example: roleplay coaching validate prompts/coaching.yaml")
    check.add_argument("path", nargs="?", help="the library file (default: prompts/coaching.yaml)")
    check.set_defaults(func=commands.cmd_coaching_validate)

    drills = sub.add_parser("drills", help="the drills").add_subparsers(dest="drills_command", required=True)
    check = drills.add_parser("validate", help="validate the drills; exit 1 on any problem",
                              description="Example: roleplay drills validate prompts/drills.yaml")
    check.add_argument("path", nargs="?", help="the drills file (default: prompts/drills.yaml)")
    check.set_defaults(func=commands.cmd_drills_validate)

    evals = sub.add_parser("eval", help="evaluations").add_subparsers(dest="eval_command", required=True)
    grading = evals.add_parser("grading", help="grade a golden file and report agreement with the labels")
    grading.add_argument("--gold", required=True, help="golden JSONL file (shared/spec/golden-format.md)")
    grading.add_argument("--backend", choices=backends)
    grading.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    grading.add_argument("--limit", type=int, help="grade only the first N cases")
    grading.add_argument("--results-dir", default=str(PROJECT_ROOT / "evals" / "results"))
    grading.add_argument("--no-save", action="store_true", help="do not write the run under evals/results/")
    grading.set_defaults(func=measuring.cmd_eval_grading)

    robust = evals.add_parser("robustness", help="same case twice, injected instruction, filler padding")
    robust.add_argument("--gold", required=True, help="golden JSONL file (shared/spec/golden-format.md)")
    robust.add_argument("--backend", choices=backends)
    robust.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    robust.add_argument("--limit", type=int, help="use only the first N cases")
    robust.set_defaults(func=measuring.cmd_eval_robustness)

    signals = evals.add_parser("signals", help="agreement of the code signals alone and push counting (no model)")
    signals.add_argument("--gold", required=True, help="golden JSONL file (shared/spec/golden-format.md)")
    signals.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    signals.set_defaults(func=measuring.cmd_eval_signals)
    reading = evals.add_parser("reading", help="agreement of the reader alone (encoder and fitted heads, no LLM)")
    reading.add_argument("--gold", required=True, help="golden JSONL file (shared/spec/golden-format.md)")
    reading.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    reading.set_defaults(func=measuring.cmd_eval_reading)

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
    coaching.set_defaults(func=measuring.cmd_eval_coaching)

    fit = sub.add_parser("fit", help="fit models kept as data").add_subparsers(dest="fit_command", required=True)
    fit_reader = fit.add_parser("reader", help="fit the reader's heads on dev golden files (dev cases only)")
    fit_reader.add_argument("--gold", nargs="+", required=True, help="dev golden JSONL files")
    fit_reader.add_argument("--out", help="where to write the heads (default: the packaged heads.json)")
    fit_reader.set_defaults(func=measuring.cmd_fit_reader)

    simulate = sub.add_parser("simulate", help="play a scripted rep against a persona, grading each reply")
    simulate.add_argument("--persona", required=True)
    simulate.add_argument("--rep-script", required=True, help='JSON file: {"rep": ["line", ...]}')
    simulate.add_argument("--backend", choices=backends)
    simulate.add_argument("--json", action="store_true")
    simulate.add_argument("--database-url", help="keep the simulated session (default: in memory)")
    simulate.set_defaults(func=commands.cmd_simulate)

    bench = sub.add_parser("bench", help="latency on the embedded model vs a naive baseline; app overhead",
                           description="Example: roleplay bench --voice --json (a spoken turn on the embedded "
                                       "model); roleplay bench --voice --backend fake --turns 3 (voice only)")
    bench.add_argument("--fake", action="store_true", help="only the app's overhead with a fake model")
    bench.add_argument("--voice", action="store_true",
                       help="a spoken turn: end of the rep's speech to the prospect's first audio, and the "
                            "transcript's word error rate")
    bench.add_argument("--backend", choices=backends,
                       help="with --voice: the backend of every role (default: local, the embedded model)")
    bench.add_argument("--turns", type=int, default=12, help="with --voice: spoken lines to play (default: 12)")
    bench.add_argument("--stt-model", choices=["tiny.en", "base"],
                       help="with --voice: the Whisper model (default: settings, voice.stt_model)")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=commands.cmd_bench)

    export = sub.add_parser("export", help="export a session or scores").add_subparsers(
        dest="export_command", required=True)
    export_session = export.add_parser("session", help="one session as Markdown or JSON")
    export_session.add_argument("session_id")
    export_session.add_argument("--format", choices=["md", "json"], default="md")
    export_session.add_argument("--audit", action="store_true",
                                help="json: include the grader's prompts and raw answers")
    export_session.add_argument("--out", help="write to this file (default: stdout)")
    export_session.set_defaults(func=commands.cmd_export_session)
    export_scores = export.add_parser("scores", help="one CSV line per rep reply, with its scores")
    export_scores.add_argument("--owner", dest="owners", action="append",
                               help="only this rep's sessions (repeat for several; default: all)")
    export_scores.add_argument("--team", help="only the sessions of this team's members (accounts, team mode)")
    export_scores.add_argument("--out", help="write to this file (default: stdout)")
    export_scores.set_defaults(func=commands.cmd_export_scores)

    model = sub.add_parser("model", help="assemble and verify the embedded model and the voice models")
    model.add_argument("--voice", action="store_true", help="only the voice models (Whisper, Piper)")
    model.add_argument("--no-voice", action="store_true", help="only the embedded language model")
    model.set_defaults(func=commands.cmd_model)
    return parser
