"""The prospect's reply on its way to the page: spoken in a thread of its own, shown as it grows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator

#: Shortest time between two updates of the prospect's streaming line: each update costs the
#: server a render and a round trip, and the eye reads no faster (the embedded model writes a
#: word about every 0.1 s, so every word still shows).
STREAM_EVERY_S = 0.05


class _Latest:
    """The latest text of a growing reply, handed from the thread speaking it to the handler."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.text: str | None = None  # not yet shown
        self.done = False
        self.error: BaseException | None = None

    def speak(self, reply: Iterable[str]) -> None:
        try:
            for text in reply:
                with self.cond:
                    self.text = text
                    self.cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - raised again in the handler
            self.error = exc
        finally:
            with self.cond:
                self.done = True
                self.cond.notify_all()


def spoken_ahead(reply: Iterable[str], every_s: float = STREAM_EVERY_S) -> Iterator[str]:
    """Iterate ``reply`` (a prospect's text as it grows) in a thread of its own from now on.

    The prospect's model starts at once, while the handler shows the rep's line. Each value is
    the latest text when the handler asks for the next, at most one per ``every_s`` seconds,
    while the reply is being spoken: once it is over the iteration ends, and the handler shows
    the whole turn. What ``reply`` raises is raised here. A reply whose page went away is still
    spoken to its end, so the turn is stored.
    """
    latest = _Latest()
    threading.Thread(target=latest.speak, args=(reply,), name="prospect-reply", daemon=True).start()
    return _shown(latest, every_s)


def _shown(latest: _Latest, every_s: float) -> Iterator[str]:
    shown_at = float("-inf")
    while True:
        with latest.cond:
            latest.cond.wait_for(lambda: latest.text is not None or latest.done)
            # the first words show at once; later ones at most every ``every_s``, the end at once
            latest.cond.wait_for(lambda: latest.done, timeout=max(0.0, shown_at + every_s - time.monotonic()))
            text, latest.text = latest.text, None
        if latest.error is not None:
            raise latest.error
        if latest.done:
            return
        if text is not None:
            shown_at = time.monotonic()
            yield text
