"""``roleplay bench``: latency of the app on the embedded model against a naive baseline,
and the app's own overhead with a fake model of fixed latency.

The app as built reuses the prospect's processed prompt across turns, loads each persona's
processed system prompt from memory or disk, streams the reply and grades in the background.
The naive baseline re-sends and re-processes the whole history every turn and grades before
replying. Both play the same scripted six-turn call.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from roleplay.backends import create_chat_model, model_label
from roleplay.backends.fakes import fake_model_for
from roleplay.backends.llamacpp import LlamaCppChatModel
from roleplay.call import Gym, Prospect, advance, initial_state
from roleplay.config import Role, Settings
from roleplay.judge import Coach, Grader, RepTurn
from roleplay.personas import load_personas
from roleplay.storage import create_store
from roleplay.transcript import Line

PERSONA = "happy_incumbent"
SCRIPT = [
    "Hi Dana, it's Sam from RouteWise. Could we book twenty minutes next week?",
    "Totally fair. What made Fleetly the right choice for you originally?",
    "How does your team handle it when a customer changes a pickup window?",
    "That sounds painful. What does that cost dispatch in a typical week?",
    "Would a short call after the renewal news make sense, say fifteen minutes?",
    "Understood. Would it be okay if I checked back in February, before the renewal?",
]

#: Open, unhurried questions: no persona hangs up on these within ten turns (the load test and
#: the browser bench play them).
OPEN_QUESTIONS = [
    "Hi, it's Sam from RouteWise. Sorry to catch you again, is now a terrible time?",
    "That's fair. Can I ask what's behind that for you?",
    "How does that play out for your team day to day?",
    "What made you choose the way you work today?",
    "What do you like most about it?",
    "Where does it fall short, if anywhere?",
    "How do you decide when something is worth a look?",
    "What would have to change for this to be worth a look later on?",
    "Who else has a say when you review tools like this?",
    "Understood, thank you. Would it be okay if I checked back in later, at a time that suits you?",
]


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` (0 to 1) by nearest rank, one of the values; ``None`` when
    there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _summary(turns: list[dict[str, Any]], first: float | None, coach_s: float | None) -> dict[str, Any]:
    later = [t["ttft"] for t in turns[1:]]
    scores = [t["score"] for t in turns if t["score"] is not None]
    rates = [t["tokens_per_s"] for t in turns if t["tokens_per_s"]]
    return {
        "ttft_first": _round(first),
        "ttft_p50": _round(percentile(later, 0.5)), "ttft_p95": _round(percentile(later, 0.95)),
        "tokens_per_s": _round(statistics.mean(rates) if rates else None, 1),
        "prompt_tokens_per_turn": round(statistics.mean(t["processed_tokens"] for t in turns)),
        "score_p50": _round(percentile(scores, 0.5)), "score_p95": _round(percentile(scores, 0.95)),
        "coach_s": _round(coach_s, 1),
    }


def _progress(kind: str, turn: dict[str, Any]) -> None:
    shown = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in turn.items())
    print(f"[{kind}] {shown}", file=sys.stderr, flush=True)


def _rate(stats: Any) -> float | None:
    gen = stats.total_s - (stats.first_token_s or 0)
    return stats.completion_tokens / gen if stats.completion_tokens > 1 and gen > 0 else None


def bench_app(settings: Settings) -> dict[str, Any]:
    """Play the script through the app's own ``Gym`` and measure each turn.

    The gym is warmed up first, as ``roleplay serve`` does when it starts (models loaded, system
    prompts processed), so the call is the one a rep makes once the app is up.
    """
    gym = Gym(settings, store=create_store("sqlite://"))
    gym.warm_up()
    prospect_model = gym.models[Role.PROSPECT]
    call = gym.start(PERSONA)
    turns = []
    for line in SCRIPT:
        started = time.monotonic()
        first = None
        for _ in call.send(line):
            first = first if first is not None else time.monotonic() - started
        done = time.monotonic()
        stats = prospect_model.last_stats()
        turn_id = call.last_turn.rep_turn_id
        # The scripted rep reads the reply and its scores before answering: the next line is
        # sent once the background work of this turn (grade, then preparing the next turn's
        # prompts) is finished. ``ready_s`` says how long that took.
        score_at = None
        while not call.pending[turn_id].done():
            if score_at is None and turn_id in call.partial:
                score_at = time.monotonic()
            time.sleep(0.02)
        ready = time.monotonic()
        grade = call.pending[turn_id].result()
        turns.append({
            "turn": len(turns) + 1, "ttft": first, "reply_s": done - started,
            "score": (score_at or ready) - done, "grade_s": grade.seconds, "ready_s": ready - done,
            "processed_tokens": stats.processed_tokens, "prompt_tokens": stats.prompt_tokens,
            "prefix_state": stats.prefix_state, "tokens_per_s": _rate(stats), "scored": grade.scored,
        })
        _progress("app", turns[-1])
    started = time.monotonic()
    facts_at: list[float] = []
    call.end(grade_timeout=None, on_facts=lambda _: facts_at.append(time.monotonic()))
    coach_s = time.monotonic() - started
    report_first_s = facts_at[0] - started if facts_at else None
    coach_model = gym.models[Role.COACH]
    coach = None
    if isinstance(coach_model, LlamaCppChatModel):
        st = coach_model.last_stats()
        coach = {"processed_tokens": st.processed_tokens, "completion_tokens": st.completion_tokens,
                 "first_token_s": _round(st.first_token_s), "total_s": _round(st.total_s),
                 "prefix_state": st.prefix_state, "summary_source": call.report.summary_source}
    # A new call with the same persona after a restart: the persona's processed prompt comes
    # from disk, not from the live context.
    shared = prospect_model.shared()
    with shared.lock:
        shared.llama.reset()
        shared.states.clear()
    second = gym.start(PERSONA)
    started = time.monotonic()
    first_again = None
    for _ in second.send(SCRIPT[0]):
        first_again = first_again if first_again is not None else time.monotonic() - started
    first_state = prospect_model.last_stats().prefix_state
    second.grades(wait=None)
    gym.close()
    return {**_summary(turns, first_again, coach_s), "report_first_s": _round(report_first_s, 2),
            "first_turn_prefix_state": first_state, "coach": coach, "per_turn": turns}


def bench_baseline(settings: Settings) -> dict[str, Any]:
    """The naive way: whole history re-processed every turn, grading before the reply."""
    prospect_model = create_chat_model(Role.PROSPECT, settings)
    grader_model = create_chat_model(Role.GRADER, settings)
    coach_model = create_chat_model(Role.COACH, settings)
    for model, slot in ((prospect_model, "baseline-prospect"), (grader_model, "baseline-grader"),
                        (coach_model, "baseline-coach")):
        assert isinstance(model, LlamaCppChatModel)
        model.slot, model.reuse_prefix = slot, False
    persona = load_personas(settings.personas_dir)[PERSONA]
    prospect = Prospect(prospect_model, persona, settings.prompts_dir)
    grader = Grader(grader_model, settings.prompts_dir)
    state = initial_state(persona)
    lines = [Line(speaker="prospect", text=persona.opening_line)]
    turns = []
    grades: list[RepTurn] = []
    for line in SCRIPT:
        started = time.monotonic()
        grade = grader.grade(lines, line)
        scored_at = time.monotonic() - started
        decision = advance(state, persona, grader.reader.read(lines, line))
        history = [*lines, Line(speaker="rep", text=line)]
        first, raw = None, ""
        for piece in prospect.stream(history, decision, state):
            first = first if first is not None else time.monotonic() - started
            raw += piece
        stats = prospect_model.last_stats()
        voiced = prospect.finish(raw, decision, state, heard=line)
        lines = [*history, Line(speaker="prospect", text=voiced.text)]
        turns.append({"turn": len(turns) + 1, "ttft": first, "score": scored_at, "grade_s": grade.seconds,
                      "processed_tokens": stats.processed_tokens, "prompt_tokens": stats.prompt_tokens,
                      "tokens_per_s": _rate(stats), "scored": grade.scored})
        grades.append((len(turns), line, grade))
        _progress("baseline", turns[-1])

    started = time.monotonic()
    Coach(coach_model, settings.prompts_dir).report(persona, lines, grades, state.door.value, None, "rep")
    coach_s = time.monotonic() - started
    return {**_summary(turns, turns[0]["ttft"], coach_s), "per_turn": turns}


def fake_models(latency_s: float) -> dict[Role, Any]:
    """The fake model of each role: the prospect's first word after ``latency_s``, the others at once."""
    return {role: fake_model_for(role, latency_s=latency_s if role == Role.PROSPECT else 0.0) for role in Role}


def bench_fake(latency_s: float = 0.25, sessions: int = 20, turns: int = 5) -> dict[str, Any]:
    """The app's own overhead per turn, and many concurrent sessions, with a fake model."""
    from roleplay.config import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(backend="fake", database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        gym = Gym(settings, models=fake_models(latency_s))
        overhead = []
        call = gym.start(PERSONA)
        for i in range(30):
            if call.over:
                call = gym.start(PERSONA)
            started = time.monotonic()
            call.say(SCRIPT[i % len(SCRIPT)])
            overhead.append((time.monotonic() - started - latency_s) * 1000)
        times: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        lines = ["What made you choose your current setup?", "How does that work for your team?",
                 "What would need to change for this to matter?", "What happens when it goes wrong?",
                 "Understood. Would it be okay if I checked back next quarter?"]

        def session(_: int) -> str:
            c = gym.start(PERSONA)
            for j in range(turns):
                started = time.monotonic()
                try:
                    c.say(lines[j % len(lines)])
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    times.append(time.monotonic() - started)
            c.grades(wait=None)
            return c.id

        with ThreadPoolExecutor(max_workers=sessions) as pool:
            ids = list(pool.map(session, range(sessions)))
        stored = sum(
            sum(1 for t in gym.store.get_session(sid).turns if t.speaker == "rep") for sid in ids
        )
        gym.close()
    return {
        "latency_s": latency_s, "overhead_p50_ms": _round(percentile(overhead, 0.5), 1),
        "overhead_p95_ms": _round(percentile(overhead, 0.95), 1), "concurrent_sessions": sessions,
        "concurrent_p95_ratio": _round(percentile(times, 0.95) / latency_s, 2) if times else None,
        "turns_sent": sessions * turns, "turns_stored": stored, "errors": len(errors),
    }


def run_bench(settings: Settings, fake_only: bool = False) -> dict[str, Any]:
    """Everything ``roleplay bench`` prints; ``fake_only`` skips the embedded model."""
    out: dict[str, Any] = {"turns": len(SCRIPT)}
    if not fake_only:
        app = bench_app(settings)
        baseline = bench_baseline(settings)
        out["model"] = model_label(create_chat_model(Role.PROSPECT, settings))
        out["app"], out["baseline"] = app, baseline
        out["ratios"] = {
            k: _round(app[k] / baseline[k]) if app.get(k) and baseline.get(k) else None
            for k in ("ttft_first", "ttft_p50", "ttft_p95", "prompt_tokens_per_turn", "score_p50", "coach_s")
        }
    out["fake"] = bench_fake()
    return out
