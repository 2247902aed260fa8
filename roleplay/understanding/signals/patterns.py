"""The signals' English patterns, one compiled expression per marker.

The lists of patterns are data: ``patterns.txt`` beside this module holds every marker's regular
expressions, one a line under its ``[NAME]`` header, with the comments that say what each marks, so
they can be read, reviewed and edited on their own (the file's head says how it is written). This
module keeps the code: :func:`any_of`, the fragments the file splices in by name (``{ASK_OBJECT}``),
the few expressions compiled otherwise (``SHOUT`` is case-sensitive; ``SENTENCE`` and ``LEAD_IN_RX``
are applied on their own), the hesitation words, and the reader that loads the file and binds each
list to its name here: ``HOSTILE`` is ``[HOSTILE]``, compiled with :func:`any_of`. A list defined
twice or not bound here, an unknown fragment or a pattern that does not compile fails the import
with the file and line at fault. ``roleplay.understanding.signals.analysis`` applies them.
"""

from __future__ import annotations

import re
from pathlib import Path as _Path  # private: the module's public names are its patterns


def any_of(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


SENTENCE = re.compile(r"[^.!?]+[.!?]*")
#: Words a spoken question may open with before its question word ("Um, so, you know, what…").
LEAD_IN = (
    r"^\W*(?:(?:and|so|but|just|okay|ok|um+|uh+|er|erm|mhm|like|basically|"
    r"you know|i mean|kind of|sort of|out of curiosity|if you don't mind me asking)\W+)*"
)
#: The start of a sentence, after any hesitation ("Um, so, honestly, …").
#: Hesitations and openers a sentence may start with before it says anything ("Um, so, well, …").
FILLER_WORDS = r"(?:(?:um+|uh+|er|erm|so|well|and|but|okay|ok|oh)\W+)*"
SENTENCE_START = r"(?:^|[.!?]\s+)" + FILLER_WORDS
LEAD_IN_RX = re.compile(LEAD_IN + FILLER_WORDS, re.IGNORECASE)
#: Hesitations and discourse fillers: they make a reply no longer ("Um, so, well, …, so, yeah.").
HESITATION = {"um", "umm", "uh", "uhh", "er", "erm", "hmm", "mhm", "so", "well", "yeah", "okay", "ok"}
#: A day with a clock time ("Friday at two", "tomorrow at nine").
DAY_AT_TIME = (
    r"\b(?:monday|tuesday|wednesday|thursday|friday|tomorrow)\b[^.?!]{0,30}"
    r"\bat (?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon)\b"
)
NUMBER = r"(?:\d+|one|two|three|four|five|ten|fifteen|twenty|thirty|forty(?:[- ]five)?|sixty)"
ASK_OBJECT = (
    r"(?:meeting|demo|call|chat|conversation|catch[- ]up|coffee|lunch|slot|appointment|trial|pilot|"
    r"walkthrough|walk-through|presentation|intro|introduction|session|time on (?:your|the) calendar|"
    r"side[- ]by[- ]side|"
    rf"\d+\s*(?:min(?:ute)?s?|-minute)|{NUMBER}[- ]minute|few minutes|minutes)"
)
#: Things a rep may ask for in a question or offer ("a quick look", "a fifteen-minute Zoom", "a free two-week trial").
OFFER_OBJECT = (
    r"(?:call|chat|meeting|demo|trial|pilot|intro|introduction|zoom|teams call|video|coffee|walkthrough|"
    r"walk-through|conversation|session|catch[- ]up|slot|presentation|(?:quick|short|brief|closer|proper) look|"
    r"webinar|workshop|seat|visit|audit|assessment|health check|proposal)"
)
WHEN = r"(?:monday|tuesday|wednesday|thursday|friday|tomorrow|(?:this|next) (?:week|month|quarter))"
#: Shouting: words in capitals ("It's a MONITORING SYSTEM"), matched case-sensitively.
SHOUT = re.compile(r"\b[A-Z]{3,}\b[^.?!]*\b[A-Z]{3,}\b|\b[A-Z]{6,}\b")

_HEADER = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")
_FRAGMENT = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")  # a quantifier ({0,4}) has no letters


class _PatternLists:
    """The lists of a patterns file (``patterns.txt`` says how it is written), each compiled with
    :func:`any_of` and taken once by its name; every error names the file and line at fault."""

    def __init__(self, path: _Path, fragments: dict[str, str]) -> None:
        self.path = path
        self._lists: dict[str, tuple[int, list[str]]] = {}  # name -> (its header's line, its patterns)
        self._taken: set[str] = set()
        name = ""
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if header := _HEADER.fullmatch(line):
                name = header[1]
                if name in self._lists:
                    raise self._error(number, f"[{name}] is defined twice (first at line {self._lists[name][0]})")
                self._lists[name] = (number, [])
            elif not name:
                raise self._error(number, "a pattern before the first [NAME] header")
            else:
                self._lists[name][1].append(self._pattern(number, line, fragments))
        for name, (number, patterns) in self._lists.items():
            if not patterns:
                raise self._error(number, f"[{name}] has no patterns")

    def _pattern(self, number: int, line: str, fragments: dict[str, str]) -> str:
        if unknown := sorted(set(_FRAGMENT.findall(line)) - fragments.keys()):
            known = ", ".join(sorted(fragments))
            raise self._error(number, f"unknown fragment {{{unknown[0]}}} (the fragments are {known})")
        pattern = _FRAGMENT.sub(lambda m: fragments[m[1]], line)
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as e:
            raise self._error(number, f"the pattern does not compile ({e}): {line}") from None
        return pattern

    def _error(self, number: int, message: str) -> ValueError:
        return ValueError(f"{self.path}:{number}: {message}")

    def take(self, name: str) -> re.Pattern[str]:
        if name in self._taken:
            raise ValueError(f"{self.path}: [{name}] is taken twice")
        if name not in self._lists:
            raise ValueError(f"{self.path}: no [{name}] list")
        self._taken.add(name)
        number, patterns = self._lists[name]
        try:
            return any_of(*patterns)
        except re.error as e:  # each compiles alone, so something across them (a group name used twice)
            raise self._error(number, f"[{name}] does not compile as one list ({e})") from None

    def check_all_taken(self) -> None:
        for name, (number, _) in self._lists.items():
            if name not in self._taken:
                raise self._error(number, f"[{name}] is a list the code never reads (misspelt name?)")


_lists = _PatternLists(
    _Path(__file__).with_name("patterns.txt"),
    dict(LEAD_IN=LEAD_IN, FILLER_WORDS=FILLER_WORDS, SENTENCE_START=SENTENCE_START, DAY_AT_TIME=DAY_AT_TIME,
         NUMBER=NUMBER, ASK_OBJECT=ASK_OBJECT, OFFER_OBJECT=OFFER_OBJECT, WHEN=WHEN),
)
# Each list of patterns.txt, bound to its name in the file's order (the file says what each marks).
OPEN_START = _lists.take("OPEN_START")
OFFER_QUESTION = _lists.take("OFFER_QUESTION")
PERMISSION_WHY = _lists.take("PERMISSION_WHY")
ASK_AS_STATEMENT = _lists.take("ASK_AS_STATEMENT")
PERMISSION_TO_ASK = _lists.take("PERMISSION_TO_ASK")
CLOSED_START = _lists.take("CLOSED_START")
DISGUISED = _lists.take("DISGUISED")
COMMITMENT = _lists.take("COMMITMENT")
FOLLOW_UP_PERMISSION = _lists.take("FOLLOW_UP_PERMISSION")
CONTACT_LOGISTICS = _lists.take("CONTACT_LOGISTICS")
TIME_ONLY = _lists.take("TIME_ONLY")
ACCEPT_NO = _lists.take("ACCEPT_NO")
ACKNOWLEDGE = _lists.take("ACKNOWLEDGE")
CONDESCEND = _lists.take("CONDESCEND")
ARGUE = _lists.take("ARGUE")
HOSTILE = _lists.take("HOSTILE")
WELL = _lists.take("WELL")
CAVES = _lists.take("CAVES")
URGENCY = _lists.take("URGENCY")
JAB = _lists.take("JAB")
BUSY_NOW = _lists.take("BUSY_NOW")
SERVILE = _lists.take("SERVILE")
APOLOGY = _lists.take("APOLOGY")
INJECTION = _lists.take("INJECTION")
PITCH = _lists.take("PITCH")
FILLER = _lists.take("FILLER")
ATTACK = _lists.take("ATTACK")
OFF_TOPIC = _lists.take("OFF_TOPIC")
PRESSURE = _lists.take("PRESSURE")
ONE_UP = _lists.take("ONE_UP")
REFUSAL = _lists.take("REFUSAL")
NOT_NOW = _lists.take("NOT_NOW")
STOP_CONTACT = _lists.take("STOP_CONTACT")
STOP_HARD = _lists.take("STOP_HARD")
PINS_TIME = _lists.take("PINS_TIME")
RUSHES = _lists.take("RUSHES")
TIME_SHORT = _lists.take("TIME_SHORT")
OBJECTION = _lists.take("OBJECTION")
_lists.check_all_taken()
del _lists
