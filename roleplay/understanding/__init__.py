"""Understanding: what a rep reply means, read once and shared by the prospect and the grader.

``Reader.read(context, reply)`` returns a ``Reading``: typed items (the kind of question,
whether and how hard it asks for a commitment, tone, servility, pressure, acceptance of the
no, an exit with a time, words to the grader, the language), each with a probability, and the
anchor each rubric dimension matches. Meaning comes from a sentence encoder and heads fitted
on the dev splits (``roleplay fit reader``); structure (refusals, push counts, question
marks, days and times) from code.
"""

from roleplay.understanding.heads import Heads, load_heads
from roleplay.understanding.reader import Reader
from roleplay.understanding.reading import DIMENSIONS, Reading, Structure, spoken_words

#: Languages the heads were fitted and measured on; a reply in another is not scored.
GRADED_LANGUAGES = frozenset({"en"})


def unscored_reason(reading: Reading) -> str | None:
    """Why a reading's scores must not be shown as a grade, or None when they may."""
    if reading.language not in GRADED_LANGUAGES:
        return (f"The reply is in another language ({reading.language}); the grader is fitted and measured on "
                "English replies only, so it is not scored.")
    return None


__all__ = ["DIMENSIONS", "GRADED_LANGUAGES", "Heads", "Reader", "Reading", "Structure", "load_heads",
           "spoken_words", "unscored_reason"]
