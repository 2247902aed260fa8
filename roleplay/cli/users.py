"""The ``users`` commands (accounts for team mode, their changes, and the audit log) and
``sessions delete``.

Every change is audited with who made it: ``cli:<the OS user who ran the command>``. A refused
change is an error on stderr with exit code 1, and changes nothing.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable

from roleplay.cli.common import stored_session
from roleplay.config import load_settings
from roleplay.rendering import counted, noun_for


def _accounts():
    from roleplay.storage import create_store
    from roleplay.team import Accounts

    return Accounts(create_store(load_settings().db_url))


def _actor() -> str:
    """Who runs this command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container's unnamed uid)
        return "cli:unknown"


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line on stdin with ``--password-stdin``, else asked twice at the
    terminal. Never a command-line argument, which other users can see in the process list."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _change_account(change: Callable[[], str]) -> int:
    """Run ``change`` (which says what it did); a refused change is an error on stderr, exit 1."""
    from roleplay.team import AccountError

    try:
        done = change()
    except (AccountError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(done)
    return 0


def _described(user) -> str:
    return f"{user.username} ({user.role.value}{', team ' + user.team if user.team else ''})"


def cmd_users_add(args: argparse.Namespace) -> int:
    def add() -> str:
        user = _accounts().add(args.username, _read_password(args), args.role, args.team, actor=_actor())
        return f"created {_described(user)}"

    return _change_account(add)


def cmd_users_passwd(args: argparse.Namespace) -> int:
    def change() -> str:
        _accounts().set_password(args.username, _read_password(args), actor=_actor())
        return f"password of {args.username} changed"

    return _change_account(change)


def cmd_users_list(args: argparse.Namespace) -> int:
    users = _accounts().users(team=args.team)
    if args.json:
        print(json.dumps([u.model_dump(mode="json") for u in users]))
    else:
        for u in users:
            print("\t".join([u.username, u.role.value, u.team or "-", *(["disabled"] if u.disabled else [])]))
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args.username, True)


def cmd_users_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args.username, False)


def _set_disabled(username: str, disabled: bool) -> int:
    word = "disabled" if disabled else "enabled"

    def change() -> str:
        changed = _accounts().set_disabled(username, disabled, actor=_actor())
        return f"{username} {word}" if changed else f"{username} was already {word}: nothing changed"

    return _change_account(change)


def cmd_users_remove(args: argparse.Namespace) -> int:
    def change() -> str:
        deleted = _accounts().remove(args.username, delete_sessions=args.delete_sessions, actor=_actor())
        return f"removed {args.username}" + (f" and its {counted(deleted, 'session')}" if deleted else "")

    return _change_account(change)


def cmd_users_set_role(args: argparse.Namespace) -> int:
    return _change_account(lambda: "now " + _described(
        _accounts().set_role(args.username, args.role, args.team, actor=_actor())))


def cmd_users_set_team(args: argparse.Namespace) -> int:
    if (args.team is None) == (not args.none):
        print("error: give a TEAM, or --none to leave every team (not both)", file=sys.stderr)
        return 2
    return _change_account(lambda: "now " + _described(
        _accounts().set_team(args.username, None if args.none else args.team, actor=_actor())))


def cmd_users_adopt(args: argparse.Namespace) -> int:
    source = f"of {args.source}" if args.source else "made in single-user mode (no owner)"

    def change() -> str:
        count = _accounts().adopt(args.username, args.source, actor=_actor())
        if not count:
            return f"no sessions {source}: nothing changed"
        return f"{args.username} now owns {count} more {noun_for(count, 'session')}"

    return _change_account(change)


def cmd_users_audit(args: argparse.Namespace) -> int:
    if args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    entries = _accounts().audit(limit=args.limit, account=args.account)
    if args.json:
        print(json.dumps([e.model_dump(mode="json") for e in entries]))
        return 0
    for e in entries:
        detail = " ".join(f"{k}={v}" for k, v in (e.detail or {}).items())
        print("\t".join([e.at.isoformat(timespec="seconds"), e.action.value, e.account or "-", e.actor or "-",
                         e.address or "-", detail or "-"]))
    return 0


def cmd_sessions_delete(args: argparse.Namespace) -> int:
    from roleplay.team import Accounts

    with stored_session(args.session_id) as found:
        if found is None:
            return 1
        store, record = found
        owner = f", {record.owner}'s" if record.owner else ""
        what = (f"session {record.id} ({record.persona_id}, {record.created_at:%Y-%m-%d %H:%M}{owner}): "
                f"{len(record.turns)} turn(s), {len(record.grades)} grade(s), {len(record.deliveries)} delivery "
                f"figure(s), {len(store.recordings_for(record.id))} recording(s)")
        if not args.yes:
            if not sys.stdin.isatty():
                print(f"error: not deleting {what} without asking: add --yes", file=sys.stderr)
                return 2
            if input(f"Delete {what} for good? [y/N] ").strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 1
        Accounts(store).delete_session(record.id, actor=_actor())
    print(f"deleted {what}")
    return 0
