"""Serving the app: the launch options of a mode (team mode signs people in), ``serve``, and
``served`` (the same app on a free loopback port, for measuring it)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr

from roleplay.call import Gym
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.ui.app import build_app
from roleplay.ui.views import CSS

log = logging.getLogger(__name__)
#: Requests the app handles at once (``roleplay serve``; the load test uses the same).
CONCURRENCY_LIMIT = 8


class TeamModeError(ConfigError):
    """Team mode cannot start; the message says how to fix it."""


def launch_options(gym: Gym) -> dict[str, Any]:
    """``launch()`` arguments that depend on the mode: in team mode, sign-in against the accounts."""
    if not gym.settings.team_mode:
        return {}
    if gym.accounts.empty:
        raise TeamModeError("team mode needs at least one account: create one with "
                            "`roleplay users add NAME --role enablement` (it asks for the password)")

    def sign_in(username: str, password: str) -> bool:
        return gym.accounts.authenticate(username, password) is not None

    return {"auth": sign_in, "auth_message": "Pushback Gym: sign in with the account your team gave you."}


def launch(demo: gr.Blocks, gym: Gym, host: str, port: int, concurrency_limit: int = CONCURRENCY_LIMIT,
           **extra: Any) -> None:
    """Launch ``demo`` over ``gym`` with the queue and options ``roleplay serve`` uses (``extra``:
    more ``launch()`` arguments)."""
    # Gradio's queue summarises every event recorded so far (up to 10,000, in a pandas table)
    # after each event, for a monitoring page the app does not enable: a cost per event that
    # grows with the server's age. Summarise once in a million events instead (unless set).
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000000")
    # Waiting reps see their place in the queue once a second, not after every event that
    # starts: that sent each waiting rep a message per event started, a cost growing as the
    # square of the queue.
    demo.queue(default_concurrency_limit=concurrency_limit, status_update_rate=1).launch(
        server_name=host, server_port=port, css=CSS, show_error=True, footer_links=[], **launch_options(gym),
        **extra,
    )


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Start the app and block until interrupted."""
    gym = Gym(settings)
    launch_options(gym)  # a team mode that cannot start says so before anything loads
    threading.Thread(target=gym.warm_up, name="warm-up", daemon=True).start()
    demo = build_app(gym)
    log.info("serving on http://%s:%d%s", host, port, " (team mode)" if settings.team_mode else "")
    launch(demo, gym, host, port)


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
