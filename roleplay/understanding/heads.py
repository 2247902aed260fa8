"""Fitted heads, kept as data: small logistic regressions over a reply's features, and for the
two yes/no readings every push count rests on (does a prospect turn decline, does a rep line
push for a commitment) support vector machines with an RBF kernel and a sigmoid calibration.

``heads.json`` beside this module holds every coefficient and support vector, the files it was
fitted on, their sha256 and the command that fits it (``roleplay fit reader``). Reading needs
only NumPy; scikit-learn is needed only to fit.
"""

from __future__ import annotations

import base64
from functools import cached_property
from pathlib import Path
from typing import Literal

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


class KernelHead(BaseModel):
    """A two-class support vector machine with an RBF kernel, calibrated by a sigmoid (Platt).

    P(classes[1]) = 1 / (1 + exp(a·f + b)), where f = Σ dual_coef_i · exp(-gamma·|sv_i - z|²) +
    intercept and z is the standardised feature vector. The support vectors are stored as
    float16 in base64 (``rows`` of them, each ``len(mean)`` long).
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["rbf_svm"] = "rbf_svm"
    classes: list[int]
    mean: list[float]
    scale: list[float]
    gamma: float
    rows: int
    support: str
    dual_coef: list[float]
    intercept: float
    sigmoid: tuple[float, float]  # (a, b)

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, ...]:
        # float32 is plenty for a kernel over standardised features, and twice as fast as float64
        sv = np.frombuffer(base64.b64decode(self.support), dtype=np.float16).astype(np.float32)
        sv = sv.reshape(self.rows, len(self.mean))
        return np.asarray(self.mean), np.asarray(self.scale), sv, (sv * sv).sum(1), np.asarray(self.dual_coef)

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Probability of each class (in ``classes`` order) for one feature vector."""
        mean, scale, sv, sv_sq, dual = self._arrays
        z = ((x - mean) / scale).astype(np.float32)
        distances = np.maximum(sv_sq + z @ z - 2.0 * (sv @ z), 0.0)
        f = float(dual @ np.exp(-self.gamma * distances)) + self.intercept
        a, b = self.sigmoid
        p = 1.0 / (1.0 + np.exp(a * f + b))
        return np.array([1.0 - p, p])


class Heads(BaseModel):
    """Every head the reader uses, and where they came from."""

    model_config = ConfigDict(frozen=True)

    encoder: str
    command: str
    fitted_on: dict[str, str]  # golden file -> sha256
    fitted_at: str
    cross_validation: dict[str, object] = {}
    declines: Head | KernelHead  # over a prospect turn: does it refuse, say not now or ask to end contact?
    asks: Head | KernelHead  # over a rep line: does it push for a commitment (or press without asking)?
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


def kernel_head_from_sklearn(calibrated, mean: np.ndarray, scale: np.ndarray) -> KernelHead:
    """A ``KernelHead`` from a fitted ``CalibratedClassifierCV(SVC(kernel="rbf", gamma=<a number>),
    method="sigmoid", ensemble=False)`` and the standardisation it was fitted after."""
    fitted = calibrated.calibrated_classifiers_[0]
    svm, sigmoid = fitted.estimator, fitted.calibrators[0]
    sv = np.ascontiguousarray(svm.support_vectors_, dtype=np.float16)
    return KernelHead(
        classes=[int(c) for c in svm.classes_], mean=np.round(mean, 6).tolist(), scale=np.round(scale, 6).tolist(),
        gamma=float(svm.gamma), rows=sv.shape[0], support=base64.b64encode(sv.tobytes()).decode("ascii"),
        dual_coef=np.round(svm.dual_coef_[0], 6).tolist(), intercept=float(svm.intercept_[0]),
        sigmoid=(float(sigmoid.a_), float(sigmoid.b_)))
