"""Signing in: the password check, the throttle of failed sign-ins, and the audit of each attempt.

After ``Limits.per_account`` failed sign-ins with one name, or ``Limits.per_address`` from one
client address, within ``Limits.window``, further attempts are refused (even with the right
password, which is then not checked) until the oldest of those failures is older than the window.
A successful sign-in clears its name's failures. The failures are kept in the database, so the
throttle holds across processes and restarts.

Names that are no account are throttled like accounts (else the throttle would tell which names
exist), under a slow hash of the name (``passwords.name_key``): such a name may be a password
typed into the wrong box, so neither the failures nor the audit log keep it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from roleplay.team.accounts import DISABLED_MESSAGE, Accounts, AuditAction, User, normalized
from roleplay.team.passwords import name_key

log = logging.getLogger(__name__)

WRONG_MESSAGE = "Incorrect username or password."


@dataclass(frozen=True)
class Limits:
    """How many failed sign-ins are allowed within ``window`` before further ones are refused."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignIn:
    """The outcome of an attempt: the user signed in, or what to tell the person who tried and why."""

    user: User | None = None
    refusal: str | None = None
    reason: Literal["wrong", "throttled", "disabled"] | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SignInGate:
    """Checks sign-ins against the accounts, the throttle and the disabled accounts, and audits each.

    Args:
        accounts: the accounts (and, through them, the store).
        limits: the throttle's limits.
        clock: the current time (tests pass one they move forward).
    """

    def __init__(self, accounts: Accounts, limits: Limits = Limits(),
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.accounts = accounts
        self.limits = limits
        self.clock = clock

    def sign_in(self, username: str, password: str, address: str | None = None) -> SignIn:
        """Check one attempt to sign in as ``username`` from ``address``; audit it."""
        store, now = self.accounts.store, self.clock()
        name = normalized(username)
        key = name_key(name, n=self.accounts.scrypt_n)
        since = now - self.limits.window
        store.forget_sign_in_failures(before=since)
        known = self.accounts.get(name)
        account = known.username if known else None

        def audit(action: AuditAction, **detail: str) -> None:
            self.accounts.record(action, account, address=address, at=now, **detail)

        wait = self._wait(key, address, since, now)
        if wait is not None:
            audit(AuditAction.SIGN_IN_REFUSED, reason="too many failed sign-ins")
            log.warning("sign-in refused (throttled) for %s from %s", account or "a name that is no account", address)
            return SignIn(refusal=wait, reason="throttled")
        user = self.accounts.check(name, password)
        if user is None:
            store.add_sign_in_failure(key, address, now)
            audit(AuditAction.SIGN_IN_FAILED, reason="wrong password" if known else "no such account")
            log.info("sign-in failed for %s from %s", account or "a name that is no account", address)
            return SignIn(refusal=WRONG_MESSAGE, reason="wrong")
        if user.disabled:
            audit(AuditAction.SIGN_IN_REFUSED, reason="account disabled")
            log.info("sign-in refused for %s from %s: the account is disabled", account, address)
            return SignIn(refusal=DISABLED_MESSAGE, reason="disabled")
        store.forget_sign_in_failures(name_key=key)
        audit(AuditAction.SIGN_IN)
        return SignIn(user=user)

    def _wait(self, key: str, address: str | None, since: datetime, now: datetime) -> str | None:
        """Why this attempt must wait, if it must: too many failures of its name or its address."""
        store, limits = self.accounts.store, self.limits
        checks = [(store.sign_in_failures(since, name_key=key), limits.per_account, "for this account")]
        if address:
            checks.append((store.sign_in_failures(since, address=address), limits.per_address, "from your address"))
        for failures, limit, whose in checks:
            if len(failures) >= limit:
                # Allowed again once the limit-th most recent failure leaves the window.
                minutes = max(1, math.ceil((failures[limit - 1] + limits.window - now).total_seconds() / 60))
                return f"Too many failed sign-ins {whose}; try again in {minutes} minute{'s' * (minutes != 1)}."
        return None
