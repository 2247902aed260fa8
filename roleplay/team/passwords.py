"""Passwords and typed names, hashed with scrypt.

A password is hashed with a per-user random salt, the parameters stored with the hash (so they can
be raised later without breaking old accounts), and compared in constant time. A name typed at
sign-in is kept for the throttle only as ``name_key``, a slow hash: a name that is no account may
be a password typed into the wrong box, and must cost as much to guess as the password's hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

#: scrypt cost: N=2**15, r=8, p=1 is about 32 MiB and a few tens of milliseconds per check
#: (above the N=2**14 floor that OWASP's password storage cheat sheet gives for r=8).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_MAXMEM = 256 * 1024 * 1024
#: The fixed salt of ``name_key``: the same name must give the same key in every process.
_NAME_SALT = b"pushback-gym sign-in throttle"


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """The stored form of ``password``: ``scrypt$n$r$p$salt$hash`` (base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Does ``password`` match the stored hash? ``False`` for a malformed hash, never an error."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_hash() -> str:
    """Checked against when the username is unknown, so a wrong username costs as long as a
    wrong password and the sign-in's timing does not tell which usernames exist."""
    return hash_password(secrets.token_hex(16))


def name_key(name: str, *, n: int = SCRYPT_N) -> str:
    """The key under which failed sign-ins with the typed ``name`` are counted (hex, 64 characters)."""
    return hashlib.scrypt(name.encode(), salt=_NAME_SALT, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM,
                          dklen=32).hex()
