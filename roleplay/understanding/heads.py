"""Fitted heads: small logistic regressions over a reply's features, kept as data.

``heads.json`` beside this module holds every coefficient, the files it was fitted on, their
sha256 and the command that fits it (``roleplay fit reader``). Reading needs only NumPy;
scikit-learn is needed only to fit.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

HEADS_FILE = Path(__file__).with_name("heads.json")


class Head(BaseModel):
    """One logistic regression: standardise, then softmax (or a sigmoid for two classes)."""

    model_config = ConfigDict(frozen=True)

    classes: list[int]
    mean: list[float]
    scale: list[float]
    coef: list[list[float]]
    intercept: list[float]

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # made once: converting the lists on every reading cost more than the arithmetic
        return np.asarray(self.mean), np.asarray(self.scale), np.asarray(self.coef), np.asarray(self.intercept)

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Probability of each class (in ``classes`` order) for one feature vector."""
        mean, scale, coef, intercept = self._arrays
        logits = coef @ ((x - mean) / scale) + intercept
        if len(self.classes) == 2 and logits.shape[0] == 1:
            p = 1.0 / (1.0 + np.exp(-logits[0]))
            return np.array([1.0 - p, p])
        e = np.exp(logits - logits.max())
        return e / e.sum()


class Heads(BaseModel):
    """Every head the reader uses, and where they came from."""

    model_config = ConfigDict(frozen=True)

    encoder: str
    command: str
    fitted_on: dict[str, str]  # golden file -> sha256
    fitted_at: str
    cross_validation: dict[str, object] = {}
    declines: Head  # over a prospect turn: does it refuse, say not now or ask to end contact?
    asks: Head
    servile: Head
    curiosity: Head
    composure: Head
    restraint: Head


def load_heads(path: Path = HEADS_FILE) -> Heads:
    """Load fitted heads; a missing file says how to make it."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: fit it with `roleplay fit reader`")
    return Heads.model_validate_json(path.read_text(encoding="utf-8"))


def head_from_sklearn(clf, mean: np.ndarray, scale: np.ndarray) -> Head:
    """A ``Head`` from a fitted ``LogisticRegression`` and the standardisation it was fitted after."""
    def r(a) -> list:
        return np.round(np.asarray(a, dtype=float), 6).tolist()

    return Head(classes=[int(c) for c in clf.classes_], mean=r(mean), scale=r(scale),
                coef=r(clf.coef_), intercept=r(clf.intercept_))
