"""Serving the app: the launch options of a mode (team mode signs people in), ``serve``, and
``served`` (the same app on a free loopback port, for measuring it).

Sign-in is Gradio's own (``/login`` and a session cookie), whose check is ours: the throttle, the
disabled accounts and the audit (``roleplay.team.signin``). Gradio gives that check only the name
and the password, so a small middleware (``roleplay.ui.signin_page``) keeps the client's address at
hand for it, and shows on Gradio's login page why a sign-in was refused. The address is the
connection's, which uvicorn takes from ``X-Forwarded-For`` only when the proxy is on loopback (its
``forwarded_allow_ips``), so a client cannot pick its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr
from fastapi import HTTPException
from starlette.middleware import Middleware

from roleplay.call import Gym
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.team import SignInGate
from roleplay.ui import spoken
from roleplay.ui.app import build_app
from roleplay.ui.signin_page import SignInPage, current_attempt
from roleplay.ui.views import CSS

log = logging.getLogger(__name__)


class TeamModeError(ConfigError):
    """Team mode cannot start; the message says how to fix it."""


def launch_options(gym: Gym) -> dict[str, Any]:
    """``launch()`` arguments that depend on the mode: in team mode, sign-in against the accounts,
    throttled and audited."""
    if not gym.settings.team_mode:
        return {}
    if gym.accounts.empty:
        raise TeamModeError("team mode needs at least one account: create one with "
                            "`roleplay users add NAME --role enablement` (it asks for the password)")
    gate = SignInGate(gym.accounts)

    async def sign_in(username: str, password: str) -> bool:
        attempt = current_attempt()
        # scrypt takes tens of milliseconds: off the event loop, which serves everyone else.
        outcome = await asyncio.to_thread(gate.sign_in, username, password, attempt.address)
        if outcome.reason in ("throttled", "disabled"):
            # The reason goes with the refusal: as its detail, and on the login page (SignInPage).
            attempt.refusal = outcome.refusal
            raise HTTPException(status_code=400, detail=outcome.refusal)
        return outcome.user is not None

    minutes = int(gate.limits.window.total_seconds() // 60)
    return {
        "auth": sign_in,
        "auth_message": f"Pushback Gym: sign in with the account your team gave you. After {gate.limits.per_account} "
                        f"failed sign-ins in {minutes} minutes, an account is locked for up to {minutes} minutes.",
        "app_kwargs": {"middleware": [Middleware(SignInPage)]},
    }


def warm_up(gym: Gym) -> None:
    """Ready the models before the first rep needs them: the gym's (language models, reader), then,
    when the voice extra is installed, speech to text and the first persona's voice, so the first
    switch to Voice does not wait for them."""
    gym.warm_up()
    try:
        spoken.warm(gym.settings, next(iter(gym.personas.values())))
    except spoken.VoiceUnavailable:
        log.info("voice models not loaded: the voice extra is not installed")


def launch(demo: gr.Blocks, gym: Gym, host: str, port: int, concurrency_limit: int | None = None,
           options: dict[str, Any] | None = None, **extra: Any) -> None:
    """Launch ``demo`` over ``gym`` with the queue and options ``roleplay serve`` uses
    (``concurrency_limit``: requests at once, default the setting ``concurrency``; ``options``:
    the mode's, when already made by ``launch_options``; ``extra``: more ``launch()`` arguments)."""
    # Gradio's queue summarises every event recorded so far (up to 10,000, in a pandas table)
    # after each event, for a monitoring page the app does not enable: a cost per event that
    # grows with the server's age. Summarise once in a million events instead (unless set).
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000000")
    # Gradio sets matplotlib's backend before and after every event it runs. Without matplotlib
    # installed, each was a failed import that searched every folder on sys.path (4% of the
    # server's GIL time in the load test). Marked absent, the import fails at once.
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]
    # Waiting reps see their place in the queue once a second, not after every event that
    # starts: that sent each waiting rep a message per event started, a cost growing as the
    # square of the queue.
    demo.queue(default_concurrency_limit=concurrency_limit or gym.settings.concurrency, status_update_rate=1).launch(
        server_name=host, server_port=port, css=CSS, show_error=True, footer_links=[],
        **(launch_options(gym) if options is None else options),
        **extra,
    )


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, gym: Gym | None = None) -> None:
    """Start the app and block until interrupted; over ``gym`` when given (a test's fakes)."""
    gym = gym or Gym(settings)
    options = launch_options(gym)  # a team mode that cannot start says so before anything loads
    threading.Thread(target=warm_up, args=(gym,), name="warm-up", daemon=True).start()
    demo = build_app(gym)
    log.info("serving on http://%s:%d%s", host, port, " (team mode)" if settings.team_mode else "")
    launch(demo, gym, host, port, options=options)


@contextlib.contextmanager
def served(gym: Gym) -> Iterator[str]:
    """The app over ``gym`` as ``serve`` launches it, on a free port of 127.0.0.1, without
    blocking; yields its URL and closes it afterwards (``gym`` stays open)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = build_app(gym)
    launch(demo, gym, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield demo.local_url
    finally:
        demo.close(verbose=False)  # stdout may be a bench's JSON
