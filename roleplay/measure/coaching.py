"""``roleplay eval coaching``: every note and report the app would show, run through the
coaching checks, with the defects counted by kind (the JSON contract is in ``cli.md``).

Notes come from grading golden contexts and the replies of simulated calls; reports from the
simulated calls. The fallback rate is the share of notes with a score of 3 or lower where the
line to try instead is not the model's (the library's proven line, or none).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from roleplay.call.prospect import names_itself, pasted_fact
from roleplay.judge import Grade, Grader, Report
from roleplay.judge.coaching import DEFECT_KINDS, Defect, note_defects, report_defects
from roleplay.personas import Persona
from roleplay.understanding import spoken_words

#: Examples kept per defect kind in the JSON, so a run says what went wrong, not only how often.
EXAMPLES_PER_KIND = 3


def _persona_words(persona: Persona | None) -> tuple[list[str], list[str]]:
    if persona is None:
        return [], []
    return [persona.name], [f.fact for f in persona.hidden_facts]


def _reason_kind(reason: str | None) -> str:
    """Why a model's line was not shown, without the dimension: "not proven better", a failed
    check, a model failure."""
    if not reason:
        return "none"
    if "did not score" in reason:
        return "not proven better"
    if reason.startswith("fails the "):  # as ``quality.describe`` words it
        return reason.removeprefix("fails the ").removesuffix(" checks").removesuffix(" check") + " check"
    if "model failed" in reason:
        return "model failed"
    return reason


class PlayedCall(NamedTuple):
    """A simulated call as the eval reads it back from storage."""

    replies: list[tuple[str, Grade | None]]  # each rep reply with its grade
    report: Report
    persona: Persona
    prospect: list[tuple[str, dict[str, Any]]]  # each prospect line with its turn's meta


class Tally:
    """Counts notes, reports, defects and fallbacks as they are checked."""

    def __init__(self) -> None:
        self.notes = self.reports = self.low = self.fallbacks = self.model_summaries = 0
        self.defects: list[Defect] = []
        self.reasons: Counter[str] = Counter()
        self.summary_reasons: Counter[str] = Counter()  # why the model's summary was not used
        self.voice: Counter[str] = Counter()

    def grade(self, grade: Grade, reply: str, where: str, persona: Persona | None) -> None:
        if not grade.scored:
            return
        names, facts = _persona_words(persona)
        for dim, g in grade.dimensions.items():
            self.notes += 1
            self.defects += note_defects(dim.value, g.score, g.note, g.evidence, g.try_instead, spoken_words(reply),
                                         f"{where} {dim.value}", names, facts)
            if g.score <= 3:
                self.low += 1
                if g.try_instead_source != "model":
                    self.fallbacks += 1
                    self.reasons[_reason_kind(g.fallback_reason)] += 1

    def report(self, report: Report, replies: Sequence[str], persona: Persona | None, where: str) -> None:
        self.reports += 1
        self.model_summaries += report.summary_source == "coach"
        if report.summary_source != "coach" and report.graded:
            why = report.summary_rejected or report.coach_error or "none"
            # "failed the generic check; left out your words": each reason in the same words as the notes'
            self.summary_reasons[" + ".join(_reason_kind(part.replace("failed the ", "fails the ", 1))
                                            for part in why.split("; "))] += 1
        names, facts = _persona_words(persona)
        found = report_defects(report.summary, report.follow_up, report.drill, report.door, report.door_when,
                               replies, names, facts, report.ended_by)
        for moment in (report.strongest, report.weakest):
            if moment and moment.evidence and moment.evidence not in moment.rep:
                found.append(Defect(kind="quote_not_verbatim", text=moment.evidence, where="report moment"))
        self.defects += [d.model_copy(update={"where": f"{where} {d.where}"}) for d in found]

    def prospect(self, lines: Sequence[tuple[str, dict[str, Any]]], persona: Persona) -> None:
        """How the prospect spoke: lines naming itself, facts pasted in, facts withheld."""
        facts = [f.fact for f in persona.hidden_facts]
        for text, meta in lines:
            self.voice["lines"] += 1
            self.voice["third_person"] += names_itself(text, persona.name)
            self.voice["pasted"] += pasted_fact(text, meta.get("fallback_reason"), facts)
            self.voice["withheld"] += bool(meta.get("withheld_fact"))

    def result(self, backend: str, seconds: float) -> dict[str, Any]:
        counts = Counter(d.kind for d in self.defects)
        examples = [{"kind": kind, "text": d.text, "where": d.where}
                    for kind in DEFECT_KINDS
                    for d in itertools.islice((d for d in self.defects if d.kind == kind), EXAMPLES_PER_KIND)]
        checked = self.notes + self.reports
        return {
            "n_notes": self.notes, "n_reports": self.reports, "backend": backend, "seconds": round(seconds, 1),
            "defects": {kind: counts.get(kind, 0) for kind in DEFECT_KINDS},
            "defect_rate": round(len(self.defects) / checked, 4) if checked else 0.0,
            "fallback_rate": round(self.fallbacks / self.low, 4) if self.low else 0.0,
            "fallback_reasons": dict(self.reasons.most_common()),
            "summaries_by_model": self.model_summaries,
            "summary_rejections": dict(self.summary_reasons.most_common()),
            "examples": examples,
            **({"prospect": {k: self.voice[k] for k in ("lines", "third_person", "pasted", "withheld")}}
               if self.voice else {}),
        }


def run_coaching_eval(
    grader: Grader, cases: Sequence[Any], personas: dict[str, Persona], backend: str,
    simulate_call: Callable[[int], PlayedCall] | None = None,
    calls: int = 0, progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Check the notes on golden ``cases`` and the notes and reports of ``calls`` simulated calls.

    Args:
        grader: grades each golden reply as the app would.
        cases: golden cases; ``meta.persona`` names the persona whose facts no note may paste.
        personas: the loaded personas, by id.
        backend: recorded in the result.
        simulate_call: plays simulated call number ``i``.
        calls: how many simulated calls to play.
        progress: called with (done, total) after each case and call.
    """
    started, tally = time.monotonic(), Tally()
    total = len(cases) + calls
    for i, case in enumerate(cases, start=1):
        meta = (getattr(case, "model_extra", None) or {}).get("meta") or {}
        persona = personas.get(meta.get("persona", ""))
        facts = [f.fact for f in persona.hidden_facts] if persona else []
        tally.grade(grader.grade(case.context[:], case.reply, facts=facts), case.reply, case.id, persona)
        if progress:
            progress(i, total)
    for i in range(calls):
        played = simulate_call(i)  # type: ignore[misc]
        for n, (reply, grade) in enumerate(played.replies, start=1):
            if grade is not None:
                tally.grade(grade, reply, f"call {i + 1} reply {n}", played.persona)
        tally.report(played.report, [r for r, _ in played.replies], played.persona, f"call {i + 1}")
        tally.prospect(played.prospect, played.persona)
        if progress:
            progress(len(cases) + i + 1, total)
    return tally.result(backend, time.monotonic() - started)


def coaching_table(result: dict[str, Any]) -> list[str]:
    """The result as lines for people."""
    lines = [f"{result['n_notes']} notes and {result['n_reports']} reports checked ({result['backend']}, "
             f"{result['seconds']} s)", f"{'defect':<24} count"]
    lines += [f"{kind:<24} {count}" for kind, count in result["defects"].items()]
    reasons = ", ".join(f"{k}: {v}" for k, v in result["fallback_reasons"].items())
    lines.append(f"defect rate {result['defect_rate']:.4f}, lines to try instead not the model's "
                 f"{result['fallback_rate']:.1%} ({reasons or 'none'}), "
                 f"summaries phrased by the model {result['summaries_by_model']} of {result['n_reports']}")
    if result["summary_rejections"]:
        lines.append("the model's summary not used: "
                     + ", ".join(f"{k}: {v}" for k, v in result["summary_rejections"].items()))
    if voice := result.get("prospect"):
        lines.append(f"prospect: {voice['lines']} lines, {voice['third_person']} naming itself in the third "
                     f"person, {voice['pasted']} with a hidden fact pasted in, {voice['withheld']} withholding "
                     "the fact they were to reveal")
    lines += [f"  e.g. {e['kind']} ({e['where']}): {e['text'][:140]}" for e in result["examples"]]
    return lines
