"""The app's commands: serve, personas, coaching, simulate, export, bench, model (``users`` has its own module)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from roleplay.cli.common import backend_settings, existing_store, stored_session, write_out
from roleplay.config import Backend, load_settings
from roleplay.errors import InvalidInput


def cmd_serve(args: argparse.Namespace) -> int:
    from roleplay.ui.serving import TeamModeError, serve

    settings = backend_settings(args, **({"team_mode": True} if args.team else {}))
    try:
        serve(settings, host=args.host, port=args.port)
    except TeamModeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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


def cmd_personas_schema(args: argparse.Namespace) -> int:
    from roleplay.personas import persona_schema

    write_out(json.dumps(persona_schema(), indent=2) + "\n", args.out)
    return 0


def _validate(path: str | None, default: str, check: Callable[[Path], str]) -> int:
    """Check a data file people write (``<prompts_dir>/<default>`` unless ``path``): print what is
    in it, or the problems and exit 1."""
    try:
        print(check(Path(path) if path else load_settings().prompts_dir / default))
    except InvalidInput as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


def cmd_coaching_validate(args: argparse.Namespace) -> int:
    from roleplay.judge.coaching import load_library

    return _validate(args.path, "coaching.yaml",
                     lambda path: f"coaching library valid: {len(load_library(path).entries)} entries")


def cmd_drills_validate(args: argparse.Namespace) -> int:
    from roleplay.drills import load_drills
    from roleplay.personas import load_personas

    def check(path: Path) -> str:
        drills = load_drills(path, personas=list(load_personas(load_settings().personas_dir))).drills
        return f"drills valid: {len(drills)} ({', '.join(d.id for d in drills)})"

    return _validate(args.path, "drills.yaml", check)


def cmd_simulate(args: argparse.Namespace) -> int:
    from roleplay.measure.simulation import RepScriptError, load_rep_script, simulate

    settings = backend_settings(args, database_url=args.database_url or "sqlite://")
    path = Path(args.rep_script)
    if not path.exists():  # a script's name, as the studio lists them
        path = settings.rep_scripts_dir / f"{args.rep_script}.json"
        if not path.is_file():
            print(f"error: {args.rep_script}: no such file, nor a rep script of that name in "
                  f"{settings.rep_scripts_dir}", file=sys.stderr)
            return 2
    try:
        script = load_rep_script(path)
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


def cmd_export_session(args: argparse.Namespace) -> int:
    from roleplay.team.exports import session_json, session_markdown

    with stored_session(args.session_id) as found:
        if found is None:
            return 1
        record = found[1]
    write_out(session_markdown(record) if args.format == "md" else session_json(record, audit=args.audit), args.out)
    return 0


def cmd_export_scores(args: argparse.Namespace) -> int:
    from roleplay.team import Accounts
    from roleplay.team.exports import scores_csv

    with existing_store(load_settings().db_url) as store:
        if store is None:
            return 1
        owners = args.owners
        if args.team:
            members = [u.username for u in Accounts(store).users(team=args.team)]
            if not members:
                print(f"error: no accounts in team '{args.team}' (see `roleplay users list`)", file=sys.stderr)
                return 1
            owners = [*(owners or []), *members]
        rows = store.score_rows(owners)
    write_out(scores_csv(rows), args.out)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.voice:
        return _bench_voice(args)
    if args.browser:
        return _bench_browser(args)
    if (args.backend or args.stt_model or args.stt_backend or args.tts_backend or args.turns is not None
            or args.latency is not None or args.typing is not None):
        print("error: --backend and --turns go with --voice or --browser; --stt-model, --stt-backend and "
              "--tts-backend with --voice; --latency and --typing with --browser (the text bench is on the "
              "embedded model; --fake for the app's overhead)", file=sys.stderr)
        return 2
    from roleplay.measure.bench import run_bench

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


def _bench_voice(args: argparse.Namespace) -> int:
    from roleplay.errors import ConfigError
    from roleplay.measure.voice_bench import bench_voice

    # Merged into the configured voice settings: a server's base_url, model and key stay as they are.
    voice: dict[str, object] = {"stt_model": args.stt_model} if args.stt_model else {}
    for key, backend in (("stt", args.stt_backend), ("tts", args.tts_backend)):
        if backend:
            voice[key] = {"backend": backend}
    args.backend = args.backend or Backend.LOCAL.value
    settings = backend_settings(args, **({"voice": voice} if voice else {}))
    turns = 12 if args.turns is None else args.turns
    if turns < 2:
        print("error: --turns must be at least 2 (the first turn warms up)", file=sys.stderr)
        return 2
    try:
        result = bench_voice(settings, turns=turns)
    except ConfigError as exc:  # a voice model that cannot be assembled, a speech server that cannot be used
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _print_bench("voice", result, args.json)


def _bench_browser(args: argparse.Namespace) -> int:
    import tempfile

    from roleplay.measure.browser_bench import bench_browser, bench_gym, browser_missing
    from roleplay.ui.serving import served

    turns = 10 if args.turns is None else args.turns
    fake = args.backend == Backend.FAKE.value
    latency = (0.5 if args.latency is None else args.latency) if fake else None
    problem = ("--turns must be at least 2 (the first turn warms up)" if turns < 2
               else "--latency goes with --backend fake" if args.latency is not None and not fake
               else "--latency must be 0 or more" if latency is not None and latency < 0
               else "--typing must be 0 or more" if (args.typing or 0) < 0 else None)
    if problem or (missing := browser_missing()):
        print(f"error: {problem or missing}", file=sys.stderr)
        return 2 if problem else 1
    args.backend = args.backend or Backend.LOCAL.value
    with tempfile.TemporaryDirectory(prefix="roleplay-bench-") as tmp:
        settings = backend_settings(args, database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        gym = bench_gym(settings, latency_s=latency)
        try:
            result = {"backend": args.backend, **({"latency_s": latency} if fake else {}),
                      **bench_browser(gym, served, turns=turns, typing_cps=args.typing or 0.0)}
        finally:
            gym.close()
    return _print_bench("browser", result, args.json)


def _print_bench(kind: str, result: dict, as_json: bool) -> int:
    """A bench's figures: one JSON object ``{kind: result}``, or its summary then each turn."""
    if as_json:
        print(json.dumps({kind: result}))
        return 0
    print(f"{kind}: {json.dumps({k: v for k, v in result.items() if k != 'per_turn'})}")
    for turn in result["per_turn"]:
        print(f"  {json.dumps(turn)}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from roleplay.backends.embedded import EmbeddedModelError, ensure_embedded_model
    from roleplay.voice.models import ALL_MODELS, VoiceModelError, ensure_voice_model

    cache = load_settings().model_cache_dir
    try:
        if not args.voice:
            print(f"embedded model ready: {ensure_embedded_model(cache)} (sha256 verified)")
        if not args.no_voice:
            for model in ALL_MODELS:
                print(f"{model.label} ready: {ensure_voice_model(model, cache)} (sha256 verified)")
    except EmbeddedModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except VoiceModelError as exc:
        print(f"error: {exc} (or `roleplay model --no-voice` for the language model alone)", file=sys.stderr)
        return 1
    return 0
