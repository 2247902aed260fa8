"""Shared fixtures: settings on the fake backend, a temporary database (SQLite, and PostgreSQL
when ``ROLEPLAY_TEST_POSTGRES_URL`` is set), a gym."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine

from roleplay import content
from roleplay.backends.fakes import FakeChatModel, fake_model_for
from roleplay.call import Gym
from roleplay.config import Role, Settings, load_settings
from roleplay.personas import Persona, load_persona
from roleplay.storage import Store, create_store

#: The repository checkout the tests run in (the developers' files: evals/, docs/, README.md).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
#: A PostgreSQL database the tests may empty (scripts/with-postgres starts a throwaway server and sets it).
POSTGRES_URL = os.environ.get("ROLEPLAY_TEST_POSTGRES_URL")


@pytest.fixture(params=[
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="ROLEPLAY_TEST_POSTGRES_URL is not set (scripts/test sets it)")),
])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or the test PostgreSQL database with no tables."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return empty_postgres()


def empty_postgres() -> str:
    """The test PostgreSQL database's URL, every table there dropped (``alembic_version`` included)."""
    assert POSTGRES_URL is not None
    engine = create_engine(POSTGRES_URL)
    found = MetaData()
    found.reflect(engine)
    found.drop_all(engine)
    engine.dispose()
    return POSTGRES_URL


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("ROLEPLAY_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    # A short pause before a model call's one retry keeps the fault tests fast.
    return load_settings(backend="fake", database_url=f"sqlite:///{tmp_path / 'test.db'}", data_dir=tmp_path,
                         retry_delay_s=0.01)


@pytest.fixture
def persona() -> Persona:
    return load_persona(content.PERSONAS_DIR / "happy_incumbent.yaml")


def make_gym(settings: Settings, **models: FakeChatModel) -> Gym:
    """A gym whose roles are the fakes, with any role replaced by ``models[role]``."""
    chosen = {role: models.get(role.value) or fake_model_for(role) for role in Role}
    return Gym(settings, models=chosen)


@pytest.fixture
def new_gym(settings: Settings) -> Iterator[Callable[..., Gym]]:
    """``new_gym(**models)``: a gym over the fakes, any role replaced (``settings=`` for other
    settings), closed after the test even when the test fails."""
    with ExitStack() as stack:
        def _new(settings: Settings = settings, **models: FakeChatModel) -> Gym:
            gym = make_gym(settings, **models)
            stack.callback(gym.close)
            return gym

        yield _new


@pytest.fixture
def gym(new_gym: Callable[..., Gym]) -> Gym:
    return new_gym()


# --- The database: SQLite, and PostgreSQL when a test server is given ---------------------------


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = create_store(db_url)
    yield s
    s.close()


# --- Serving the Gradio app (tests/test_app.py, test_studio.py, test_browser.py, team mode) ------

import contextlib  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

# No usage analytics or version checks from gradio: the tests never touch the network.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(args: list[str], url: str, log: Path, wait_s: float, **popen: Any) -> Iterator[subprocess.Popen]:
    """Run the server ``args`` with its output in ``log``; yield the process once ``url`` answers,
    and stop it afterwards. The test fails, quoting the log's end, if the server exits first or
    ``url`` does not answer within ``wait_s`` seconds."""
    with log.open("w") as out:
        server = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **popen)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if server.poll() is not None:
                pytest.fail(f"{' '.join(args)} exited {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{url} did not answer within {wait_s:.0f} s:\n{log.read_text()[-3000:]}")
                time.sleep(0.25)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextlib.contextmanager
def serve_app(gym: Gym) -> Iterator[str]:
    """Launch the app over ``gym`` on a free loopback port; yield its URL; close it afterwards.

    In team mode (``gym.settings.team_mode``) it asks for sign-in against the gym's accounts."""
    from roleplay.ui.app import build_app
    from roleplay.ui.serving import launch_options
    from roleplay.ui.views import CSS

    demo = build_app(gym)
    demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                        css=CSS, quiet=True, **launch_options(gym))
    try:
        yield demo.local_url
    finally:
        demo.close()


@dataclass
class App:
    """The app served over ``gym`` at ``url``."""

    gym: Gym
    url: str

    def client(self, auth: tuple[str, str] | None = None) -> Any:
        from gradio_client import Client

        return Client(self.url, auth=auth, verbose=False)

    def session_id(self) -> str:
        (row,) = self.gym.store.list_sessions()
        return row["id"]

    def turns(self, session_id: str) -> list[Any]:
        return self.gym.store.get_session(session_id).turns

    def signed_in(self, name: str) -> Any:
        """A client signed in as ``name`` of ``TEAM`` (team mode)."""
        return self.client(auth=(name, PASSWORD))


@pytest.fixture
def serve(new_gym: Callable[..., Gym]) -> Iterator[Callable[..., App]]:
    """``serve(**models)`` (or ``serve(gym)``): the app over a fresh gym of fakes, any role
    replaced; the server is closed before the gym."""
    with ExitStack() as stack:
        def _serve(gym: Gym | None = None, **models: FakeChatModel) -> App:
            gym = gym or new_gym(**models)
            return App(gym, stack.enter_context(serve_app(gym)))

        yield _serve


#: What the call view's endpoints (/start, /send, /end, /review, /take_again, /play_drill, the
#: plan's) return through the API, by name: the same components for every one (``view`` in
#: ``build_app``; the API drops State and Button outputs). An output a handler leaves alone is unchanged.
CALL_VIEW = ("chat", "status", "scores", "report", "msg", "timer", "past", "drill", "film")


def endpoint(client: Any, api_name: str, names: tuple[str, ...], *args: Any) -> dict[str, Any]:
    """Run an endpoint through the API and name its outputs."""
    result = client.predict(*args, api_name=api_name)
    result = result if isinstance(result, tuple | list) else (result,)
    assert len(result) == len(names), f"{api_name} returned {len(result)} outputs, expected {names}"
    return dict(zip(names, result, strict=True))


#: The people of a team-mode gym: (name, role, team).
TEAM = [("ana", "rep", "east"), ("ben", "rep", "east"), ("mia", "manager", "east"), ("max", "manager", "west"),
        ("wes", "rep", "west"), ("eve", "enablement", None)]
PASSWORD = "correct horse battery"


@pytest.fixture
def team_app(settings: Settings, new_gym: Callable[..., Gym], serve: Callable[..., App]) -> App:
    """The app in team mode, everyone in ``TEAM`` signed up with ``PASSWORD``."""
    gym = new_gym(settings.model_copy(update={"team_mode": True}))
    gym.accounts.scrypt_n = 2**10  # fast hashing for tests
    for name, role, team_name in TEAM:
        gym.accounts.add(name, PASSWORD, role, team_name)
    return serve(gym)
