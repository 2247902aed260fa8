"""The prospect's reply spoken in a thread of its own (``roleplay.ui.streaming.spoken_ahead``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from roleplay.ui.streaming import spoken_ahead

pytestmark = pytest.mark.timeout(60)

WAIT_S = 10.0


def test_the_reply_starts_before_its_first_words_are_asked_for() -> None:
    started, end = threading.Event(), threading.Event()

    def reply() -> Iterator[str]:
        started.set()
        yield "Hello"
        assert end.wait(WAIT_S)

    words = spoken_ahead(reply())
    assert started.wait(WAIT_S)
    assert next(words) == "Hello"
    end.set()
    assert list(words) == []


def test_later_words_wait_for_the_throttle_but_the_end_of_the_reply_does_not() -> None:
    more = threading.Event()

    def reply() -> Iterator[str]:
        yield "Well"
        assert more.wait(WAIT_S)
        yield "Well, no"
        yield "Well, no thanks."

    words = spoken_ahead(reply(), every_s=3600)
    assert next(words) == "Well"  # the first words at once
    more.set()
    # the rest came within the hour, and then the reply was over: the handler shows the whole
    # turn at once (a throttle that held the end back would keep this waiting for an hour)
    assert list(words) == []


def test_each_value_is_the_latest_text() -> None:
    more, end = threading.Event(), threading.Event()

    def reply() -> Iterator[str]:
        yield "Well"
        assert more.wait(WAIT_S)
        yield "Well, no"
        yield "Well, no thanks."
        assert end.wait(WAIT_S)

    words = spoken_ahead(reply(), every_s=0)
    assert next(words) == "Well"
    more.set()
    shown = next(words)
    while shown != "Well, no thanks.":  # "Well, no" may show first, never after the later text
        assert shown == "Well, no"
        shown = next(words)
    end.set()
    assert list(words) == []


def test_what_the_reply_raises_is_raised_to_the_handler() -> None:
    fail = threading.Event()

    def reply() -> Iterator[str]:
        yield "Sure"
        assert fail.wait(WAIT_S)
        raise ValueError("the model went away")

    words = spoken_ahead(reply(), every_s=0)
    assert next(words) == "Sure"
    fail.set()
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
