"""Administering people: disabling, enabling, removing, changing roles and teams, handing sessions
over, the throttle of failed sign-ins, and the audit log; through the command line, the sign-in
check and the app's API."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from gradio_client.exceptions import AppError

from roleplay import cli
from roleplay.call import Gym
from roleplay.config import Settings
from roleplay.storage import Store
from roleplay.storage.tables import metadata, sessions
from roleplay.team import Accounts, SignInGate

from .conftest import CALL_VIEW, PASSWORD, App, endpoint

pytestmark = pytest.mark.timeout(180)

FAST_N = 2**10  # cheap scrypt for tests; the code path is the same
ACTOR = f"cli:{getpass.getuser()}"


class Clock:
    """A clock the tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    """east: rep ana, manager mia; enablement eve."""
    found = Accounts(Store(f"sqlite:///{tmp_path / 'people.db'}"), scrypt_n=FAST_N)
    for name, role, team in [("ana", "rep", "east"), ("mia", "manager", "east"), ("eve", "enablement", None)]:
        found.add(name, PASSWORD, role, team)
    return found


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gate(accounts: Accounts, clock: Clock) -> SignInGate:
    return SignInGate(accounts, clock=clock)


@pytest.fixture
def users(accounts: Accounts, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``users(*args)``: run ``roleplay users ARGS`` on the accounts' database; (exit code, stdout, stderr)."""
    monkeypatch.setenv("ROLEPLAY_DATABASE_URL", accounts.store.url)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["users", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def listed(users) -> dict[str, dict]:
    code, out, _ = users("list", "--json")
    assert code == 0
    return {u["username"]: u for u in json.loads(out)}


def audited(users, *args: str) -> list[dict]:
    code, out, _ = users("audit", "--json", *args)
    assert code == 0
    return json.loads(out)


# --- The commands ---------------------------------------------------------------------------------

def test_a_disabled_account_cannot_sign_in_and_enable_undoes_it(users, accounts: Accounts, gate: SignInGate) -> None:
    assert users("disable", "ANA") == (0, "ANA disabled\n", "")
    assert listed(users)["ana"]["disabled"] is True
    assert "ana\trep\teast\tdisabled" in users("list")[1]
    assert accounts.authenticate("ana", PASSWORD) is None
    refused = gate.sign_in("ana", PASSWORD, "10.0.0.7")
    assert (refused.user, refused.refusal) == (None, "This account is disabled; ask your admin to enable it.")
    # The reason is told only to whoever knows the password.
    assert gate.sign_in("ana", "wrong password", "10.0.0.7").refusal == "Incorrect username or password."
    with pytest.raises(PermissionError, match="disabled"):
        accounts.viewer("ana", team_mode=True)
    assert accounts.visible_owners(accounts.viewer("mia", team_mode=True)) == ["ana", "mia"]  # still her team's

    assert users("disable", "ana")[1] == "ana was already disabled: nothing changed\n"
    assert users("enable", "ana") == (0, "ana enabled\n", "")
    assert gate.sign_in("ana", PASSWORD, "10.0.0.7").user.username == "ana"


@pytest.mark.parametrize("command", [["disable"], ["enable"], ["remove"], ["set-role", "manager", "--team", "x"],
                                     ["set-team", "west"], ["adopt"], ["passwd", "--password-stdin"]])
def test_every_change_to_an_unknown_account_is_an_error(users, command: list[str], monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD))
    code, out, err = users(command[0], "nobody", *command[1:])
    assert (code, out) == (1, "")
    assert "error: there is no account 'nobody' (see `roleplay users list`)" in err
    assert [e for e in audited(users) if e["account"] == "nobody"] == []


def test_an_unknown_role_is_refused_by_the_parser(users, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        users("set-role", "ana", "admin")
    assert info.value.code == 2
    assert "invalid choice: 'admin'" in capsys.readouterr().err


def test_set_role_and_set_team_keep_a_manager_with_a_team(users) -> None:
    assert users("set-role", "eve", "manager") == (1, "", "error: a manager needs a team: eve has none; "
                                                          "add --team NAME\n")
    assert users("set-role", "eve", "manager", "--team", "west") == (0, "now eve (manager, team west)\n", "")
    assert users("set-role", "ana", "manager") == (0, "now ana (manager, team east)\n", "")  # keeps her team
    assert users("set-team", "ana", "south") == (0, "now ana (manager, team south)\n", "")
    code, _, err = users("set-team", "ana", "--none")
    assert code == 1 and "a manager needs a team" in err and "set-role ana rep" in err
    assert users("set-role", "ana", "rep")[0] == 0
    assert users("set-team", "ana", "--none") == (0, "now ana (rep)\n", "")
    assert users("set-team", "ana")[0] == 2  # neither a team nor --none
    assert listed(users)["ana"] == {"username": "ana", "role": "rep", "team": None, "disabled": False}
    assert listed(users)["eve"] == {"username": "eve", "role": "manager", "team": "west", "disabled": False}


def _calls(gym: Gym, owner: str | None) -> list[str]:
    """A call ended with a report, a retake of it and a call back: three sessions of ``owner``."""
    first = gym.start("happy_incumbent", owner=owner)
    first.say("What made you pick Fleetly back then?")
    first.end(grade_timeout=30)
    return [first.id, gym.take_again(first.id, 1, owner=owner).id, gym.follow_up(first.id, owner=owner).id]


def _rows_of(store: Store, ids: list[str]) -> dict[str, int]:
    """How many rows of each table belong to the sessions ``ids``."""
    columns = [sessions.c.id, *(t.c[name] for t in metadata.sorted_tables for name in ("session_id", "parent_id")
                                if name in t.c)]
    with store.engine.connect() as conn:
        return {f"{c.table.name}.{c.name}": len(conn.execute(c.table.select().where(c.in_(ids))).all())
                for c in columns}


@pytest.fixture
def team_gym(settings: Settings, new_gym, accounts: Accounts) -> Gym:
    """A gym on the same database as ``accounts`` (and the commands)."""
    return new_gym(settings.model_copy(update={"database_url": accounts.store.url}))


def test_remove_keeps_an_account_that_owns_sessions_unless_asked_to_delete_them(users, team_gym: Gym) -> None:
    gym = team_gym
    anas, mias = _calls(gym, "ana"), _calls(gym, "mia")
    before = _rows_of(gym.store, anas)
    assert before["turns.session_id"] and before["grades.session_id"] and before["reports.session_id"]
    assert before["attempts.parent_id"] and before["follow_ups.parent_id"]

    code, out, err = users("remove", "ana")
    assert (code, out) == (1, "")
    assert "ana owns 3 sessions, so the account was kept" in err
    assert "roleplay users disable ana" in err and "adopt OTHER --from ana" in err and "--delete-sessions" in err
    assert "ana" in listed(users) and _rows_of(gym.store, anas) == before

    assert users("remove", "ana", "--delete-sessions") == (0, "removed ana and its 3 sessions\n", "")
    assert "ana" not in listed(users)
    assert set(_rows_of(gym.store, anas).values()) == {0}
    assert {r["id"] for r in gym.store.list_sessions()} == set(mias)  # nobody else's
    assert users("remove", "eve") == (0, "removed eve\n", "")  # no sessions: nothing to ask


def test_adopt_hands_over_the_sessions_of_single_user_mode_or_of_someone_else(users, team_gym: Gym) -> None:
    gym = team_gym
    solo = _calls(gym, None)
    assert users("adopt", "ana") == (0, "ana now owns 3 more sessions\n", "")
    assert {r["owner"] for r in gym.store.list_sessions()} == {"ana"}
    assert users("adopt", "ana") == (0, "no sessions made in single-user mode (no owner): nothing changed\n", "")
    assert users("adopt", "ana", "--from", "ana")[0] == 1

    assert users("adopt", "mia", "--from", "ana") == (0, "mia now owns 3 more sessions\n", "")
    assert sorted(r["id"] for r in gym.store.list_sessions(owner="mia")) == sorted(solo)
    assert users("remove", "ana") == (0, "removed ana\n", "")  # nothing of hers is lost


def test_every_change_is_audited_with_who_made_it_and_never_a_password(users, monkeypatch, tmp_path: Path) -> None:
    secret = "s3cret-never-audited"
    monkeypatch.setattr("sys.stdin", _Lines(secret))
    steps = [["add", "dan", "--role", "rep", "--team", "east", "--password-stdin"],
             ["passwd", "dan", "--password-stdin"], ["disable", "dan"], ["enable", "dan"],
             ["set-role", "dan", "manager"], ["set-team", "dan", "west"], ["adopt", "dan", "--from", "ana"],
             ["remove", "dan"]]
    for step in steps:
        assert users(*step)[0] == 0, step
    entries = audited(users, "--account", "dan")
    assert [(e["action"], e["actor"], e["detail"]) for e in entries] == [
        ("remove", ACTOR, {"sessions_deleted": 0}),
        ("set-team", ACTOR, {"team": "west", "was": "east"}),
        ("set-role", ACTOR, {"role": "manager", "was": "rep"}),
        ("enable", ACTOR, None),
        ("disable", ACTOR, None),
        ("passwd", ACTOR, None),
        ("add", ACTOR, {"role": "rep", "team": "east"}),
    ]  # adopting nothing changed nothing, so it is not audited
    assert all(e["account"] == "dan" and e["at"] for e in entries)
    assert len(audited(users, "--limit", "2")) == 2
    code, out, _ = users("audit", "--limit", "1")
    assert code == 0 and out.split("\t")[1:5] == ["remove", "dan", ACTOR, "-"]
    assert users("audit", "--limit", "0")[0] == 2
    for path in tmp_path.glob("people.db*"):
        assert secret.encode() not in path.read_bytes()


# --- The throttle -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ana", "nobody"], ids=["account", "name-that-is-no-account"])
def test_five_failures_lock_a_name_for_fifteen_minutes_even_with_the_right_password(
        gate: SignInGate, clock: Clock, name: str) -> None:
    password = PASSWORD if name == "ana" else "anything at all"
    for _ in range(5):
        assert gate.sign_in(name, "wrong password", "10.0.0.1").reason == "wrong"
        clock.advance(minutes=1)
    for address in ("10.0.0.1", "10.9.9.9"):  # from anywhere
        refused = gate.sign_in(name, password, address)
        assert (refused.user, refused.reason) == (None, "throttled")
        assert refused.refusal == "Too many failed sign-ins for this account; try again in 10 minutes."
    clock.advance(minutes=9, seconds=30)
    assert gate.sign_in(name, password, "10.0.0.1").refusal.endswith("try again in 1 minute.")
    clock.advance(seconds=31)  # the first failure has left the window: four remain
    assert gate.sign_in(name, password, "10.0.0.1").reason == ("wrong" if name == "nobody" else None)


def test_a_successful_sign_in_clears_its_names_failures(gate: SignInGate, clock: Clock) -> None:
    for _ in range(4):
        gate.sign_in("ana", "wrong password", "10.0.0.1")
    assert gate.sign_in("ana", PASSWORD, "10.0.0.1").user is not None
    for _ in range(4):
        assert gate.sign_in("ana", "wrong password", "10.0.0.1").reason == "wrong"
    assert gate.sign_in("ana", PASSWORD, "10.0.0.1").user is not None


def test_twenty_failures_from_one_address_lock_that_address(gate: SignInGate, clock: Clock) -> None:
    for i in range(20):  # four names, five tries each: no name alone is locked
        assert gate.sign_in(f"guess{i % 4}", "wrong password", "10.6.6.6").reason == "wrong"
    refused = gate.sign_in("ana", PASSWORD, "10.6.6.6")
    assert refused.refusal == "Too many failed sign-ins from your address; try again in 15 minutes."
    assert gate.sign_in("ana", PASSWORD, "10.0.0.1").user is not None  # from elsewhere
    clock.advance(minutes=15)
    assert gate.sign_in("ana", PASSWORD, "10.6.6.6").user is not None


def test_the_throttle_holds_across_processes(gate: SignInGate, accounts: Accounts, clock: Clock) -> None:
    for _ in range(5):
        gate.sign_in("ana", "wrong password", "10.0.0.1")
    other = SignInGate(Accounts(Store(accounts.store.url), scrypt_n=FAST_N), clock=clock)  # another process's
    assert other.sign_in("ana", PASSWORD, "10.0.0.2").reason == "throttled"


def test_sign_ins_are_audited_with_the_address_and_never_a_typed_name_that_is_no_account(
        gate: SignInGate, accounts: Accounts, clock: Clock, tmp_path: Path) -> None:
    typed_password = "my-password-in-the-name-box"
    gate.sign_in(typed_password, typed_password, "10.0.0.1")
    gate.sign_in("ana", "wrong password", "10.0.0.2")
    gate.sign_in("ANA", PASSWORD, "10.0.0.3")
    accounts.set_disabled("eve", True)
    gate.sign_in("eve", PASSWORD, "10.0.0.4")
    for _ in range(5):
        gate.sign_in("mia", "wrong password", "10.0.0.5")
    gate.sign_in("mia", PASSWORD, "10.0.0.5")
    sign_ins = [(e.action.value, e.account, e.address, e.detail) for e in accounts.audit() if e.address]
    assert sign_ins == [
        ("sign-in-refused", "mia", "10.0.0.5", {"reason": "too many failed sign-ins"}),
        *[("sign-in-failed", "mia", "10.0.0.5", {"reason": "wrong password"})] * 5,
        ("sign-in-refused", "eve", "10.0.0.4", {"reason": "account disabled"}),
        ("sign-in", "ana", "10.0.0.3", None),
        ("sign-in-failed", "ana", "10.0.0.2", {"reason": "wrong password"}),
        ("sign-in-failed", None, "10.0.0.1", {"reason": "no such account"}),  # the name typed is not kept
    ]
    for path in tmp_path.glob("people.db*"):
        assert typed_password.encode() not in path.read_bytes()
        assert PASSWORD.encode() not in path.read_bytes()


class _Lines:
    def __init__(self, text: str):
        self.text = text

    def readline(self) -> str:
        return self.text + "\n"


# --- Through the app (Gradio's sign-in, gradio_client) ---------------------------------------------

def test_a_disabled_account_is_refused_at_its_next_request_and_at_sign_in(team_app: App) -> None:
    ana = team_app.signed_in("ana")
    endpoint(ana, "/start", CALL_VIEW, "happy_incumbent", False)
    team_app.gym.accounts.set_disabled("ana", True, actor="test")
    with pytest.raises(AppError, match="This account is disabled; ask your admin to enable it"):
        ana.predict("Hi Dana, what made you pick Fleetly?", False, api_name="/send")
    refused = httpx.post(f"{team_app.url.rstrip('/')}/login/", data={"username": "ana", "password": PASSWORD})
    assert refused.status_code == 400
    assert refused.json()["detail"] == "This account is disabled; ask your admin to enable it."
    assert not refused.cookies


def test_the_app_throttles_sign_ins_and_says_why(team_app: App) -> None:
    login = f"{team_app.url.rstrip('/')}/login/"
    for _ in range(5):
        wrong = httpx.post(login, data={"username": "ben", "password": "wrong password"})
        assert (wrong.status_code, wrong.json()["detail"]) == (400, "Incorrect credentials.")
    refused = httpx.post(login, data={"username": "ben", "password": PASSWORD})
    assert (refused.status_code, refused.json()["detail"]) == (
        400, "Too many failed sign-ins for this account; try again in 15 minutes.")
    assert not refused.cookies
    assert httpx.post(login, data={"username": "ana", "password": PASSWORD}).cookies  # others sign in
    entries = team_app.gym.accounts.audit(limit=7)
    assert [(e.action.value, e.account, e.address) for e in entries] == [
        ("sign-in", "ana", "127.0.0.1"), ("sign-in-refused", "ben", "127.0.0.1"),
        *[("sign-in-failed", "ben", "127.0.0.1")] * 5]


def test_a_refusal_reaches_the_sign_in_page_of_a_browser_only(team_app: App) -> None:
    """The app's page (a same-origin fetch) gets a 200 that makes it reload, and the reload shows
    the reason, escaped: the cookie is the browser's to change. Other clients keep Gradio's 400."""
    from urllib.parse import quote

    from roleplay.ui.signin_page import REFUSAL_COOKIE

    disabled = "This account is disabled; ask your admin to enable it."
    base, page_fetch = team_app.url.rstrip("/"), {"Sec-Fetch-Site": "same-origin"}
    team_app.gym.accounts.set_disabled("ana", True, actor="test")
    form = {"username": "ana", "password": PASSWORD}
    assert httpx.post(f"{base}/login/", data=form).status_code == 400
    page = httpx.post(f"{base}/login/", data=form, headers=page_fetch)
    assert (page.status_code, page.json()) == (200, {"success": False, "detail": disabled})
    assert set(page.cookies) == {REFUSAL_COOKIE}  # no session
    wrong = httpx.post(f"{base}/login/", data={**form, "username": "ben", "password": "wrong"}, headers=page_fetch)
    assert (wrong.status_code, wrong.json()["detail"]) == (400, "Incorrect credentials.")  # the page says so

    reloaded = httpx.get(f"{base}/", cookies=page.cookies)
    assert disabled in reloaded.text and "Max-Age=0" in reloaded.headers["set-cookie"]
    forged = httpx.get(f"{base}/", cookies={REFUSAL_COOKIE: quote("<img src=x onerror=alert(1)>")})
    assert "\\u003cimg" not in forged.text  # no tag, only its text
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in forged.text
    assert "Pushback Gym: sign in" in httpx.get(f"{base}/").text
