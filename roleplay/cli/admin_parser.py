"""The command line's commands for admins: accounts and the audit log (``users``), and the
database's schema (``db``)."""

from __future__ import annotations

import argparse

from roleplay.cli import database
from roleplay.cli import users as people
from roleplay.cli.arguments import ROLE_HELP, ROLES, Commands, json_option


def add_users(top: Commands) -> None:
    users = Commands(top.add("users", "accounts for team mode, and the audit log of sign-ins and changes",
                              "roleplay users add dana --role rep --team north\nroleplay users list --json\n"
                              "roleplay users disable dana\nroleplay users audit --limit 20",
                              "Every change is written to the audit log with who made it (the OS user running the "
                              "command); passwords never are."),
                      "users_command", required=True)
    add = users.add("add", "create an account (asks for the password)",
                    "roleplay users add dana --role rep --team north\n"
                    "echo \"$PASSWORD\" | roleplay users add lee --role manager --team north --password-stdin")
    add.add_argument("username", help="the name to sign in with")
    add.add_argument("--role", required=True, choices=ROLES, help=ROLE_HELP)
    add.add_argument("--team", help="the team: a manager sees the sessions of their team's reps")
    _password_stdin(add)
    add.set_defaults(func=people.cmd_users_add)
    passwd = users.add("passwd", "set an account's password (asks for it)", "roleplay users passwd dana")
    passwd.add_argument("username", help="the account")
    _password_stdin(passwd)
    passwd.set_defaults(func=people.cmd_users_passwd)
    listing = users.add("list", "accounts, their roles and teams, and which are disabled",
                        "roleplay users list --team north\nroleplay users list --json")
    listing.add_argument("--team", help="only this team's accounts")
    json_option(listing)
    listing.set_defaults(func=people.cmd_users_list)

    disable = users.add("disable", "stop an account from signing in; its sessions stay", "roleplay users disable dana",
                        "A browser already signed in as it is refused at its next request. Its sessions and scores "
                        "stay, and its manager still sees them; `roleplay users enable` undoes it.")
    disable.add_argument("username", help="the account")
    disable.set_defaults(func=people.cmd_users_disable)
    enable = users.add("enable", "let a disabled account sign in again", "roleplay users enable dana")
    enable.add_argument("username", help="the account")
    enable.set_defaults(func=people.cmd_users_enable)
    remove = users.add("remove", "delete an account (one that owns sessions only with --delete-sessions)",
                       "roleplay users remove dana\nroleplay users adopt lee --from dana && roleplay users remove dana"
                       "\nroleplay users remove dana --delete-sessions",
                       "An account that owns sessions is kept, and the command says so (exit 1): to keep its "
                       "sessions, disable it instead, or hand them to someone with `roleplay users adopt OTHER --from "
                       "NAME` and then remove it. --delete-sessions deletes its sessions, their turns, grades, "
                       "reports, delivery and recorded audio with it, for good. The audit log keeps its entries.")
    remove.add_argument("username", help="the account")
    remove.add_argument("--delete-sessions", action="store_true",
                        help="also delete every session the account owns (cannot be undone)")
    remove.set_defaults(func=people.cmd_users_remove)
    set_role = users.add("set-role", "give an account another role", "roleplay users set-role dana manager --team north"
                         "\nroleplay users set-role lee rep")
    set_role.add_argument("username", help="the account")
    set_role.add_argument("role", choices=ROLES, help=ROLE_HELP)
    set_role.add_argument("--team", help="also move it to this team (a manager needs one; default: its own)")
    set_role.set_defaults(func=people.cmd_users_set_role)
    set_team = users.add("set-team", "move an account to another team", "roleplay users set-team dana south\n"
                         "roleplay users set-team eve --none")
    set_team.add_argument("username", help="the account")
    set_team.add_argument("team", nargs="?", help="the new team (its manager then sees the account's sessions)")
    set_team.add_argument("--none", action="store_true", help="leave every team (not for a manager)")
    set_team.set_defaults(func=people.cmd_users_set_team)
    adopt = users.add("adopt", "hand sessions to an account: those of single-user mode, or another account's",
                      "roleplay users adopt dana\nroleplay users adopt lee --from dana",
                      "Sessions made before team mode have no owner, so nobody signed in can open them: this makes "
                      "them the account's. With --from, the sessions of another account (one who left, say) move "
                      "instead.")
    adopt.add_argument("username", help="the account that gets the sessions")
    adopt.add_argument("--from", dest="source", metavar="NAME",
                       help="take the sessions of this account (default: the sessions with no owner)")
    adopt.set_defaults(func=people.cmd_users_adopt)
    audit = users.add("audit", "the audit log: sign-ins (with the client's address) and every change, newest first",
                      "roleplay users audit\nroleplay users audit --account dana --limit 100 --json")
    audit.add_argument("--limit", type=int, default=50, metavar="N", help="show the latest N entries")
    audit.add_argument("--account", help="only the entries of this account")
    json_option(audit)
    audit.set_defaults(func=people.cmd_users_audit)


def _password_stdin(p: argparse.ArgumentParser) -> None:
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line on stdin")


def add_db(top: Commands) -> None:
    db = Commands(top.add("db", "the database's schema: where it stands, upgrading it, new revisions",
                           "roleplay db current\nroleplay db upgrade"), "db_command", required=True)
    where = ("The database is the settings' (ROLEPLAY_DATABASE_URL or database_url in roleplay.toml; by default "
             "data/roleplay.db).")
    current = db.add("current", "show the database's schema revision and whether it is up to date",
                     "roleplay db current\nroleplay db current --check --json",
                     f"{where} It is only read. Exit 1 if a newer release upgraded it.")
    current.add_argument("--check", action="store_true", help="also exit 1 unless it is at the head revision")
    json_option(current)
    current.set_defaults(func=database.cmd_db_current)
    upgrade = db.add("upgrade", "bring the database to the head revision (the app also does when it starts)",
                     "roleplay db upgrade\nROLEPLAY_DATABASE_URL=postgresql+psycopg://gym@db.internal/gym "
                     "roleplay db upgrade",
                     f"{where} One transaction: an upgrade that fails changes nothing. Processes that upgrade at "
                     "once take turns (PostgreSQL's advisory lock, SQLite's write lock). Back the database up first.")
    upgrade.set_defaults(func=database.cmd_db_upgrade)
    revision = db.add("revision", "write a new revision from the changes to roleplay/storage/tables.py "
                                  "(developers, in a checkout)",
                      "roleplay db revision \"add the rep's goal to sessions\"\n"
                      "roleplay db revision \"fill in the goal from the persona\" --empty",
                      "Compares the tables with a new SQLite database that the revisions so far bring to head, and "
                      "writes the difference to roleplay/storage/migrations/versions/. Read what it wrote and test "
                      "it: docs/migrations.md.")
    revision.add_argument("message", help="what the revision does (it also names the file)")
    revision.add_argument("--empty", action="store_true", help="an empty revision to write by hand (to move data)")
    revision.add_argument("--database-url", help="compare with this database, at head, instead (e.g. PostgreSQL)")
    revision.set_defaults(func=database.cmd_db_revision)
