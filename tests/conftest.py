"""Shared fixtures: settings on the fake backend, a temporary database, a gym."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from roleplay import PROJECT_ROOT
from roleplay.backends.fakes import FakeChatModel, fake_model_for
from roleplay.call import Gym
from roleplay.config import Role, Settings, load_settings
from roleplay.personas import Persona, load_persona

SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("ROLEPLAY_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    # A short pause before a model call's one retry keeps the fault tests fast.
    return load_settings(backend="fake", database_url=f"sqlite:///{tmp_path / 'test.db'}", data_dir=tmp_path,
                         retry_delay_s=0.01)


@pytest.fixture
def persona() -> Persona:
    return load_persona(PROJECT_ROOT / "personas" / "happy_incumbent.yaml")


def make_gym(settings: Settings, **models: FakeChatModel) -> Gym:
    """A gym whose roles are the fakes, with any role replaced by ``models[role]``."""
    chosen = {role: models.get(role.value) or fake_model_for(role) for role in Role}
    return Gym(settings, models=chosen)


@pytest.fixture
def gym(settings: Settings) -> Iterator[Gym]:
    g = make_gym(settings)
    yield g
    g.close()


# --- Serving the Gradio app (tests/test_app.py, tests/test_browser.py) ------------------------

import contextlib  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402

# No usage analytics or version checks from gradio: the tests never touch the network.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_app(gym: Gym) -> Iterator[str]:
    """Launch the app over ``gym`` on a free loopback port; yield its URL; close it afterwards.

    In team mode (``gym.settings.team_mode``) it asks for sign-in against the gym's accounts."""
    from roleplay.ui.app import build_app, launch_options
    from roleplay.ui.views import CSS

    demo = build_app(gym)
    demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                        css=CSS, quiet=True, **launch_options(gym))
    try:
        yield demo.local_url
    finally:
        demo.close()
