"""The wheel carries everything the app reads at run time.

The checkout is built into a wheel, installed into a fresh venv and run from an empty folder:
``roleplay`` validates its shipped personas and drills, plays a shipped rep script, and serves
a call on the fake models that a client drives through ``gradio_client`` and the database in
that folder keeps. The venv sees this environment's dependencies through a ``.pth`` line (no
download, no compiling) but never the repository: ``roleplay`` must import from the venv's own
site-packages, so anything left out of the wheel fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from roleplay.storage import create_store

from .conftest import CALL_VIEW, PROJECT_ROOT, endpoint, free_port, running_server
from .test_app import lines

pytestmark = pytest.mark.timeout(300)

#: What a build never reads: at the top, the checkout's git, venv, local data and earlier builds;
#: anywhere, caches and build metadata.
LOCAL = {".git", ".venv", "data", "build"}
CACHES = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache", ".hypothesis")
PERSONA = "happy_incumbent"


@dataclass
class Installed:
    """A venv with the wheel installed, and an empty folder to run it from."""

    venv: Path
    site_packages: Path
    folder: Path

    def env(self) -> dict[str, str]:
        """The environment of a user's shell: no PYTHONPATH, no project settings."""
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("ROLEPLAY_")}
        return {**env, "GRADIO_ANALYTICS_ENABLED": "False", "PATH": f"{self.venv / 'bin'}:{env.get('PATH', '')}"}

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a program of the venv in the empty folder."""
        return subprocess.run([str(self.venv / "bin" / args[0]), *args[1:]], cwd=self.folder, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)


def _check(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the checkout's wheel (offline, with this environment's setuptools) and install it
    alone into a new venv whose other packages are this environment's."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"  # a copy: building in place would leave build/ in the checkout
    shutil.copytree(PROJECT_ROOT, source, ignore=lambda folder, names: CACHES(folder, names)
                    | (LOCAL & set(names) if Path(folder) == PROJECT_ROOT else set()))
    _check(subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", "-w", str(work / "wheels"), str(source)], capture_output=True, text=True))
    (wheel,) = (work / "wheels").glob("roleplay-*.whl")

    venv = work / "venv"
    _check(subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True))
    python = venv / "bin" / "python"
    site = Path(_check(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                      capture_output=True, text=True)).stdout.strip())
    # A plain path in a .pth file adds the folder but runs none of the .pth files in it, so the
    # checkout's editable install (a .pth hook in this environment) stays out of the venv.
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    _check(subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "--quiet",
                           str(wheel)], capture_output=True, text=True))
    folder = work / "empty"
    folder.mkdir()
    return Installed(venv, site, folder)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    done = _check(installed.run("python", "-c", "import roleplay, roleplay.config as c; s = c.load_settings(); "
                                                "print(roleplay.__file__, s.personas_dir, s.prompts_dir, "
                                                "s.rep_scripts_dir, sep='\\n')"))
    for path in done.stdout.split():
        assert Path(path).is_relative_to(installed.site_packages / "roleplay"), path


def test_the_commands_find_the_shipped_data_from_an_empty_folder(installed: Installed) -> None:
    assert "all personas valid" in _check(installed.run("roleplay", "personas", "validate")).stdout
    assert "drills valid" in _check(installed.run("roleplay", "drills", "validate")).stdout
    assert "coaching library valid" in _check(installed.run("roleplay", "coaching", "validate")).stdout
    result = json.loads(_check(installed.run("roleplay", "simulate", "--persona", "battle_of_wills", "--rep-script",
                                             "pushy", "--backend", "fake", "--json")).stdout)
    assert result["persona"] == "battle_of_wills" and result["turns"]
    assert all(turn["prospect"] and turn["scores"] for turn in result["turns"])


@pytest.fixture
def served(installed: Installed) -> Iterator[str]:
    """``roleplay serve --backend fake`` run from the empty folder; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with running_server([str(installed.venv / "bin" / "roleplay"), "serve", "--backend", "fake", "--port", str(port)],
                        url, installed.folder.parent / "serve.log", wait_s=90, cwd=installed.folder,
                        env=installed.env()):
        yield url


def test_roleplay_serve_plays_a_call_and_keeps_it_in_the_folder_it_runs_in(installed: Installed, served: str) -> None:
    from gradio_client import Client

    client = Client(served, verbose=False)
    opened = endpoint(client, "/start", CALL_VIEW, PERSONA, False)
    assert lines(opened["chat"]) and lines(opened["chat"])[0][0] == "assistant"
    said = "Hi Dana, what made you pick your current vendor?"
    chat = lines(endpoint(client, "/send", CALL_VIEW, said, False)["chat"])
    assert ("user", said) in chat
    assert chat[-1][0] == "assistant" and chat[-1][1].strip(), "the prospect answered"

    store = create_store(f"sqlite:///{installed.folder / 'data' / 'roleplay.db'}")
    (session,) = store.list_sessions()
    turns = [(t.speaker, t.text) for t in store.get_session(session["id"]).turns]
    assert session["persona_id"] == PERSONA
    assert ("rep", said) in turns and turns[-1] == ("prospect", chat[-1][1])
