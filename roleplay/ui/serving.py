"""Serving the app: the launch options of a mode (team mode signs people in) and ``serve``."""

from __future__ import annotations

import logging
import threading
from typing import Any

from roleplay.call import Gym
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.ui.app import build_app
from roleplay.ui.views import CSS

log = logging.getLogger(__name__)


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


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Start the app and block until interrupted."""
    gym = Gym(settings)
    options = launch_options(gym)
    threading.Thread(target=gym.warm_up, name="warm-up", daemon=True).start()
    demo = build_app(gym)
    log.info("serving on http://%s:%d%s", host, port, " (team mode)" if settings.team_mode else "")
    demo.queue(default_concurrency_limit=8).launch(
        server_name=host, server_port=port, css=CSS, show_error=True, footer_links=[], **options,
    )
