"""Golden files and agreement with their labels.

Golden files follow ``docs/spec/golden-format.md`` (one JSON object per line). Agreement
is reported per dimension as quadratic weighted kappa (with a bootstrap interval), exact
agreement, agreement within one point, and the count of unscored cases. An unscored case
counts as a miss: for the kappa it is taken as the score farthest from the label.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from roleplay.errors import InvalidInput
from roleplay.judge.grading import DIMENSIONS, Grade
from roleplay.transcript import Line


class GoldenCase(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    context: list[Line] = Field(min_length=1)
    reply: str = Field(min_length=1)
    labels: dict[str, int]
    why: str = ""

    @field_validator("context")
    @classmethod
    def _ends_with_prospect(cls, v: list[Line]) -> list[Line]:
        if v[-1].speaker != "prospect":
            raise ValueError("the context must end with a prospect turn")
        return v

    @field_validator("labels")
    @classmethod
    def _three_scores(cls, v: dict[str, int]) -> dict[str, int]:
        missing = {d.value for d in DIMENSIONS} - set(v)
        if missing:
            raise ValueError(f"labels miss {', '.join(sorted(missing))}")
        if any(not 1 <= v[d.value] <= 5 for d in DIMENSIONS):
            raise ValueError("labels must be integers 1-5")
        return v


class GoldenError(InvalidInput):
    """A golden file is broken; the message names the file and line."""


def load_golden(path: Path) -> list[GoldenCase]:
    cases = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            cases.append(GoldenCase.model_validate_json(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise GoldenError(f"{path}:{n}: {field}: {first['msg']}") from None
    if not cases:
        raise GoldenError(f"{path}: no cases")
    return cases


def quadratic_weighted_kappa(labels: list[int], scores: list[int], k: int = 5) -> float:
    """Cohen's kappa with quadratic weights for ratings 1..k."""
    n = len(labels)
    if n == 0:
        return 0.0
    observed = [[0.0] * k for _ in range(k)]
    for a, b in zip(labels, scores, strict=True):
        observed[a - 1][b - 1] += 1
    hist_a = [sum(row) for row in observed]
    hist_b = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * observed[i][j]
            den += w * hist_a[i] * hist_b[j] / n
    return 1.0 if den == 0 else 1.0 - num / den


def bootstrap_interval(
    labels: list[int], scores: list[int], rounds: int = 1000, seed: int = 0,
    statistic: Callable[[list[int], list[int]], float] | None = None,
) -> tuple[float, float]:
    """A 95% bootstrap interval for ``statistic`` (QWK by default) of ``scores`` against
    ``labels``, cases resampled with replacement."""
    stat = statistic or quadratic_weighted_kappa
    rng = random.Random(seed)
    n = len(labels)
    if n < 2:
        return (0.0, 0.0)
    values = []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        values.append(stat([labels[i] for i in idx], [scores[i] for i in idx]))
    values.sort()
    return (round(values[int(0.025 * rounds)], 3), round(values[int(0.975 * rounds) - 1], 3))


def exact_share(labels: list[int], scores: list[int]) -> float:
    return sum(a == b for a, b in zip(labels, scores, strict=True)) / max(1, len(labels))


def within1_share(labels: list[int], scores: list[int]) -> float:
    return sum(abs(a - b) <= 1 for a, b in zip(labels, scores, strict=True)) / max(1, len(labels))


def share_interval(hits: list[bool]) -> tuple[float, float] | None:
    """A 95% bootstrap interval for the share of ``hits`` that are true (None under two cases)."""
    ones = [int(h) for h in hits]
    return bootstrap_interval(ones, ones, statistic=lambda a, _: sum(a) / len(a)) if len(ones) >= 2 else None


def farthest_score(label: int) -> int:
    return 5 if label <= 3 else 1


def agreement(cases: list[GoldenCase], grades: list[Grade]) -> dict[str, dict[str, float | int]]:
    """Per-dimension QWK, exact and within-one agreement (each with a 95% bootstrap interval) and
    unscored counts; an unscored case counts as the score farthest from its label."""
    out = {}
    for dim in DIMENSIONS:
        labels, scores, exact, within1, unscored = [], [], 0, 0, 0
        for case, grade in zip(cases, grades, strict=True):
            label = case.labels[dim.value]
            if not grade.scored:
                unscored += 1
                labels.append(label)
                scores.append(farthest_score(label))
                continue
            score = grade.scores[dim.value]
            labels.append(label)
            scores.append(score)
            exact += score == label
            within1 += abs(score - label) <= 1
        n = len(cases)
        out[dim.value] = {
            "qwk": round(quadratic_weighted_kappa(labels, scores), 3),
            "qwk_ci95": list(bootstrap_interval(labels, scores)),
            "exact": round(exact / n, 3),
            "exact_ci95": list(bootstrap_interval(labels, scores, statistic=exact_share)),
            "within1": round(within1 / n, 3),
            "within1_ci95": list(bootstrap_interval(labels, scores, statistic=within1_share)),
            "unscored": unscored,
        }
    return out
