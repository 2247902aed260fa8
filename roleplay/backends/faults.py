"""Model faults: which are worth one more try, how long to wait first, and how to say what happened.

One policy for every role. A timeout, a refused or dropped connection, a rate limit (HTTP
429) or a server error (5xx) gets ONE retry after a short, bounded pause; so does a
malformed answer where the role asks for it (the grader and the coach, whose answers are
JSON). Anything else (a bad request, wrong credentials, a bug) is not retried: it would fail
the same way. When the retry fails too, the role carries on in its own way — the prospect
says the persona's scripted line, the grade is stored as unscored, the report keeps its
computed parts — and shows the message from ``ModelFault.describe``.

The openai backend is built with the SDK's own retries off (see ``models.create_chat_model``),
so this is the only retry there is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from roleplay.errors import RoleplayError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: HTTP statuses that may well succeed a moment later.
TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class Fault(StrEnum):
    """What went wrong, in words a rep can read."""

    TIMEOUT = "it timed out"
    CONNECTION = "it could not be reached"
    RATE_LIMIT = "the server is rate-limiting requests (HTTP 429)"
    SERVER = "the server had an error"
    REJECTED = "the server rejected the request"
    MALFORMED = "its answer was malformed"
    OTHER = "unexpected error"

    @property
    def transient(self) -> bool:
        return self in (Fault.TIMEOUT, Fault.CONNECTION, Fault.RATE_LIMIT, Fault.SERVER)


def _named(exc: BaseException, *names: str) -> bool:
    """Is ``exc`` an instance of a class called one of ``names`` (httpx, httpx2, openai, …)?"""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def status_code(exc: BaseException) -> int | None:
    """The HTTP status behind ``exc`` (openai's ``APIStatusError``, httpx's ``HTTPStatusError``)."""
    code = getattr(exc, "status_code", None)
    if code is None:
        code = getattr(getattr(exc, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def classify(exc: BaseException) -> Fault:
    """Sort an exception raised by a model call into a ``Fault``.

    Works by class name as well as by class, so the exceptions of openai, httpx and the
    ``httpx2`` the openai SDK ships with are all recognised without importing them.
    """
    code = status_code(exc)
    if code == 429 or _named(exc, "RateLimitError"):
        return Fault.RATE_LIMIT
    if isinstance(exc, TimeoutError) or _named(exc, "APITimeoutError", "TimeoutException"):
        return Fault.TIMEOUT
    if isinstance(exc, ConnectionError) or _named(
        exc, "APIConnectionError", "NetworkError", "RemoteProtocolError", "ProxyError"
    ):
        return Fault.CONNECTION
    if code is not None:
        return Fault.SERVER if code in TRANSIENT_STATUS or code >= 500 else Fault.REJECTED
    if isinstance(exc, ValueError):  # json.JSONDecodeError and pydantic's ValidationError are ValueErrors
        return Fault.MALFORMED
    return Fault.OTHER


class ModelFault(RoleplayError, RuntimeError):
    """A model call failed for good (after its retry, if it was worth one)."""

    def __init__(self, cause: BaseException, attempts: int):
        self.cause = cause
        self.attempts = attempts
        self.fault = classify(cause)
        super().__init__(f"{self.fault} ({_detail(cause)})")

    def describe(self, who: str) -> str:
        """A message for the rep, e.g. "the prospect's model failed: it timed out, tried twice
        (APITimeoutError: Request timed out.)"."""
        what = str(self.fault)
        code = status_code(self.cause)
        if self.fault in (Fault.SERVER, Fault.REJECTED) and code is not None:
            what += f" (HTTP {code})"
        tried = ", tried twice" if self.attempts == 2 else f", tried {self.attempts} times" if self.attempts > 2 else ""
        return f"{who} failed: {what}{tried} ({_detail(self.cause)})"


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` / ``retry-after-ms``), if it said."""
    headers: Any = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return float(ms) / 1000
        if (seconds := headers.get("retry-after")) is not None:
            return float(seconds)
    except (TypeError, ValueError):  # an HTTP date, or garbage: use our own pause
        return None
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a model call.

    Args:
        retries: extra attempts after the first (the app uses one).
        delay_s: pause before a retry after a transient fault (none after a malformed answer).
        max_delay_s: the longest pause, whatever a server's ``Retry-After`` asks for.
    """

    retries: int = 1
    delay_s: float = 0.5
    max_delay_s: float = 5.0

    def worth_retrying(self, exc: BaseException, malformed: bool) -> bool:
        fault = classify(exc)
        return fault.transient or (malformed and fault == Fault.MALFORMED)

    def pause(self, exc: BaseException) -> float:
        """Seconds to wait before retrying after ``exc``."""
        if not classify(exc).transient:
            return 0.0
        asked = retry_after(exc)
        return max(0.0, min(self.max_delay_s, self.delay_s if asked is None else max(asked, self.delay_s)))

    def _failed(self, exc: Exception, attempt: int, malformed: bool, what: str,
                on_retry: Callable[[BaseException], None] | None) -> None:
        """Raise ``ModelFault`` if this failure is final; otherwise wait before the next attempt."""
        if attempt >= self.retries or not self.worth_retrying(exc, malformed):
            raise ModelFault(exc, attempt + 1) from exc
        pause = self.pause(exc)
        log.warning("%s: attempt %d failed (%s: %s); retrying in %.1f s",
                    what, attempt + 1, type(exc).__name__, exc, pause)
        if on_retry is not None:
            on_retry(exc)
        time.sleep(pause)

    def call(
        self, fn: Callable[[], T], *, malformed: bool = False, what: str = "model call",
        on_retry: Callable[[BaseException], None] | None = None,
    ) -> T:
        """Run ``fn`` (one whole attempt: the model call and the parsing of its answer).

        Args:
            fn: the attempt.
            malformed: retry a malformed answer (a ``ValueError`` from ``fn``) as well.
            what: names the call in the log.
            on_retry: called with the exception before each retry.

        Raises:
            ModelFault: the last attempt failed; ``cause`` is its exception.
        """
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - sorted by classify(); final ones become ModelFault
                self._failed(exc, attempt, malformed, what, on_retry)
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(
        self, start: Callable[[], Iterable[str]], *, what: str = "model stream",
        on_retry: Callable[[BaseException], None] | None = None,
    ) -> Iterator[str]:
        """Yield the text streamed so far (not the pieces); a retry starts again from "" (yielded).

        Args:
            start: opens the stream, yielding pieces of text.
            what: names the call in the log.
            on_retry: called with the exception before each retry.

        Raises:
            ModelFault: the last attempt failed; ``cause`` is its exception.
        """
        for attempt in range(self.retries + 1):
            text = ""
            try:
                for piece in start():
                    text += piece
                    yield text
                return
            except Exception as exc:  # noqa: BLE001 - sorted by classify(); final ones become ModelFault
                self._failed(exc, attempt, False, what, on_retry)
            if text:
                yield ""  # the retry starts again from nothing
