"""A bounded load test on loopback: the real app, fake models with a fixed latency, many reps at once.

    .venv/bin/python evals/load_test.py [--sessions 50] [--turns 10] [--latency 0.2] [--json]

Starts the Gradio app in its own process on 127.0.0.1, launched as ``roleplay serve`` launches
it and warmed up, over a gym whose three roles are the deterministic fakes, each answering
after ``--latency`` seconds, and a fresh SQLite database (or ``--database-url``, e.g. a
PostgreSQL one). Then ``--sessions`` reps, each talking to the app as a browser does (or
through ``gradio_client``: ``--client``), start a call (``start``) and send ``--turns`` open
questions (``send``) at the same time. At the end it prints the turns sent, the turns stored
(counted in the database), the errors, the p50/p95 time of a turn as a rep sees it (from
sending to the whole reply), the turns per second (from the first rep connecting to the last
reply), the CPU each side used, and, once the server has shut down cleanly, the grades stored.
The reps run on the same machine as the app. Traffic stays on loopback; every request has a
timeout and the run stops by itself (``--deadline``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roleplay.config import CONCURRENCY
from roleplay.measure.bench import OPEN_QUESTIONS as QUESTIONS

REQUEST_TIMEOUT_S = 120.0


# --- The server (a child process) ---------------------------------------------------------


def serve(port: int, database_url: str, data_dir: str, latency: float, concurrency_limit: int) -> None:
    """Serve the app over fake models until SIGTERM; then let every grade finish and exit."""
    from roleplay.backends.fakes import fake_model_for
    from roleplay.call import Gym
    from roleplay.config import Role, load_settings
    from roleplay.ui.app import build_app
    from roleplay.ui.serving import launch

    settings = load_settings(backend="fake", database_url=database_url, data_dir=Path(data_dir))
    gym = Gym(settings, models={role: fake_model_for(role, latency_s=latency) for role in Role})
    gym.warm_up()  # as `roleplay serve` does when it starts (the reader's encoder, here)
    demo = build_app(gym)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    launch(demo, gym, "127.0.0.1", port, concurrency_limit, prevent_thread_lock=True, quiet=True)
    print("ready", flush=True)
    stop.wait()
    demo.close()
    gym.close()  # waits for the grading still queued
    print("stopped", flush=True)


# --- The reps ----------------------------------------------------------------------------------


@dataclass
class Session:
    """What one rep did: how long each turn took, and what went wrong."""

    turn_seconds: list[float] = field(default_factory=list)
    sent: int = 0
    errors: list[str] = field(default_factory=list)


class BrowserRep:
    """A rep as a browser talks to the app: the page's config once, then each event through
    the queue (``queue/join``, the answer read from ``queue/data``, the server-sent events of
    the rep's session), over one HTTP client. A turn is the event the message box's Enter
    triggers, as in the page (API clients' ``/send`` returns the whole call view instead)."""

    def __init__(self, url: str):
        import httpx

        self.http = httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S)
        self.session = uuid.uuid4().hex
        config = self.http.get("config").raise_for_status().json()
        ids = {c["props"].get("elem_id"): c["id"] for c in config["components"] if c.get("props", {}).get("elem_id")}
        deps = config["dependencies"]
        self.events = {"start": next(d for d in deps if d.get("api_name") == "start"),
                       "enter": next(d for d in deps if [ids["msg"], "submit"] in d["targets"])}
        # where the chat and the status line are among each event's outputs
        self.at = {name: {what: d["outputs"].index(ids[what]) for what in ("chat", "status")}
                   for name, d in self.events.items()}

    def call(self, event: str, *data: Any) -> list[Any]:
        """Run ``event`` (``start`` or ``enter``) with ``data`` (its inputs, State ones as None); its outputs."""
        join = self.http.post("gradio_api/queue/join", json={
            "data": list(data), "fn_index": self.events[event]["id"], "session_hash": self.session,
            "event_data": None, "trigger_id": None,
        }).raise_for_status().json()
        with self.http.stream("GET", "gradio_api/queue/data", params={"session_hash": self.session}) as events:
            for line in events.raise_for_status().iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("event_id") != join["event_id"] or message.get("msg") != "process_completed":
                    continue
                if not message.get("success"):
                    raise RuntimeError(str(message.get("output", {}).get("error")))
                return message["output"]["data"]
        raise RuntimeError(f"{event}: the event stream closed before the event completed")

    def start(self, persona: str) -> list[dict[str, Any]]:
        return self.call("start", persona, False)[self.at["start"]["chat"]]

    def send(self, text: str) -> tuple[list[dict[str, Any]], str]:
        out = self.call("enter", None, text, False)
        return out[self.at["enter"]["chat"]], out[self.at["enter"]["status"]]


class GradioClientRep:
    """A rep through ``gradio_client``: it also fetches the API's description, polls for
    cancellation, and opens a connection per request (outputs without State and buttons)."""

    def __init__(self, url: str):
        from gradio_client import Client

        self.client = Client(url, verbose=False, ssl_verify=_tls_context())

    def start(self, persona: str) -> list[dict[str, Any]]:
        return self.client.submit(persona, False, api_name="/start").result(timeout=REQUEST_TIMEOUT_S)[0]

    def send(self, text: str) -> tuple[list[dict[str, Any]], str]:
        out = self.client.submit(text, False, api_name="/send").result(timeout=REQUEST_TIMEOUT_S)
        return out[0], out[1]


REPS = {"browser": BrowserRep, "gradio_client": GradioClientRep}


def drive(url: str, persona: str, turns: int, deadline: float, client: str = "browser") -> Session:
    """One rep: start a call with ``persona`` and send ``turns`` messages, one after another."""
    out = Session()
    try:
        rep = REPS[client](url)
        chat = rep.start(persona)
    except Exception as exc:  # noqa: BLE001 - counted, the run goes on
        out.errors.append(f"start: {type(exc).__name__}: {exc}")
        return out
    for i in range(turns):
        if time.monotonic() > deadline:
            out.errors.append(f"deadline reached before turn {i + 1}")
            break
        text = QUESTIONS[i % len(QUESTIONS)]
        started = time.monotonic()
        try:
            new_chat, status = rep.send(text)
        except Exception as exc:  # noqa: BLE001 - counted, the run goes on
            out.sent += 1
            out.errors.append(f"turn {i + 1}: {type(exc).__name__}: {exc}")
            continue
        out.sent += 1
        out.turn_seconds.append(time.monotonic() - started)
        if len(new_chat) != len(chat) + 2 or not _text(new_chat[-1]).strip():
            out.errors.append(f"turn {i + 1}: the reply is missing ({len(chat)} → {len(new_chat)} messages)")
        elif "hung up" in status:
            out.errors.append(f"turn {i + 1}: the prospect hung up")
        chat = new_chat
    return out


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default TLS context for every request. gradio_client opens a new httpx client for
    each request, and each built its own context (loading the CA bundle): a third of the reps'
    CPU. The app is on plain http on loopback, so nothing is checked either way."""
    return ssl.create_default_context()


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user and system) used so far by process ``pid`` (Linux), or by this process."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _count(database_url: str, since: datetime) -> dict[str, int]:
    """Sessions, turns by speaker and grades stored for the sessions created since ``since``."""
    from sqlalchemy import func, select

    from roleplay.storage import create_store
    from roleplay.storage.tables import grades, sessions, turns

    store = create_store(database_url)
    ours = select(sessions.c.id).where(sessions.c.created_at >= since)
    with store.engine.connect() as conn:
        counts = {
            "sessions": conn.execute(select(func.count()).select_from(ours.subquery())).scalar_one(),
            "grades": conn.execute(select(func.count()).where(grades.c.session_id.in_(ours))).scalar_one(),
        }
        for speaker, opening, n in conn.execute(
            select(turns.c.speaker, turns.c.move == "open", func.count())
            .where(turns.c.session_id.in_(ours)).group_by(turns.c.speaker, turns.c.move == "open")
        ):
            kind = "opening" if opening else speaker
            counts[kind] = counts.get(kind, 0) + n
    store.close()
    for kind in ("rep", "prospect", "opening"):
        counts.setdefault(kind, 0)
    return counts


def run(sessions: int = 50, turns: int = 10, latency: float = 0.2, database_url: str | None = None,
        deadline_s: float = 600.0, concurrency_limit: int = CONCURRENCY, client: str = "browser",
        ) -> dict[str, Any]:
    """Run the load test; return its figures (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="roleplay-load-") as tmp:
        url_db = database_url or f"sqlite:///{Path(tmp) / 'load.db'}"
        port = _free_port()
        since = datetime.now(UTC)
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--port", str(port), "--database-url", url_db, "--data-dir", tmp,
             "--latency", str(latency), "--concurrency-limit", str(concurrency_limit)],
            stdout=subprocess.PIPE, text=True, env=env,
        )
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("the app did not start (see its output above)")
            from roleplay.config import load_settings
            from roleplay.personas import load_personas

            personas = sorted(load_personas(load_settings().personas_dir))
            url = f"http://127.0.0.1:{port}/"
            started = time.monotonic()
            cpu_before = _cpu_seconds(server.pid), _cpu_seconds()
            deadline = started + deadline_s
            with ThreadPoolExecutor(max_workers=sessions, thread_name_prefix="rep") as pool:
                done = list(pool.map(lambda n: drive(url, personas[n % len(personas)], turns, deadline, client),
                                     range(sessions)))
            elapsed = time.monotonic() - started
            cpu = [after - before for after, before in zip((_cpu_seconds(server.pid), _cpu_seconds()), cpu_before,
                                                           strict=True)]
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=max(30.0, deadline - time.monotonic()))
                drained = time.monotonic() - started - elapsed
            except subprocess.TimeoutExpired:
                drained = None
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        stored = _count(url_db, since)

    seconds = [s for d in done for s in d.turn_seconds]
    errors = [e for d in done for e in d.errors]
    return {
        "sessions": sessions, "turns_per_session": turns, "latency_s": latency,
        "concurrency_limit": concurrency_limit, "database": url_db.split(":")[0], "client": client,
        "turns_sent": sum(d.sent for d in done),
        "turns_stored": stored["rep"], "prospect_turns_stored": stored["prospect"],
        "openings_stored": stored["opening"], "sessions_stored": stored["sessions"], "grades_stored": stored["grades"],
        "errors": len(errors), "error_samples": errors[:5],
        "turn_p50_s": _percentile(seconds, 50), "turn_p95_s": _percentile(seconds, 95),
        "turn_max_s": max(seconds, default=None), "elapsed_s": elapsed,
        "turns_per_s": len(seconds) / elapsed if elapsed else None,
        "grading_drained_s": drained,
        # CPU seconds each side used while the turns were sent: the app, and the reps' clients.
        "server_cpu_s": cpu[0], "clients_cpu_s": cpu[1],
    }


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10, help="messages per session")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each fake model takes to answer")
    parser.add_argument("--database-url", help="default: a new SQLite file, deleted afterwards")
    parser.add_argument("--deadline", type=float, default=600.0, help="stop sending after this many seconds")
    parser.add_argument("--concurrency-limit", type=int, default=CONCURRENCY,
                        help="requests the app handles at once (roleplay serve: %(default)s)")
    parser.add_argument("--client", choices=sorted(REPS), default="browser",
                        help="how each rep talks to the app: as a browser does (the queue's protocol over one "
                             "HTTP client), or through gradio_client (which also fetches the API's description and "
                             "polls; more work for both sides)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port, args.database_url, args.data_dir, args.latency, args.concurrency_limit)
        return 0

    r = run(args.sessions, args.turns, args.latency, args.database_url, args.deadline, args.concurrency_limit,
            args.client)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(f"load test: {r['sessions']} sessions × {r['turns_per_session']} turns at once, fake models answering "
              f"in {r['latency_s']:.2f} s, app queue concurrency {r['concurrency_limit']}, {r['database']}, "
              f"reps as {r['client']}")
        print(f"turns sent      {r['turns_sent']}")
        print(f"turns stored    {r['turns_stored']} (and {r['prospect_turns_stored']} replies and "
              f"{r['openings_stored']} opening lines of the prospect, in {r['sessions_stored']} sessions; "
              "counted in the database)")
        print(f"errors          {r['errors']}" + "".join(f"\n  {e}" for e in r["error_samples"]))
        print(f"turn time       p50 {_s(r['turn_p50_s'])}, p95 {_s(r['turn_p95_s'])}, max {_s(r['turn_max_s'])}")
        print(f"throughput      {r['turns_per_s']:.1f} turns/s over {r['elapsed_s']:.1f} s")
        print(f"CPU used        app {r['server_cpu_s']:.1f} s, reps' clients {r['clients_cpu_s']:.1f} s "
              f"({r['server_cpu_s'] / max(r['turns_sent'], 1) * 1000:.0f} ms of the app's per turn)")
        print(f"grades stored   {r['grades_stored']} (the last {_s(r['grading_drained_s'])} after the last turn)")
    ok = r["errors"] == 0 and r["turns_stored"] == r["turns_sent"] == r["sessions"] * r["turns_per_session"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
