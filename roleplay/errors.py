"""The gym's errors: one base, and the few kinds callers tell apart.

Every error the gym raises on purpose is a ``RoleplayError`` whose message says what went wrong
and how to fix it, so the CLI and the app can show it as it is:

- ``InvalidInput``: something a person gave cannot be used (a message, a persona, a golden
  file, a coaching library, an account change). Also a ``ValueError``.
- ``ConfigError``: the settings or the installation cannot work (a role's model, the prompts,
  the embedded weights, team mode without accounts). Also a ``RuntimeError``.
- ``ModelFault`` (``roleplay.backends.faults``): a model failed after its retry.
- ``CallEnded`` (``roleplay.call``): a message was sent to a call that is over.
- ``CallMoved`` (``roleplay.call``): another window or app process took the call's turn first.
"""


class RoleplayError(Exception):
    """Base of every error the gym raises on purpose."""


class InvalidInput(RoleplayError, ValueError):
    """Something a person gave cannot be used; the message says how to fix it."""


class ConfigError(RoleplayError, RuntimeError):
    """The settings or the installation cannot work; the message says how to fix them."""
