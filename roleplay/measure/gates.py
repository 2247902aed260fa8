"""Gating a grading run, and comparing two runs on the same cases.

``roleplay eval grading`` exits non-zero when a gate fails, with one line per failure saying
which dimension fell and by how much:

- ``--fail-under curiosity=0.75`` holds a dimension's QWK above a floor;
- ``--max-drop 0.05`` holds every dimension within that much of the committed baseline
  (``evals/results/baseline.json``, keyed by the golden file's stem).

Two runs that graded the same cases are compared pairwise (``--against REPORT``): per dimension
the QWK of each, their difference with a 95% paired-bootstrap interval (the same resampled cases
for both runs), and the cases whose scores moved.
"""

from __future__ import annotations

import random
from typing import Any

from roleplay.errors import InvalidInput
from roleplay.judge.grading import DIMENSIONS
from roleplay.measure.golden import farthest_score, quadratic_weighted_kappa

NAMES = [d.value for d in DIMENSIONS]


class GateError(InvalidInput):
    """A gate is written wrong (``--fail-under dim=value``) or has nothing to compare with."""


def parse_fail_under(items: list[str] | None) -> dict[str, float]:
    """``["curiosity=0.75", …]`` as ``{"curiosity": 0.75}``; a clear error for anything else."""
    floors = {}
    for item in items or []:
        name, _, value = item.partition("=")
        if name not in NAMES:
            raise GateError(f"--fail-under {item}: the dimension must be one of {', '.join(NAMES)}")
        try:
            floors[name] = float(value)
        except ValueError:
            raise GateError(f"--fail-under {item}: write a QWK between -1 and 1, e.g. {name}=0.75") from None
    return floors


def gate(report: dict[str, Any], floors: dict[str, float], max_drop: float | None,
         baseline: dict[str, Any] | None) -> list[str]:
    """One line per failed gate (empty when the run passes)."""
    failures = []
    dims = report["dimensions"]
    for name, floor in floors.items():
        if dims[name]["qwk"] < floor:
            failures.append(f"{name} fell under its floor: QWK {dims[name]['qwk']:.3f} < {floor:.3f} "
                            f"(by {floor - dims[name]['qwk']:.3f}; --fail-under)")
    if max_drop is not None:
        if not baseline:
            raise GateError("--max-drop needs a baseline for this golden file (write one with --save-baseline)")
        for name in NAMES:
            before = baseline.get("dimensions", {}).get(name, {}).get("qwk")
            if before is not None and before - dims[name]["qwk"] > max_drop:
                failures.append(f"{name} dropped by {before - dims[name]['qwk']:.3f}: QWK {before:.3f} in the "
                                f"baseline, {dims[name]['qwk']:.3f} now (--max-drop {max_drop})")
    return failures


def baseline_entry(report: dict[str, Any], about: str) -> dict[str, Any]:
    """What the baseline keeps of a run: its figures, not its cases."""
    keep = ("n", "backend", "model", "prompt_hash", "dimensions", "push_agreement", "quoted")
    return {"about": about, **{k: report[k] for k in keep if k in report}}


def _scores(case: dict[str, Any], name: str) -> int:
    label = case["labels"][name]
    return case["scores"][name] if case.get("scores") else farthest_score(label)


def paired_comparison(now: dict[str, Any], before: dict[str, Any], rounds: int = 1000,
                      seed: int = 0) -> dict[str, Any]:
    """Compare two reports on the cases both graded.

    Returns:
        ``{"n": shared cases, "dimensions": {dim: {"qwk_before", "qwk_now", "diff", "diff_ci95"}},
        "moved": [{"id", "reply", "labels", "before", "now"}]}``; a difference whose interval
        holds 0 cannot be told from noise on these cases.
    """
    earlier = {c["id"]: c for c in before["cases"]}
    shared = [(earlier[c["id"]], c) for c in now["cases"] if c["id"] in earlier]
    if not shared:
        raise GateError("the two runs have no case in common: compare runs of the same golden file")
    rng = random.Random(seed)
    n = len(shared)
    samples = [[rng.randrange(n) for _ in range(n)] for _ in range(rounds)]
    dims = {}
    for name in NAMES:
        labels = [b["labels"][name] for b, _ in shared]
        a = [_scores(b, name) for b, _ in shared]
        z = [_scores(c, name) for _, c in shared]
        diffs = sorted(
            quadratic_weighted_kappa([labels[i] for i in idx], [z[i] for i in idx])
            - quadratic_weighted_kappa([labels[i] for i in idx], [a[i] for i in idx])
            for idx in samples
        )
        q_before, q_now = quadratic_weighted_kappa(labels, a), quadratic_weighted_kappa(labels, z)
        dims[name] = {"qwk_before": round(q_before, 3), "qwk_now": round(q_now, 3), "diff": round(q_now - q_before, 3),
                      "diff_ci95": [round(diffs[int(0.025 * rounds)], 3), round(diffs[int(0.975 * rounds) - 1], 3)]}
    moved = [{"id": c["id"], "reply": c.get("reply", ""), "labels": c["labels"], "before": b.get("scores"),
              "now": c.get("scores")} for b, c in shared if b.get("scores") != c.get("scores")]
    return {"n": n, "dimensions": dims, "moved": moved}


def comparison_lines(comparison: dict[str, Any]) -> list[str]:
    lines = [f"against the earlier run, on the {comparison['n']} cases both graded:"]
    for name, d in comparison["dimensions"].items():
        lo, hi = d["diff_ci95"]
        verdict = "within noise" if lo <= 0 <= hi else ("better" if lo > 0 else "worse")
        lines.append(f"  {name:<10} QWK {d['qwk_before']:.3f} -> {d['qwk_now']:.3f} ({d['diff']:+.3f}, "
                     f"95% CI [{lo:+.3f}, {hi:+.3f}]: {verdict})")
    lines.append(f"  {len(comparison['moved'])} cases changed scores")
    return lines
