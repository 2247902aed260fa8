"""Accounts and privacy: hashing, the rules of who sees what, and isolation through the app's API."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from roleplay import cli
from roleplay.call import Gym
from roleplay.config import Settings
from roleplay.storage import Store
from roleplay.team.accounts import AccountError, Accounts, User, UserRole, Viewer, hash_password, verify_password
from roleplay.ui.serving import TeamModeError, launch_options

from .conftest import CALL_VIEW, PASSWORD, App, endpoint

pytestmark = pytest.mark.timeout(180)

#: Cheap scrypt for tests (the default costs ~30 ms per check); the code path is the same.
FAST_N = 2**10


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    return Accounts(Store(f"sqlite:///{tmp_path / 'accounts.db'}"), scrypt_n=FAST_N)


def test_a_hash_verifies_only_its_password_and_salts_differ() -> None:
    first, second = hash_password(PASSWORD, n=FAST_N), hash_password(PASSWORD, n=FAST_N)
    assert first != second and PASSWORD not in first
    assert first.startswith(f"scrypt${FAST_N}$8$1$")
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    assert not verify_password("", first)


@pytest.mark.parametrize("stored", ["", "plain", "scrypt$1$2$3", "bcrypt$a$b$c$d$e", "scrypt$x$8$1$AAAA$AAAA",
                                    "scrypt$1024$8$1$!!notbase64$AAAA"])
def test_a_malformed_hash_never_verifies_and_never_raises(stored: str) -> None:
    assert verify_password(PASSWORD, stored) is False


@pytest.mark.parametrize(("username", "password", "role", "team", "fix"), [
    ("a", PASSWORD, "rep", None, "2-64 lowercase letters"),
    ("has space", PASSWORD, "rep", None, "2-64 lowercase letters"),
    ("-dash", PASSWORD, "rep", None, "starting with a letter or digit"),
    ("ana", "tiny1", "rep", None, "at least 8 characters"),
    ("ana", PASSWORD, "admin", None, "rep, manager, enablement"),
    ("mia", PASSWORD, "manager", None, "a manager needs a team"),
])
def test_bad_accounts_are_refused_with_the_fix(accounts: Accounts, username: str, password: str, role: str,
                                              team: str | None, fix: str) -> None:
    with pytest.raises(AccountError, match=fix) as info:
        accounts.add(username, password, role, team)
    assert password not in str(info.value)
    assert accounts.empty


def test_usernames_are_unique_and_case_insensitive(accounts: Accounts) -> None:
    accounts.add("Ana", PASSWORD, "rep")
    with pytest.raises(AccountError, match="taken"):
        accounts.add("ana", PASSWORD, "rep")
    assert accounts.authenticate("ANA", PASSWORD) == User(username="ana", role=UserRole.REP)


def test_sign_in_needs_the_right_password_of_an_existing_account(accounts: Accounts) -> None:
    accounts.add("ana", PASSWORD, "rep", "east")
    assert accounts.authenticate("ana", PASSWORD) == User(username="ana", role=UserRole.REP, team="east")
    assert accounts.authenticate("ana", "wrong password") is None
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.authenticate("", "") is None
    accounts.set_password("ana", "a new password")
    assert accounts.authenticate("ana", PASSWORD) is None
    assert accounts.authenticate("ana", "a new password") is not None
    with pytest.raises(AccountError, match="no account"):
        accounts.set_password("nobody", PASSWORD)


@pytest.fixture
def team(accounts: Accounts) -> Accounts:
    """east: reps ana and ben, manager mia; west: rep wes, manager max; enablement eve."""
    for name, role, team_name in [("ana", "rep", "east"), ("ben", "rep", "east"), ("mia", "manager", "east"),
                                  ("wes", "rep", "west"), ("max", "manager", "west"), ("eve", "enablement", None)]:
        accounts.add(name, PASSWORD, role, team_name)
    return accounts


def viewer(accounts: Accounts, name: str | None) -> Viewer:
    return accounts.viewer(name, team_mode=name is not None)


@pytest.mark.parametrize(("who", "owner", "read", "write"), [
    ("ana", "ana", True, True),
    ("ana", "ben", False, False),   # a rep sees only their own
    ("ana", None, False, False),    # sessions from single-user mode belong to nobody in the team
    ("mia", "ana", True, False),    # a manager reads their team's calls, does not take part
    ("mia", "mia", True, True),
    ("mia", "wes", False, False),   # ... and not another team's
    ("max", "ana", False, False),
    ("eve", "ana", False, False),   # enablement writes personas, does not read reps' calls
    (None, "ana", True, True),      # single-user mode: one user, everything is theirs
    (None, None, True, True),
])
def test_who_may_read_and_write_a_session(team: Accounts, who: str | None, owner: str | None, read: bool,
                                          write: bool) -> None:
    v = viewer(team, who)
    assert team.can_read(v, owner) is read
    assert team.can_write(v, owner) is write


@pytest.mark.parametrize(("who", "owners", "publish"), [
    ("ana", ["ana"], False),
    ("mia", ["ana", "ben", "mia"], False),
    ("eve", ["eve"], True),
    (None, None, True),
])
def test_visible_owners_and_publishing(team: Accounts, who: str | None, owners: list[str] | None,
                                       publish: bool) -> None:
    v = viewer(team, who)
    assert team.visible_owners(v) == owners
    assert v.can_publish is publish


def test_team_mode_needs_a_signed_in_account(team: Accounts) -> None:
    with pytest.raises(PermissionError):
        team.viewer(None, team_mode=True)
    with pytest.raises(PermissionError):
        team.viewer("deleted-user", team_mode=True)


def test_no_password_is_stored_or_logged_in_clear(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    db = tmp_path / "team.db"
    monkeypatch.setenv("ROLEPLAY_DATABASE_URL", f"sqlite:///{db}")
    caplog.set_level(logging.DEBUG)
    secret = "s3cret-never-shown"
    monkeypatch.setattr("sys.stdin", _Lines(f"{secret}\n"))
    assert cli.main(["users", "add", "ana", "--role", "rep", "--team", "east", "--password-stdin"]) == 0
    accounts = Accounts(Store(f"sqlite:///{db}"))
    assert accounts.authenticate("ana", secret) is not None
    assert accounts.authenticate("ana", secret + "x") is None
    assert accounts.authenticate(secret, secret) is None  # a password typed into the username box
    monkeypatch.setattr("sys.stdin", _Lines("tiny1\n"))
    assert cli.main(["users", "passwd", "ana", "--password-stdin"]) == 1
    accounts.store.close()

    out, err = capsys.readouterr()
    assert "created ana (rep, team east)" in out
    everything = caplog.text + out + err
    assert secret[:10] not in everything.replace(f"'{secret}'", "")  # only the refused username is logged
    for path in tmp_path.glob("team.db*"):  # the database and its write-ahead log
        assert secret.encode() not in path.read_bytes()
        assert b"tiny1" not in path.read_bytes()


def test_users_list_shows_roles_and_teams_without_hashes(team: Accounts, monkeypatch: pytest.MonkeyPatch,
                                                         capsys) -> None:
    monkeypatch.setenv("ROLEPLAY_DATABASE_URL", team.store.url)
    assert cli.main(["users", "list", "--team", "east", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [{"username": "ana", "role": "rep", "team": "east", "disabled": False},
                      {"username": "ben", "role": "rep", "team": "east", "disabled": False},
                      {"username": "mia", "role": "manager", "team": "east", "disabled": False}]


class _Lines:
    def __init__(self, text: str):
        self.text = text

    def readline(self) -> str:
        return self.text


# --- Through the app's API (gradio_client), signed in as different people ------------------------

def test_team_mode_cannot_start_without_accounts(settings: Settings, new_gym: Callable[..., Gym]) -> None:
    gym = new_gym(settings.model_copy(update={"team_mode": True}))
    with pytest.raises(TeamModeError, match="roleplay users add"):
        launch_options(gym)


def test_the_app_refuses_anyone_not_signed_in(team_app: App) -> None:
    url = team_app.url
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises different errors by version
        Client(url, verbose=False).predict("happy_incumbent", False, api_name="/start")
    with pytest.raises(Exception):  # noqa: B017
        Client(url, auth=("ana", "wrong password"), verbose=False)


def test_a_rep_cannot_read_another_reps_session(team_app: App) -> None:
    gym = team_app.gym
    ana = team_app.signed_in("ana")
    started = endpoint(ana, "/start", CALL_VIEW, "happy_incumbent", False)
    ana.predict("Hi Dana, what made you pick Fleetly back then?", False, api_name="/send")
    (row,) = gym.store.list_sessions()
    session_id = row["id"]
    assert row["owner"] == "ana"
    assert session_id in [value for _, value in started["past"]["choices"]]

    ben = team_app.signed_in("ben")
    ben_started = endpoint(ben, "/start", CALL_VIEW, "happy_incumbent", False)
    assert session_id not in [value for _, value in ben_started["past"]["choices"]]
    with pytest.raises(AppError, match="There is no such session") as info:
        ben.predict(session_id, api_name="/review")
    assert "Fleetly" not in str(info.value)
    # Ben's own call goes on untouched, and Ana's transcript has only Ana's words.
    ben.predict("How do you plan routes today?", False, api_name="/send")
    texts = [t.text for t in gym.store.get_session(session_id).turns if t.speaker == "rep"]
    assert texts == ["Hi Dana, what made you pick Fleetly back then?"]

    # A made-up id gets the same answer as someone else's: ids cannot be probed.
    with pytest.raises(AppError, match="There is no such session"):
        ben.predict("00000000-0000-0000-0000-000000000000", api_name="/review")


def test_a_manager_reads_their_teams_sessions_but_cannot_speak_in_them(team_app: App) -> None:
    gym = team_app.gym
    ana = team_app.signed_in("ana")
    ana.predict("happy_incumbent", False, api_name="/start")
    ana.predict("What matters most to you in a route planner?", False, api_name="/send")
    (row,) = gym.store.list_sessions()

    mia = team_app.signed_in("mia")
    chat, *_ = mia.predict(row["id"], api_name="/review")
    assert "What matters most to you" in str(chat)
    with pytest.raises(AppError, match="another rep's call"):
        mia.predict("Mia here, taking over!", False, api_name="/send")
    with pytest.raises(AppError, match="another rep's call"):
        mia.predict(api_name="/end")
    assert [t.text for t in gym.store.get_session(row["id"]).turns if t.speaker == "rep"] == [
        "What matters most to you in a route planner?"]

    max_ = team_app.signed_in("max")  # the other team's manager
    with pytest.raises(AppError, match="There is no such session"):
        max_.predict(row["id"], api_name="/review")


def test_only_enablement_publishes_personas(team_app: App) -> None:
    gym = team_app.gym
    draft = (gym.settings.personas_dir / "happy_incumbent.yaml").read_text()
    for name in ("ana", "mia"):
        with pytest.raises(AppError, match="for the enablement team"):
            team_app.signed_in(name).predict(draft, api_name="/studio_publish")
        with pytest.raises(AppError, match="for the enablement team"):
            team_app.signed_in(name).predict("happy_incumbent", api_name="/studio_open")
    editor, *_ = team_app.signed_in("eve").predict("happy_incumbent", api_name="/studio_open")
    assert "happy_incumbent" in editor


def test_the_page_sent_to_a_rep_holds_no_personas_hidden_facts(team_app: App) -> None:
    gym = team_app.gym
    hidden = gym.personas["happy_incumbent"].hidden_facts[0].fact
    assert hidden not in json.dumps(team_app.signed_in("ana").config)
