"""Fit the reader's heads on the dev splits: ``roleplay fit reader``.

Only golden files whose every case is marked ``meta.split == "dev"`` are accepted, so a test,
holdout, unseen or fresh split can never be fitted on by mistake. Before the final fit, each
dev file is held out in turn (the others fit) and agreement on it is reported: files were
written at different times in different words, so this is the honest in-dev estimate. The
regularisation strength is chosen on the same held-out files. Needs scikit-learn.

The declines and asks heads are RBF support vector machines: on the 24 dev files, each held out
in turn, push agreement was 0.884 with logistic regressions for both and 0.910 with SVMs for both
(this fit's asks C 1, 3, 10: 0.902, 0.910, 0.910; the declines SVM's C 1 and 3 tied on dev).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from roleplay.errors import InvalidInput
from roleplay.measure.golden import GoldenCase, load_golden, quadratic_weighted_kappa
from roleplay.understanding.encoder import ENCODER_NAME, Encoder, shared_encoder
from roleplay.understanding.heads import (
    HEADS_FILE,
    Head,
    Heads,
    KernelHead,
    head_from_sklearn,
    kernel_head_from_sklearn,
)
from roleplay.understanding.reading import (
    ASK_THRESHOLD,
    DIMENSIONS,
    Structure,
    ask_features,
    count_pushes_before,
    dimension_features,
    dimension_levels,
    prospect_refusals,
    push_number,
    reading_text,
    structure_of,
)
from roleplay.understanding.signals import prospect_declines

log = logging.getLogger(__name__)
SERVILE_TAGS = {"servile", "grovel", "caves"}
C_GRID = (0.002, 0.005, 0.01, 0.02, 0.05)
ASKS_GRID = (1.0, 3.0, 10.0)  # the asks SVM's C
DECLINES_C = 1.0


class NotDevError(InvalidInput):
    """A golden file offered for fitting holds cases that are not dev cases."""


@dataclass
class Example:
    case: GoldenCase
    file: str
    vec: np.ndarray
    ask_x: np.ndarray
    context_ask_x: list[np.ndarray]
    structure: Structure  # with the refusals the patterns alone count
    context_asks: list[int | None]  # what the labels say of each earlier rep line, where they say it
    prospect_x: list[np.ndarray]  # each prospect turn's embedding
    prospect_declines: list[int | None]  # what the labels say of each prospect turn, where they say it

    @property
    def meta(self) -> dict:
        return getattr(self.case, "meta", None) or {}


def _examples(files: list[Path], encoder: Encoder) -> list[Example]:
    out = []
    for path in files:
        cases = load_golden(path)
        strays = [c.id for c in cases if (getattr(c, "meta", None) or {}).get("split") != "dev"]
        if strays:
            raise NotDevError(f"{path}: {len(strays)} cases are not dev cases (e.g. {strays[0]}); fit on dev only")
        for case in cases:
            spoken = reading_text(case.reply)
            s = structure_of(case.context, case.reply)
            vec = encoder.embed(spoken)
            reps = [ln.text for ln in case.context if ln.speaker == "rep"]
            ctx = [ask_features(encoder.embed, t) for t in reps]
            turns = [ln.text for ln in case.context if ln.speaker == "prospect"]
            out.append(Example(case, path.name, vec, ask_features(encoder.embed, case.reply), ctx, s,
                               context_asks(case),
                               [encoder.embed(t) for t in turns], context_declines(case)))
    return out


def context_asks(case: GoldenCase) -> list[int | None]:
    """Whether each earlier rep line asked for a commitment, where the labels settle it.

    Only ``meta`` counts are labelled, not lines, but they settle the lines after the first refusal
    when every prospect turn declined (so the first refusal is the first prospect turn): a reply
    that is the n-th ask after it, with n-1 rep lines between, had every one of them ask; the
    first ask (n = 1) had none of them ask. Other lines stay unknown (None).
    """
    meta = getattr(case, "meta", None) or {}
    reps = [i for i, ln in enumerate(case.context) if ln.speaker == "rep"]
    known: list[int | None] = [None] * len(reps)
    prospect = [i for i, ln in enumerate(case.context) if ln.speaker == "prospect"]
    n, refusals = meta.get("pushes_after_refusal", 0), meta.get("refusals_before", 0)
    if not (n and prospect and refusals == len(prospect)):
        return known
    after = [k for k, i in enumerate(reps) if i > prospect[0]]
    if n == 1 or len(after) == n - 1:
        for k in after:
            known[k] = int(n > 1)
    return known


def context_declines(case: GoldenCase) -> list[int | None]:
    """Whether each prospect turn refused, where ``meta.refusals_before`` settles it: all of them
    when it counts every turn, none when it is 0, and the refusal patterns' reading when their
    count is the label's. Otherwise unknown (None)."""
    turns = [ln.text for ln in case.context if ln.speaker == "prospect"]
    refusals = (getattr(case, "meta", None) or {}).get("refusals_before")
    if refusals is None:
        return [None] * len(turns)
    if refusals in (0, len(turns)):
        return [int(refusals > 0)] * len(turns)
    by_pattern = [int(prospect_declines(t)) for t in turns]
    return by_pattern if sum(by_pattern) == refusals else [None] * len(turns)


def _fit_lr(X: np.ndarray, y: np.ndarray, C: float, balanced: bool = False) -> Head:
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(0), X.std(0) + 1e-6
    clf = LogisticRegression(C=C, max_iter=4000, class_weight="balanced" if balanced else None)
    clf.fit((X - mean) / scale, y)
    return head_from_sklearn(clf, mean, scale)


def _fit_svm(X: np.ndarray, y: np.ndarray, C: float) -> KernelHead:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    mean, scale = X.mean(0), X.std(0) + 1e-6
    Z = (X - mean) / scale
    gamma = 1.0 / (Z.shape[1] * Z.var())  # scikit-learn's "scale", as a number kept with the head
    svm = SVC(C=C, gamma=gamma, class_weight="balanced")
    calibrated = CalibratedClassifierCV(svm, method="sigmoid", cv=5, ensemble=False).fit(Z, y)
    return kernel_head_from_sklearn(calibrated, mean, scale)


def _fit_all(train: list[Example], c_dims: dict[str, float], c_asks: float,
             readings: dict[str, Head | KernelHead] | None = None) -> dict[str, Head | KernelHead]:
    heads = dict(readings or _fit_readings(train, c_asks))
    X = np.array([_dim_x(e, heads) for e in train])
    for d in DIMENSIONS:
        heads[d] = _fit_lr(X, np.array([e.case.labels[d] for e in train]), C=c_dims[d])
    return heads


def _fit_readings(train: list[Example], c_asks: float) -> dict[str, Head | KernelHead]:
    """The heads the dimension heads read: declines, asks, servile."""
    turns = {}  # a prospect turn repeats across a writer's cases: once each
    for e in train:
        for x, y in zip(e.prospect_x, e.prospect_declines, strict=True):
            if y is not None:
                turns[(e.file, x.tobytes())] = (x, y)
    declines = _fit_svm(np.array([x for x, _ in turns.values()]), np.array([y for _, y in turns.values()]),
                        C=DECLINES_C)
    asked = [e for e in train if e.meta.get("refusals_before", 0) > 0 and "pushes_after_refusal" in e.meta]
    lines = [(x, y) for e in train for x, y in zip(e.context_ask_x, e.context_asks, strict=True) if y is not None]
    asks = _fit_svm(np.array([e.ask_x for e in asked] + [x for x, _ in lines]),
                    np.array([int(e.meta["pushes_after_refusal"] > 0) for e in asked] + [y for _, y in lines]),
                    C=c_asks)
    servile = _fit_lr(np.array([e.vec for e in train]),
                      np.array([int(bool(SERVILE_TAGS & set(e.meta.get("tags", [])))) for e in train]),
                      C=0.1, balanced=True)
    return {"declines": declines, "asks": asks, "servile": servile}


def _reading_parts(e: Example, heads: dict[str, Head]) -> tuple[float, int, Structure]:
    """As ``Reader.read``: P(asks), the asks after the first refusal before it, and the structure
    with the refusals the declines head and the patterns count."""
    declined = prospect_refusals(e.case.context, [float(heads["declines"].proba(x)[1]) for x in e.prospect_x])
    p_ctx = [float(heads["asks"].proba(x)[1]) for x in e.context_ask_x]
    s = e.structure.model_copy(update={"refusals_before": sum(declined)})
    return float(heads["asks"].proba(e.ask_x)[1]), count_pushes_before(e.case.context, p_ctx, declined), s


def _dim_x(e: Example, heads: dict[str, Head], parts: tuple[float, int, Structure] | None = None) -> np.ndarray:
    p_ask, before, s = parts or _reading_parts(e, heads)
    return dimension_features(e.vec, s, p_ask, before, float(heads["servile"].proba(e.vec)[1]))


def _predict(e: Example, heads: dict[str, Head]) -> tuple[dict[str, int], int]:
    """The scores and push count the reader would give ``e`` with ``heads`` (as ``Reader.read``)."""
    parts = _reading_parts(e, heads)
    x = _dim_x(e, heads, parts)
    p_ask, before, s = parts
    asks = round(p_ask, 4) >= ASK_THRESHOLD
    pushes = push_number(asks, s.refusals_before, before)
    levels = dimension_levels(heads, x, pushes, s.stop_hard, asks)
    return {d: lv.score for d, lv in levels.items()}, pushes


def cross_validate(examples: list[Example], c_dims: dict[str, float], c_asks: float,
                   fitted: dict | None = None) -> dict[str, object]:
    """Hold out each dev file in turn; pooled QWK per dimension and push agreement.

    ``fitted`` keeps each fold's declines, asks and servile heads (by held-out file and asks C)
    for the next call, which then fits only the dimension heads.
    """
    fitted = {} if fitted is None else fitted
    files = sorted({e.file for e in examples})
    labels = {d: [] for d in DIMENSIONS}
    preds = {d: [] for d in DIMENSIONS}
    pushes_right = pushes_n = 0
    for held in files:
        train = [e for e in examples if e.file != held]
        if (held, c_asks) not in fitted:
            fitted[held, c_asks] = _fit_readings(train, c_asks)
        heads = _fit_all(train, c_dims, c_asks, fitted[held, c_asks])
        for e in (e for e in examples if e.file == held):
            scores, pushes = _predict(e, heads)
            for d in DIMENSIONS:
                labels[d].append(e.case.labels[d])
                preds[d].append(scores[d])
            if "pushes_after_refusal" in e.meta:
                pushes_n += 1
                pushes_right += pushes == e.meta["pushes_after_refusal"]
    out: dict[str, object] = {d: round(quadratic_weighted_kappa(labels[d], preds[d]), 3) for d in DIMENSIONS}
    out["push_agreement"] = round(pushes_right / max(1, pushes_n), 3)
    return out


def fit_reader(files: list[Path], out: Path = HEADS_FILE, encoder: Encoder | None = None,
               say=print) -> Heads:
    """Choose regularisation per dimension by held-out dev file, fit on all of dev, write ``out``.

    Args:
        files: dev golden files.
        out: where the heads are written (JSON).
        encoder: the sentence encoder (the shared one by default).
        say: where progress lines go.

    Returns:
        The fitted heads, as written.
    """
    examples = _examples(files, encoder or shared_encoder())
    say(f"{len(examples)} dev cases from {len(files)} files, encoded")
    middle = {d: C_GRID[len(C_GRID) // 2] for d in DIMENSIONS}
    pushes: dict[float, float] = {}
    fitted: dict = {}
    for c in ASKS_GRID:  # the asks head first: every count of pushes, and so restraint, rests on it
        pushes[c] = cross_validate(examples, middle, c, fitted)["push_agreement"]
        say(f"asks C={c}: held-out-file push agreement {pushes[c]:.3f}")
    c_asks = max(ASKS_GRID, key=lambda c: pushes[c])
    best: dict[str, tuple[float, float]] = {}
    for c in C_GRID:
        cv = cross_validate(examples, {d: c for d in DIMENSIONS}, c_asks, fitted)
        say(f"C={c}: held-out-file QWK " + "  ".join(f"{d} {cv[d]:.3f}" for d in DIMENSIONS)
            + f"  push agreement {cv['push_agreement']:.3f}")
        for d in DIMENSIONS:
            if d not in best or cv[d] > best[d][1]:
                best[d] = (c, cv[d])
    c_dims = {d: best[d][0] for d in DIMENSIONS}
    cv = cross_validate(examples, c_dims, c_asks, fitted)
    chosen = ", ".join(f"{d} {c_dims[d]}" for d in DIMENSIONS)
    say(f"chosen C {chosen}, asks {c_asks}: held-out-file {json.dumps(cv)}")
    heads = Heads(
        encoder=ENCODER_NAME, command="roleplay fit reader --gold " + " ".join(str(p) for p in files),
        fitted_on={p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
        fitted_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cross_validation={"method": "each dev file held out in turn", "C": {**c_dims, "asks": c_asks}, **cv},
        **_fit_all(examples, c_dims, c_asks),
    )
    out.write_text(heads.model_dump_json(), encoding="utf-8")
    say(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    return heads
