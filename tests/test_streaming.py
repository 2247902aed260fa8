"""The prospect's reply spoken in a thread of its own (``roleplay.ui.streaming.spoken_ahead``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from roleplay.ui.streaming import spoken_ahead

WAIT_S = 10.0


def test_the_reply_starts_before_its_first_words_are_asked_for() -> None:
    started = threading.Event()

    def reply() -> Iterator[str]:
        started.set()
        yield "Hello"

    words = spoken_ahead(reply())
    assert started.wait(WAIT_S)
    assert list(words) == ["Hello"]


def test_the_first_words_show_at_once_and_the_rest_comes_as_the_latest_text_ending_with_the_final_one() -> None:
    more = threading.Event()

    def reply() -> Iterator[str]:
        yield "Well"
        assert more.wait(WAIT_S)
        yield "Well, no"
        yield "Well, no thanks."

    words = spoken_ahead(reply(), every_s=WAIT_S)
    assert next(words) == "Well"
    more.set()
    assert list(words) == ["Well, no thanks."]  # the end is not held back for the throttle


def test_what_the_reply_raises_comes_after_its_words() -> None:
    def reply() -> Iterator[str]:
        yield "Sure"
        raise ValueError("the model went away")

    words = spoken_ahead(reply(), every_s=0)
    assert next(words) == "Sure"
    with pytest.raises(ValueError, match="went away"):
        next(words)


def test_a_reply_whose_page_went_away_is_still_spoken_to_its_end() -> None:
    go_on, finished = threading.Event(), threading.Event()

    def reply() -> Iterator[str]:
        yield "One"
        assert go_on.wait(WAIT_S)
        yield "One two"
        finished.set()

    words = spoken_ahead(reply())
    assert next(words) == "One"
    words.close()  # the handler stops: the page closed
    go_on.set()
    assert finished.wait(WAIT_S)
