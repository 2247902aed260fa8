from roleplay.backends.fakes import fake_model_for
from roleplay.backends.tokens import PER_MESSAGE, fit, token_counter
from roleplay.transcript import Line


def words(line: str) -> int:
    return len(line.split())


def call(n: int, words_per_line: int = 10) -> list[Line]:
    return [Line(speaker="prospect" if i % 2 == 0 else "rep", text=" ".join([f"w{i}"] * words_per_line))
            for i in range(n)]


def test_a_call_within_the_budget_is_kept_whole():
    lines = call(6)
    assert fit(lines, words, budget=6 * (10 + PER_MESSAGE)) == lines


def test_older_lines_are_dropped_and_the_first_and_last_kept():
    lines = call(40)
    kept = fit(lines, words, budget=100, keep_first=1)
    assert kept[0] == lines[0] and kept[-1] == lines[-1]
    assert sum(words(ln.text) + PER_MESSAGE for ln in kept[1:]) <= 100
    assert kept[1:] == lines[len(lines) - len(kept) + 1 :]


def test_the_cut_moves_in_blocks_so_the_kept_history_stays_a_stable_prefix():
    lines = call(60)
    cuts = []
    for n in range(2, 61):
        kept = fit(lines[:n], words, budget=100, keep_first=1)
        cuts.append(lines.index(kept[1]))
    moves = sum(1 for a, b in zip(cuts, cuts[1:], strict=False) if a != b)
    assert moves <= len(lines) * 14 // 50  # about once per half budget (50 tokens = 3.5 lines), not every turn


def test_a_single_line_over_the_budget_is_still_kept():
    lines = call(3, words_per_line=500)
    assert fit(lines, words, budget=100) == lines[-1:]


def test_counts_with_the_bundled_encoding_without_downloading(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/nonexistent")  # a download attempt would fail
    count = token_counter(fake_model_for("prospect"))
    assert count("hello world") == 2
    assert count("") == 0
