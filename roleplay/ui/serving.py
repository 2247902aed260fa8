"""Serving the app: the launch options of a mode (team mode signs people in) and ``serve``.

Sign-in is Gradio's own (``/login`` and a session cookie), whose check is ours: the throttle, the
disabled accounts and the audit (``roleplay.team.signin``). Gradio gives that check only the name
and the password, so a small middleware keeps the client's address at hand for it. The address is
the connection's, which uvicorn takes from ``X-Forwarded-For`` only when the proxy is on loopback
(its ``forwarded_allow_ips``), so a client cannot pick its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from typing import Any

from fastapi import HTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from roleplay.call import Gym
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.team import SignInGate
from roleplay.ui import spoken
from roleplay.ui.app import build_app
from roleplay.ui.views import CSS

log = logging.getLogger(__name__)


class TeamModeError(ConfigError):
    """Team mode cannot start; the message says how to fix it."""


_client_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_address", default=None)


class ClientAddress:
    """ASGI middleware: the client's address, for the sign-in check, while a request is handled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client") if scope["type"] == "http" else None
        token = _client_address.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            _client_address.reset(token)


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
        # scrypt takes tens of milliseconds: off the event loop, which serves everyone else.
        outcome = await asyncio.to_thread(gate.sign_in, username, password, _client_address.get())
        if outcome.reason in ("throttled", "disabled"):
            # Throttled, or disabled: Gradio's page says only that it failed; the reason goes with it.
            raise HTTPException(status_code=400, detail=outcome.refusal)
        return outcome.user is not None

    minutes = int(gate.limits.window.total_seconds() // 60)
    return {
        "auth": sign_in,
        "auth_message": f"Pushback Gym: sign in with the account your team gave you. After {gate.limits.per_account} "
                        f"failed sign-ins in {minutes} minutes, an account is locked for up to {minutes} minutes.",
        "app_kwargs": {"middleware": [Middleware(ClientAddress)]},
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


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, gym: Gym | None = None) -> None:
    """Start the app and block until interrupted; over ``gym`` when given (a test's fakes)."""
    gym = gym or Gym(settings)
    options = launch_options(gym)
    threading.Thread(target=warm_up, args=(gym,), name="warm-up", daemon=True).start()
    demo = build_app(gym)
    log.info("serving on http://%s:%d%s", host, port, " (team mode)" if settings.team_mode else "")
    demo.queue(default_concurrency_limit=8).launch(
        server_name=host, server_port=port, css=CSS, show_error=True, footer_links=[], **options,
    )
