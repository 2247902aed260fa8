"""A grading run as one self-contained HTML page: ``roleplay eval grading … --html FILE``.

The page needs nothing but itself (no script, no font, no stylesheet from elsewhere): the
agreement per dimension with its intervals, push counting, a confusion matrix per dimension
(the label down, the score across), the comparison with an earlier run and the cases that moved
when one is given, and every case with its reply, labels, scores and notes.
"""

from __future__ import annotations

from html import escape
from typing import Any

from roleplay.measure.gates import NAMES

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1d2733; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #d5dbe3; padding: .3rem .6rem; text-align: right; vertical-align: top; }
th { background: #f2f5f8; } td.text { text-align: left; max-width: 40rem; }
.matrices { display: flex; gap: 2rem; flex-wrap: wrap; } .diag { background: #dff3e4; font-weight: 600; }
.muted { color: #5b6776; } .worse { color: #a4262c; } .better { color: #1e7a34; }
"""


def _ci(ci: list[float] | None) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "–"


def _summary(report: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{m['qwk']:.3f}</td><td>{_ci(m.get('qwk_ci95'))}</td>"
        f"<td>{m['exact']:.3f} {_ci(m.get('exact_ci95'))}</td><td>{m['within1']:.3f} {_ci(m.get('within1_ci95'))}</td>"
        f"<td>{m['unscored']}</td></tr>"
        for name, m in report["dimensions"].items()
    )
    push = ""
    if report.get("push_agreement") is not None:
        push = (f'<table id="push"><tr><th>push counting</th><td>{report["push_agreement"]:.3f}</td>'
                f'<td>{_ci(report.get("push_agreement_ci95"))}</td></tr></table>')
    return ('<table id="summary"><tr><th>dimension</th><th>QWK</th><th>95% CI</th><th>exact (95% CI)</th>'
            f"<th>within one (95% CI)</th><th>unscored</th></tr>{rows}</table>{push}")


def _confusion(report: dict[str, Any], name: str) -> str:
    counts = {(label, score): 0 for label in range(1, 6) for score in [*range(1, 6), None]}
    for case in report["cases"]:
        score = case["scores"][name] if case.get("scores") else None
        counts[(case["labels"][name], score)] += 1
    head = "".join(f"<th>{s}</th>" for s in range(1, 6)) + "<th>unscored</th>"
    body = "".join(
        f"<tr><th>{label}</th>" + "".join(
            f'<td class="{"diag" if score == label else ""}">{counts[(label, score)] or ""}</td>'
            for score in [*range(1, 6), None]) + "</tr>"
        for label in range(1, 6)
    )
    return (f'<div><h3>{escape(name)}</h3><table id="confusion-{escape(name)}">'
            f'<tr><th class="muted">label \\ score</th>{head}</tr>{body}</table></div>')


def _scores(scores: dict[str, int] | None) -> str:
    return " / ".join(str(scores[n]) for n in NAMES) if scores else "unscored"


def _comparison(comparison: dict[str, Any]) -> str:
    rows = ""
    for name, d in comparison["dimensions"].items():
        lo, hi = d["diff_ci95"]
        verdict, cls = ("within noise", "muted") if lo <= 0 <= hi else (("better", "better") if lo > 0 else
                                                                      ("worse", "worse"))
        rows += (f"<tr><th>{escape(name)}</th><td>{d['qwk_before']:.3f}</td><td>{d['qwk_now']:.3f}</td>"
                 f'<td class="{cls}">{d["diff"]:+.3f}</td><td>[{lo:+.3f}, {hi:+.3f}]</td>'
                 f'<td class="{cls}">{verdict}</td></tr>')
    moved = "".join(
        f'<tr><td class="text">{escape(m["id"])}</td><td class="text">{escape(m["reply"])}</td>'
        f"<td>{_scores(m['labels'])}</td><td>{_scores(m['before'])}</td><td>{_scores(m['now'])}</td></tr>"
        for m in comparison["moved"]
    )
    return (f"<h2>Against the earlier run ({comparison['n']} cases both graded)</h2>"
            '<table id="comparison"><tr><th>dimension</th><th>QWK before</th><th>QWK now</th><th>difference</th>'
            f"<th>paired 95% CI</th><th></th></tr>{rows}</table>"
            f"<h2>Cases that moved ({len(comparison['moved'])})</h2>"
            '<table id="moved"><tr><th>case</th><th>reply</th><th>labels</th><th>before</th><th>now</th></tr>'
            f"{moved}</table>")


def _cases(report: dict[str, Any]) -> str:
    rows = ""
    for case in report["cases"]:
        notes = case.get("notes") or {}
        note_text = "<br>".join(f"<b>{escape(n)}</b>: {escape(t or '')}" for n, t in notes.items())
        rows += (f'<tr><td class="text">{escape(case["id"])}</td><td class="text">{escape(case.get("reply", ""))}</td>'
                 f"<td>{_scores(case['labels'])}</td><td>{_scores(case.get('scores'))}</td>"
                 f'<td class="text">{note_text or escape(case.get("unscored_reason") or "")}</td></tr>')
    return ('<table id="cases"><tr><th>case</th><th>reply</th><th>labels</th><th>scores</th><th>notes</th></tr>'
            f"{rows}</table>")


def render_html(report: dict[str, Any], gold: str, comparison: dict[str, Any] | None = None) -> str:
    """The page for ``report`` (``run_grading_eval``'s), optionally compared with an earlier run."""
    order = " / ".join(NAMES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Grading run: {escape(gold)}</title>
<style>{_STYLE}</style></head><body>
<h1>Grading run: {escape(gold)}</h1>
<p class="muted">{report['n']} cases · backend {escape(report['backend'])} · model {escape(report['model'])} ·
prompt {escape(report.get('prompt_hash', ''))} · {report['seconds']} s. Scores are {order}; an unscored case
counts as the score farthest from its label.</p>
<h2>Agreement with the labels</h2>{_summary(report)}
<h2>Confusion matrices</h2><div class="matrices">{"".join(_confusion(report, n) for n in NAMES)}</div>
{_comparison(comparison) if comparison else ""}
<h2>Every case</h2>{_cases(report)}
</body></html>
"""
