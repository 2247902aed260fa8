"""Meta-evaluation of the grader on golden files: ``roleplay eval grading``, ``signals`` and
``reading`` (the golden files and agreement figures are in ``roleplay.measure.golden``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roleplay.judge.grading import DIMENSIONS, DimensionGrade, Grade, Grader, signal_bounds, signal_scores
from roleplay.measure.golden import GoldenCase, agreement, farthest_score, quadratic_weighted_kappa, share_interval
from roleplay.understanding import Reader, Reading, unscored_reason
from roleplay.understanding.signals import analyse_reply


def quoted_share(grades: list[Grade]) -> dict[str, float]:
    """Per dimension, the share of scored grades whose evidence quotes the rep's own words."""
    scored = [g for g in grades if g.scored]
    return {dim.value: round(sum(bool(g.dimensions[dim].evidence) for g in scored) / max(1, len(scored)), 3)
            for dim in DIMENSIONS}


STRATEGIES = ("signals", "app")


def compare_strategies(cases: list[GoldenCase], grades: list[Grade]) -> dict[str, dict[str, float]]:
    """QWK per dimension of what the app shows (``app``: the reader) beside the pattern-based
    scores it used before (``signals``), on the same cases."""
    out: dict[str, dict[str, float]] = {name: {} for name in STRATEGIES}
    old = [signal_scores(analyse_reply(c.context, c.reply)) for c in cases]
    for dim in DIMENSIONS:
        labels = [c.labels[dim.value] for c in cases]
        app = [g.scores[dim.value] if g.scored else farthest_score(c.labels[dim.value])
               for c, g in zip(cases, grades, strict=True)]
        out["app"][dim.value] = round(quadratic_weighted_kappa(labels, app), 3)
        out["signals"][dim.value] = round(quadratic_weighted_kappa(labels, [o[dim] for o in old]), 3)
    return out


def push_hits(cases: list[GoldenCase], grades: list[Grade]) -> list[bool]:
    """For each case labelled with ``meta.pushes_after_refusal``: is the reader's count the label?"""
    hits = []
    for case, grade in zip(cases, grades, strict=True):
        meta = (case.model_extra or {}).get("meta") or {}
        if "pushes_after_refusal" in meta and grade.reading:
            hits.append(Reading.model_validate(grade.reading).pushes_after_refusal == meta["pushes_after_refusal"])
    return hits


def run_grading_eval(
    grader: Grader, cases: list[GoldenCase], backend: str,
    progress: Callable[[int, int], None] | None = None,
    graded: Mapping[str, Grade] | None = None,
    record: Callable[[str, Grade], None] | None = None,
    concurrency: int = 1,
) -> dict[str, Any]:
    """Grade every case and return the report described in ``docs/spec/cli.md``.

    Args:
        grader: the grader, as the app uses it.
        cases: the golden cases, in the order the report lists them.
        backend: the backend's name, for the report.
        progress: called with (cases done, cases) as each case finishes.
        graded: cases already graded by an earlier part of the same run (``Run.graded``), by id:
            they are not graded again, and the report is the one an uninterrupted run gives.
        record: called with each newly graded case as it finishes (``Run.recorder``).
        concurrency: cases graded at once (an HTTP backend serves several; the embedded model one).
    """
    started = time.monotonic()
    done: dict[str, Grade] = dict(graded or {})
    todo = [c for c in cases if c.id not in done]

    def grade(case: GoldenCase) -> None:
        result = grader.grade(case.context[:], case.reply)
        if record:
            record(case.id, result)
        done[case.id] = result
        if progress:
            progress(sum(c.id in done for c in cases), len(cases))

    if progress:
        progress(len(cases) - len(todo), len(cases))
    if concurrency > 1:
        with ThreadPoolExecutor(concurrency) as pool:
            for future in [pool.submit(grade, case) for case in todo]:
                future.result()
    else:
        for case in todo:
            grade(case)
    grades = [done[c.id] for c in cases]
    hits = push_hits(cases, grades)
    return {
        "n": len(cases),
        "strategies": compare_strategies(cases, grades),
        "backend": backend,
        "model": grades[0].model if grades else "",
        "prompt_hash": grader.prompt_hash,
        "seconds": round(time.monotonic() - started, 1),
        "resumed": len(cases) - len(todo),
        "dimensions": agreement(cases, grades),
        "push_agreement": round(sum(hits) / len(hits), 3) if hits else None,
        "push_agreement_ci95": list(ci) if (ci := share_interval(hits)) else None,
        "quoted": quoted_share(grades),
        "cases": [
            {
                "id": case.id,
                "reply": case.reply,
                "labels": {d.value: case.labels[d.value] for d in DIMENSIONS},
                "scores": grade.scores if grade.scored else None,
                "unscored_reason": grade.unscored_reason,
                "notes_unavailable": grade.notes_unavailable,
                "notes": {d.value: g.shown for d, g in grade.dimensions.items()} or None,
                "evidence": {d.value: g.evidence for d, g in grade.dimensions.items()} or None,
                "raw_output": grade.raw_output,
            }
            for case, grade in zip(cases, grades, strict=True)
        ],
    }


def save_run(report: dict[str, Any], results_dir: Path, gold: Path) -> Path:
    """Write a run under ``results_dir`` (model, prompt hash, per-case scores, raw outputs)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(gold.read_bytes()).hexdigest()[:8]
    path = results_dir / f"grading-{gold.stem}-{report['backend']}-{stamp}.json"
    path.write_text(json.dumps({**report, "gold": str(gold), "gold_sha": digest}, indent=1))
    return path


def compare(report: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Lines describing how each dimension moved against the baseline summary."""
    lines = []
    for dim, now in report["dimensions"].items():
        before = baseline.get("dimensions", {}).get(dim)
        if not before:
            continue
        delta = now["qwk"] - before["qwk"]
        lines.append(f"{dim}: qwk {now['qwk']:.3f} (baseline {before['qwk']:.3f}, {delta:+.3f})")
    return lines


def summary_table(report: dict[str, Any]) -> Iterable[str]:
    resumed = f", {report['resumed']} from before the resume" if report.get("resumed") else ""
    yield (f"{report['n']} cases{resumed}, backend {report['backend']}, model {report['model']}, "
           f"{report['seconds']} s")
    yield f"{'dimension':<11} {'QWK':>6} {'95% CI':>15} {'exact':>6} {'±1':>6} {'unscored':>8} {'quoted':>6}"
    for dim, m in report["dimensions"].items():
        quoted = report.get("quoted", {}).get(dim)
        lo, hi = m["qwk_ci95"]
        yield (f"{dim:<11} {m['qwk']:>6.3f} {f'[{lo:.3f}, {hi:.3f}]':>15} {m['exact']:>6.3f} {m['within1']:>6.3f}"
               f" {m['unscored']:>8}" + (f" {quoted:>6.3f}" if quoted is not None else ""))
    if report.get("push_agreement") is not None:
        yield f"push counting: {report['push_agreement']:.3f}{_interval(report.get('push_agreement_ci95'))}"
    yield "QWK of the app's scores (the reader) and of the pattern-based scores it replaced:"
    for name, dims in report.get("strategies", {}).items():
        yield f"  {name:<8} " + "  ".join(f"{d} {q:.3f}" for d, q in dims.items())



# --- Code signals alone (no model) ---------------------------------------------------------


def predicted_push(case: GoldenCase) -> int:
    """Code's count for ``meta.pushes_after_refusal``: which push after a refusal this reply is (0: none)."""
    sig = analyse_reply(case.context, case.reply)
    return sig.pushes_after_refusal if sig.commitment_ask and sig.refusals_before else 0


def run_signals_eval(cases: list[GoldenCase]) -> dict[str, Any]:
    """Agreement of the code signals alone with the labels, and push counting; needs no model.

    Per dimension the same figures as ``run_grading_eval`` plus ``in_bounds``, the share of
    labels inside the range code allows the model. Push counting compares with
    ``meta.pushes_after_refusal`` on the cases where a refusal came before (or a push is
    labelled); golden files without ``meta`` report no push figures.
    """
    grades, rows, in_bounds = [], [], {d.value: 0 for d in DIMENSIONS}
    push_hits: list[bool] = []
    for case in cases:
        sig = analyse_reply(case.context, case.reply)
        scores, bounds = signal_scores(sig), signal_bounds(sig)
        grades.append(Grade(scored=True, dimensions={
            d: DimensionGrade(score=scores[d], evidence=None, note="") for d in DIMENSIONS}))
        for d in DIMENSIONS:
            in_bounds[d.value] += bounds[d][0] <= case.labels[d.value] <= bounds[d][1]
        meta = (case.model_extra or {}).get("meta") or {}
        row: dict[str, Any] = {
            "id": case.id, "labels": {d.value: case.labels[d.value] for d in DIMENSIONS},
            "scores": {d.value: scores[d] for d in DIMENSIONS},
            "bounds": {d.value: list(bounds[d]) for d in DIMENSIONS},
        }
        if "pushes_after_refusal" in meta:
            row["push"] = {"label": meta["pushes_after_refusal"], "code": predicted_push(case)}
            if meta.get("refusals_before") or meta["pushes_after_refusal"]:
                push_hits.append(row["push"]["label"] == row["push"]["code"])
        rows.append(row)
    dims = agreement(cases, grades)
    for d in DIMENSIONS:
        dims[d.value]["in_bounds"] = round(in_bounds[d.value] / len(cases), 3)
    return {
        "n": len(cases), "dimensions": dims,
        "push": _push_summary(push_hits),
        "cases": rows,
    }


def _push_summary(hits: list[bool]) -> dict[str, Any]:
    """Push counting: how many cases it applies to (after a refusal), the share counted right and
    its 95% bootstrap interval."""
    if not hits:
        return {"applicable": 0, "agreement": None, "ci95": None}
    ci = share_interval(hits)
    return {"applicable": len(hits), "agreement": round(sum(hits) / len(hits), 3), "ci95": list(ci) if ci else None}


def _interval(ci: list[float] | None) -> str:
    return f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


def _push_line(push: dict[str, Any]) -> Iterable[str]:
    if push["applicable"]:
        yield (f"push counting: {push['agreement']:.3f}{_interval(push['ci95'])} agreement on {push['applicable']} "
               "cases after a refusal")


def signals_table(report: dict[str, Any]) -> Iterable[str]:
    yield f"{report['n']} cases, code signals alone (no model)"
    yield f"{'dimension':<11} {'QWK':>6} {'exact':>6} {'±1':>6} {'bounds':>7}"
    for dim, m in report["dimensions"].items():
        yield f"{dim:<11} {m['qwk']:>6.3f} {m['exact']:>6.3f} {m['within1']:>6.3f} {m['in_bounds']:>7.3f}"
    yield from _push_line(report["push"])


# --- The reader alone (the understanding layer, no language model) ---------------------------


def run_reading_eval(cases: list[GoldenCase], reader: Reader) -> dict[str, Any]:
    """Agreement of the reader's scores with the labels, as the app shows them (a reply it does not
    score counts as a miss), push counting, and the reader's agreement on English replies only."""
    grades, rows = [], []
    push_hits: list[bool] = []
    for case in cases:
        reading = reader.read(case.context, case.reply)
        reason = unscored_reason(reading)
        grades.append(Grade.unscored(reason) if reason else Grade(scored=True, dimensions={
            d: DimensionGrade(score=reading.scores[d.value], evidence=None, note="") for d in DIMENSIONS}))
        meta = (case.model_extra or {}).get("meta") or {}
        row: dict[str, Any] = {"id": case.id, "labels": {d.value: case.labels[d.value] for d in DIMENSIONS},
                               "scores": reading.scores, "language": reading.language, "unscored_reason": reason}
        if "pushes_after_refusal" in meta:
            row["push"] = {"label": meta["pushes_after_refusal"], "reader": reading.pushes_after_refusal}
            if meta.get("refusals_before") or meta["pushes_after_refusal"]:
                push_hits.append(row["push"]["label"] == row["push"]["reader"])
        rows.append(row)
    english = [i for i, r in enumerate(rows) if r["language"] == "en"]
    return {
        "n": len(cases), "heads": reader.heads.fitted_on, "dimensions": agreement(cases, grades),
        "english": {"n": len(english), "dimensions": agreement([cases[i] for i in english],
                                                              [grades[i] for i in english])},
        "push": _push_summary(push_hits),
        "cases": rows,
    }


def reading_table(report: dict[str, Any]) -> Iterable[str]:
    yield f"{report['n']} cases, the reader alone (no language model), heads fitted on {', '.join(report['heads'])}"
    yield f"{'dimension':<11} {'QWK':>6} {'95% CI':>15} {'exact':>6} {'±1':>6} {'unscored':>8}"
    for dim, m in report["dimensions"].items():
        lo, hi = m["qwk_ci95"]
        yield (f"{dim:<11} {m['qwk']:>6.3f} {f'[{lo:.3f}, {hi:.3f}]':>15} {m['exact']:>6.3f} {m['within1']:>6.3f}"
               f" {m['unscored']:>8}")
    eng = report["english"]
    yield f"English replies only ({eng['n']}): " + "  ".join(
        f"{d} {m['qwk']:.3f}" for d, m in eng["dimensions"].items())
    yield from _push_line(report["push"])
