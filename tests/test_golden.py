"""The golden set itself, and the grader's deterministic signals measured against it.

These run on every CI run: they need no model. The model's own agreement is measured by
``roleplay eval grading`` (a live subset runs in ``test_local_model.py``).
"""

from collections import Counter

import pytest

from roleplay.judge.grading import DIMENSIONS, signal_bounds
from roleplay.measure.golden import GoldenCase, load_golden
from roleplay.understanding.signals import analyse_reply

from .conftest import PROJECT_ROOT

GOLDEN = PROJECT_ROOT / "evals" / "golden"
SPLITS = {name: load_golden(GOLDEN / f"{name}.jsonl") for name in ("dev", "test")}
BALANCED = [case for cases in SPLITS.values() for case in cases]
#: dev2.jsonl broadens dev with other phrasings (split "dev"); its labels are skewed like real
#: calls, so the level shares are checked on dev + test and dev2 only needs every level present.
DEV2 = load_golden(GOLDEN / "dev2.jsonl")
#: dev3.jsonl: 140 more dev cases in plain words the markers did not know (indirect asks, visits,
#: calendar holds, refusals such as "Leave it", sarcasm and pleading without stock phrases).
DEV3 = load_golden(GOLDEN / "dev3.jsonl")
#: dev5.jsonl: 80 multi-turn dev calls written for counting (deferrals, asks without question marks).
DEV5 = load_golden(GOLDEN / "dev5.jsonl")
ALL = BALANCED + DEV2 + DEV3 + DEV5


def meta(case: GoldenCase) -> dict:
    return case.model_extra.get("meta", {})


def test_the_set_is_large_unique_and_split():
    assert len(ALL) >= 300
    assert len({c.id for c in ALL}) == len(ALL)
    assert all(meta(c).get("split") == name for name, cases in SPLITS.items() for c in cases)
    assert all(meta(c).get("split") == "dev" for c in DEV2 + DEV3 + DEV5)
    smoke = load_golden(GOLDEN / "smoke.jsonl")
    dev_ids = {c.id for c in SPLITS["dev"]}
    assert 8 <= len(smoke) <= 12 and all(c.id in dev_ids for c in smoke)


@pytest.mark.parametrize("dim", [d.value for d in DIMENSIONS])
def test_every_level_of_every_dimension_is_represented(dim):
    levels = Counter(c.labels[dim] for c in BALANCED)
    n = len(BALANCED)
    assert (levels[1] + levels[2]) / n >= 0.15, levels
    assert levels[3] / n >= 0.15, levels
    assert (levels[4] + levels[5]) / n >= 0.15, levels


@pytest.mark.parametrize("dim", [d.value for d in DIMENSIONS])
def test_dev2_has_every_level(dim):
    levels = Counter(c.labels[dim] for c in DEV2 + DEV3 + DEV5)
    assert all(levels[level] >= 3 for level in range(1, 6)), levels


def test_the_unseen_split_is_kept_apart():
    """unseen.jsonl measures generalisation: its own split, no id shared with the others."""
    unseen = load_golden(GOLDEN / "unseen.jsonl")
    assert len(unseen) >= 100 and all(meta(c).get("split") == "unseen" for c in unseen)
    assert not {c.id for c in unseen} & {c.id for c in ALL}
    for dim in DIMENSIONS:
        levels = Counter(c.labels[dim.value] for c in unseen)
        assert min(levels[1] + levels[2], levels[3], levels[4] + levels[5]) >= 15, (dim, levels)


def test_the_fresh_split_is_kept_apart_and_balanced():
    """fresh.jsonl, written by hands that saw no code, is never fitted on: its own split, no id
    shared with any other file, and every level of every dimension at least 15% of it."""
    fresh = load_golden(GOLDEN / "fresh.jsonl")
    assert len(fresh) >= 150 and all(meta(c).get("split") == "fresh" for c in fresh)
    others = {c.id for path in GOLDEN.glob("*.jsonl") if path.name != "fresh.jsonl" for c in load_golden(path)}
    assert not {c.id for c in fresh} & others
    for dim in DIMENSIONS:
        levels = Counter(c.labels[dim.value] for c in fresh)
        assert min(levels[k] for k in range(1, 6)) >= 0.15 * len(fresh), (dim, levels)


def test_the_hard_cases_are_there():
    tags = Counter(t for c in ALL for t in meta(c).get("tags", []))
    for tag in ("caves", "disguised_pitch", "filler", "long", "injection", "third_push_nice"):
        assert tags[tag] >= 3, f"only {tags[tag]} cases tagged {tag}"


def predicted_push(case: GoldenCase) -> int:
    sig = analyse_reply(case.context, case.reply)
    return sig.pushes_after_refusal if sig.commitment_ask and sig.refusals_before else 0


def test_push_counting_agrees_with_the_labels():
    """Is this reply the first, second, third push after a refusal? Code must know (≥ 90%)."""
    applicable = [c for c in ALL if meta(c).get("refusals_before") or meta(c).get("pushes_after_refusal")]
    assert len(applicable) >= 60
    misses = [(c.id, meta(c)["pushes_after_refusal"], predicted_push(c)) for c in applicable
              if predicted_push(c) != meta(c)["pushes_after_refusal"]]
    agreement = 1 - len(misses) / len(applicable)
    assert agreement >= 0.90, f"{agreement:.1%} agreement; misses (id, label, code): {misses[:15]}"


def within_bounds(case: GoldenCase, dim) -> bool:
    lo, hi = signal_bounds(analyse_reply(case.context, case.reply))[dim]
    return lo <= case.labels[dim.value] <= hi


@pytest.mark.parametrize("dim", DIMENSIONS, ids=lambda d: d.value)
def test_signal_bounds_contain_the_human_label(dim):
    """The bounds code puts around the model's score must almost never exclude the right one."""
    outside = [c.id for c in ALL if not within_bounds(c, dim)]
    assert len(outside) / len(ALL) <= 0.10, f"{len(outside)} labels outside the bounds: {outside[:20]}"
