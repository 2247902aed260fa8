"""Grading runs a CI pipeline can gate on: kept case by case and resumed, gated against a floor
and the baseline, compared case by case with an earlier run, and written as an HTML page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roleplay.cli import main
from roleplay.judge import Grader

from .conftest import PROJECT_ROOT
from .test_browser import CHROMEDRIVER, CHROMIUM, driver  # noqa: F401 (the browser fixture)

GOLD = PROJECT_ROOT / "evals" / "golden" / "dev.jsonl"
LIMIT = "12"
TIMING = ("seconds", "run", "resumed")


def grading(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict | None, str]:
    """Run ``roleplay eval grading`` on the fake backend; its exit code, JSON report and stderr."""
    code = main(["eval", "grading", "--gold", str(GOLD), "--limit", LIMIT, "--backend", "fake", "--json",
                 "--no-save", "--results-dir", str(tmp_path / "results"),
                 "--baseline", str(tmp_path / "baseline.json"), *extra])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def without_timing(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in TIMING}


def test_a_run_killed_half_way_and_resumed_gives_the_uninterrupted_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, whole, _ = grading(tmp_path / "whole", capsys)
    assert code == 0 and whole["n"] == 12 and whole["resumed"] == 0

    real_grade, calls = Grader.grade, []

    def dies_after_five(self, context, reply):
        if len(calls) == 5:
            raise KeyboardInterrupt  # the process is stopped half-way
        calls.append(reply)
        return real_grade(self, context, reply)

    monkeypatch.setattr(Grader, "grade", dies_after_five)
    with pytest.raises(KeyboardInterrupt):
        grading(tmp_path / "split", capsys)
    runs = list((tmp_path / "split" / "results" / "runs").iterdir())
    assert len(runs) == 1
    assert len((runs[0] / "cases.jsonl").read_text().splitlines()) == 5, "each case is kept as it is graded"

    monkeypatch.setattr(Grader, "grade", real_grade)
    code, resumed, err = grading(tmp_path / "split", capsys, "--resume", runs[0].name)
    assert code == 0 and "5 of 12 cases graded before" in err
    assert resumed["resumed"] == 5
    assert without_timing(resumed) == without_timing(whole)


def test_a_line_cut_short_by_a_crash_is_graded_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, whole, _ = grading(tmp_path, capsys)
    [run] = list((tmp_path / "results" / "runs").iterdir())
    lines = (run / "cases.jsonl").read_text().splitlines()
    (run / "cases.jsonl").write_text("\n".join(lines[:7]) + "\n" + lines[7][:40])  # the crash hit mid-line
    code, resumed, _ = grading(tmp_path, capsys, "--resume", run.name)
    assert code == 0 and resumed["resumed"] == 7
    assert without_timing(resumed) == without_timing(whole)


def test_a_run_is_resumed_only_on_the_file_and_backend_it_graded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    grading(tmp_path, capsys)
    [run] = list((tmp_path / "results" / "runs").iterdir())
    code = main(["eval", "grading", "--gold", str(PROJECT_ROOT / "evals" / "golden" / "dev2.jsonl"), "--backend",
                 "fake", "--results-dir", str(tmp_path / "results"), "--resume", run.name])
    assert code == 2 and "resume it with that file unchanged" in capsys.readouterr().err


def test_max_drop_fails_a_run_made_worse_on_purpose_and_passes_it_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = grading(tmp_path, capsys, "--save-baseline")
    assert code == 0 and "baseline for dev written" in err

    code, _, err = grading(tmp_path, capsys, "--max-drop", "0.05")
    assert code == 0 and "FAILED" not in err

    real_grade = Grader.grade

    def worse(self, context, reply):  # every restraint score turned upside down
        grade = real_grade(self, context, reply)
        for dim, dg in grade.dimensions.items():
            if dim.value == "restraint":
                grade.dimensions[dim] = dg.model_copy(update={"score": 6 - dg.score})
        return grade

    monkeypatch.setattr(Grader, "grade", worse)
    code, report, err = grading(tmp_path, capsys, "--max-drop", "0.05")
    assert code == 1
    assert "FAILED: restraint dropped by" in err and "curiosity" not in err.split("FAILED")[1]
    assert report["dimensions"]["restraint"]["qwk"] < 0


def test_fail_under_names_the_dimension_and_refuses_a_malformed_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, report, err = grading(tmp_path, capsys, "--fail-under", "composure=1.01", "--fail-under", "curiosity=-1")
    assert code == 1 and "FAILED: composure fell under its floor" in err and "curiosity fell" not in err
    code, _, err = grading(tmp_path, capsys, "--fail-under", "kindness=0.5")
    assert code == 2 and "must be one of curiosity, composure, restraint" in err
    code, _, err = grading(tmp_path, capsys, "--max-drop", "0.05")
    assert code == 2 and "needs a baseline" in err


def test_concurrency_is_refused_on_the_embedded_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", "grading", "--gold", str(GOLD), "--backend", "local", "--concurrency", "4",
                 "--results-dir", str(tmp_path)])
    assert code == 2 and "one request at a time" in capsys.readouterr().err


def test_concurrent_grading_gives_the_same_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, one, _ = grading(tmp_path / "a", capsys)
    _, four, _ = grading(tmp_path / "b", capsys, "--concurrency", "4")
    assert without_timing(four) == without_timing(one)


def test_two_runs_are_compared_case_by_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, before, _ = grading(tmp_path, capsys)
    earlier = tmp_path / "before.json"
    earlier.write_text(json.dumps(before))
    _, same, err = grading(tmp_path, capsys, "--against", str(earlier))
    assert same["comparison"]["moved"] == [] and "within noise" in err

    real_grade = Grader.grade

    def one_worse(self, context, reply):
        grade = real_grade(self, context, reply)
        if reply == before["cases"][0]["reply"]:
            for dim, dg in grade.dimensions.items():
                grade.dimensions[dim] = dg.model_copy(update={"score": 6 - dg.score})
        return grade

    monkeypatch.setattr(Grader, "grade", one_worse)
    _, after, _ = grading(tmp_path, capsys, "--against", str(earlier))
    [moved] = after["comparison"]["moved"]
    assert moved["id"] == before["cases"][0]["id"] and moved["reply"] == before["cases"][0]["reply"]
    lo, hi = after["comparison"]["dimensions"]["curiosity"]["diff_ci95"]
    assert lo <= after["comparison"]["dimensions"]["curiosity"]["diff"] <= hi


def test_every_agreement_figure_has_an_interval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, report, _ = grading(tmp_path, capsys)
    for figures in report["dimensions"].values():
        for name in ("qwk", "exact", "within1"):
            lo, hi = figures[f"{name}_ci95"]
            assert lo <= figures[name] <= hi
    lo, hi = report["push_agreement_ci95"]
    assert lo <= report["push_agreement"] <= hi


@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs Debian's Chromium")
def test_the_html_report_opens_in_chromium_with_every_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], driver,  # noqa: F811 (the fixture imported above)
) -> None:
    from selenium.webdriver.common.by import By

    _, before, _ = grading(tmp_path, capsys)
    earlier = tmp_path / "before.json"
    earlier.write_text(json.dumps(before))
    page = tmp_path / "run.html"
    code, report, err = grading(tmp_path, capsys, "--against", str(earlier), "--html", str(page))
    assert code == 0 and f"page written to {page}" in err
    assert "<script" not in page.read_text() and "<link" not in page.read_text(), "the page stands alone"

    driver.get(page.as_uri())
    tables = {t.get_attribute("id") for t in driver.find_elements(By.TAG_NAME, "table")}
    assert tables == {"summary", "push", "confusion-curiosity", "confusion-composure", "confusion-restraint",
                      "comparison", "moved", "cases"}
    summary = driver.find_element(By.ID, "summary").text
    assert f"{report['dimensions']['restraint']['qwk']:.3f}" in summary
    matrix = driver.find_element(By.ID, "confusion-curiosity")
    cells = [int(td.text) for td in matrix.find_elements(By.TAG_NAME, "td") if td.text]
    assert sum(cells) == report["n"], "every case is in the confusion matrix once"
    assert len(driver.find_element(By.ID, "cases").find_elements(By.TAG_NAME, "tr")) == report["n"] + 1
