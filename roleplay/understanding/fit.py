"""Fit the reader's heads on the dev splits: ``roleplay fit reader``.

Only golden files whose every case is marked ``meta.split == "dev"`` are accepted, so a test,
holdout, unseen or fresh split can never be fitted on by mistake. Before the final fit, each
dev file is held out in turn (the others fit) and agreement on it is reported: files were
written at different times in different words, so this is the honest in-dev estimate. The
regularisation strength is chosen on the same held-out files. Needs scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from roleplay.evaluation import GoldenCase, load_golden, quadratic_weighted_kappa
from roleplay.understanding.encoder import ENCODER_NAME, Encoder, shared_encoder
from roleplay.understanding.heads import HEADS_FILE, Head, Heads, head_from_sklearn
from roleplay.understanding.reading import (
    ASK_THRESHOLD,
    DIMENSIONS,
    Structure,
    ask_features,
    count_pushes_before,
    dimension_features,
    dimension_levels,
    push_number,
    reading_text,
    structure_of,
)

log = logging.getLogger(__name__)
SERVILE_TAGS = {"servile", "grovel", "caves"}
C_GRID = (0.002, 0.005, 0.01, 0.02, 0.05)


class NotDevError(ValueError):
    """A golden file offered for fitting holds cases that are not dev cases."""


@dataclass
class Example:
    case: GoldenCase
    file: str
    vec: np.ndarray
    ask_x: np.ndarray
    context_ask_x: list[np.ndarray]
    structure: Structure

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
            ctx = [ask_features(encoder.embed(reading_text(t)), t) for t in reps]
            out.append(Example(case, path.name, vec, ask_features(vec, spoken), ctx, s))
    return out


def _fit_lr(X: np.ndarray, y: np.ndarray, C: float, balanced: bool = False) -> Head:
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(0), X.std(0) + 1e-6
    clf = LogisticRegression(C=C, max_iter=4000, class_weight="balanced" if balanced else None)
    clf.fit((X - mean) / scale, y)
    return head_from_sklearn(clf, mean, scale)


def _fit_all(train: list[Example], c_dims: dict[str, float]) -> dict[str, Head]:
    asked = [e for e in train if e.meta.get("refusals_before", 0) > 0 and "pushes_after_refusal" in e.meta]
    asks = _fit_lr(np.array([e.ask_x for e in asked]),
                   np.array([int(e.meta["pushes_after_refusal"] > 0) for e in asked]), C=0.5, balanced=True)
    servile = _fit_lr(np.array([e.vec for e in train]),
                      np.array([int(bool(SERVILE_TAGS & set(e.meta.get("tags", [])))) for e in train]),
                      C=0.1, balanced=True)
    X = np.array([_dim_x(e, asks, servile) for e in train])
    heads = {"asks": asks, "servile": servile}
    for d in DIMENSIONS:
        heads[d] = _fit_lr(X, np.array([e.case.labels[d] for e in train]), C=c_dims[d])
    return heads


def _reading_parts(e: Example, asks: Head) -> tuple[float, int]:
    p_ctx = [float(asks.proba(x)[1]) for x in e.context_ask_x]
    return float(asks.proba(e.ask_x)[1]), count_pushes_before(e.case.context, p_ctx)


def _dim_x(e: Example, asks: Head, servile: Head) -> np.ndarray:
    p_ask, before = _reading_parts(e, asks)
    return dimension_features(e.vec, e.structure, p_ask, before, float(servile.proba(e.vec)[1]))


def _predict(e: Example, heads: dict[str, Head]) -> tuple[dict[str, int], int]:
    """The scores and push count the reader would give ``e`` with ``heads`` (as ``Reader.read``)."""
    x = _dim_x(e, heads["asks"], heads["servile"])
    p_ask, before = _reading_parts(e, heads["asks"])
    asks = round(p_ask, 4) >= ASK_THRESHOLD
    pushes = push_number(asks, e.structure.refusals_before, before)
    levels = dimension_levels(heads, x, pushes, e.structure.stop_hard, asks)
    return {d: lv.score for d, lv in levels.items()}, pushes


def cross_validate(examples: list[Example], c_dims: dict[str, float]) -> dict[str, object]:
    """Hold out each dev file in turn; pooled QWK per dimension and push agreement."""
    files = sorted({e.file for e in examples})
    labels = {d: [] for d in DIMENSIONS}
    preds = {d: [] for d in DIMENSIONS}
    pushes_right = pushes_n = 0
    for held in files:
        heads = _fit_all([e for e in examples if e.file != held], c_dims)
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
    best: dict[str, tuple[float, float]] = {}
    for c in C_GRID:
        cv = cross_validate(examples, {d: c for d in DIMENSIONS})
        say(f"C={c}: held-out-file QWK " + "  ".join(f"{d} {cv[d]:.3f}" for d in DIMENSIONS)
            + f"  push agreement {cv['push_agreement']:.3f}")
        for d in DIMENSIONS:
            if d not in best or cv[d] > best[d][1]:
                best[d] = (c, cv[d])
    c_dims = {d: best[d][0] for d in DIMENSIONS}
    cv = cross_validate(examples, c_dims)
    say("chosen C " + ", ".join(f"{d} {c_dims[d]}" for d in DIMENSIONS) + f": held-out-file {json.dumps(cv)}")
    heads = Heads(
        encoder=ENCODER_NAME, command="roleplay fit reader --gold " + " ".join(str(p) for p in files),
        fitted_on={p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
        fitted_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cross_validation={"method": "each dev file held out in turn", "C": c_dims, **cv},
        **_fit_all(examples, c_dims),
    )
    out.write_text(heads.model_dump_json(), encoding="utf-8")
    say(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    return heads
