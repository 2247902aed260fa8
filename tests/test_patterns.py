"""The reader of ``patterns.txt``: fragments spliced in by name, and every mistake named by file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import roleplay.understanding.signals.patterns as rx

FRAGMENTS = {"NUMBER": r"(?:\d+|two)", "WHEN": r"(?:monday|tomorrow)"}


def lists_from(tmp_path: Path, text: str) -> rx._PatternLists:
    path = tmp_path / "patterns.txt"
    path.write_text(text, encoding="utf-8")
    return rx._PatternLists(path, FRAGMENTS)


def test_fragments_are_spliced_in_and_quantifiers_left_alone(tmp_path: Path) -> None:
    lists = lists_from(tmp_path, "# a comment\n\n#: Asks for minutes.\n[ASK]\n"
                                 r"\b{NUMBER} min(?:ute)?s?\b" "\n"
                                 r"  \b(?:\w+ ){0,4}?{WHEN}\b[^.?!]{0,30}\?  " "\n")
    ask = lists.take("ASK")
    assert ask.pattern == r"(?:\b(?:\d+|two) min(?:ute)?s?\b)|(?:\b(?:\w+ ){0,4}?(?:monday|tomorrow)\b[^.?!]{0,30}\?)"
    assert ask.flags & re.IGNORECASE
    assert ask.search("Could we do it on Monday?") and ask.search("Two minutes.")
    lists.check_all_taken()


@pytest.mark.parametrize(("text", "line", "says"), [
    ("[ASK]\n\\bdemo\\b\n# fine so far\n(?:unclosed\n", 4, "does not compile"),
    ("[ASK]\n\\b{WHEN}\\b\n\\b{ASK_OBJECT}\\b\n", 3, "unknown fragment {ASK_OBJECT}"),
    ("[ASK]\ndemo\n\n[OTHER]\ncall\n[ASK]\nchat\n", 6, "[ASK] is defined twice (first at line 1)"),
    ("demo\n[ASK]\ncall\n", 1, "a pattern before the first [NAME] header"),
    ("[ASK]\n# nothing under it\n[OTHER]\ncall\n", 1, "[ASK] has no patterns"),
])
def test_a_mistake_in_the_file_is_named_by_file_and_line(tmp_path: Path, text: str, line: int, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'patterns.txt'}:{line}: ") + ".*" + re.escape(says)):
        lists_from(tmp_path, text)


def test_a_list_the_code_never_reads_is_named_by_file_and_line(tmp_path: Path) -> None:
    lists = lists_from(tmp_path, "[ASK]\ndemo\n\n[ASKK]\ncall\n")
    lists.take("ASK")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'patterns.txt'}:4: [ASKK] is a list the code never")):
        lists.check_all_taken()
    with pytest.raises(ValueError, match=re.escape("no [MISSING] list")):
        lists.take("MISSING")


def test_the_shipped_file_gives_every_list_its_patterns() -> None:
    lists = rx._PatternLists(Path(rx.__file__).with_name("patterns.txt"), {
        name: value for name, value in vars(rx).items() if name.isupper() and isinstance(value, str)})
    assert lists.take("HOSTILE") == rx.HOSTILE
    assert rx.COMMITMENT.search("Could we book a quick demo on Friday?")
    assert rx.SHOUT.flags & re.IGNORECASE == 0  # compiled in the code, case-sensitively
