"""Judging a call: a grade for every rep reply and a report at the end.

- ``grading``: ``Grader`` turns the reader's scores into a ``Grade`` with notes, evidence and
  a proven line to try instead (the only thing a model writes there).
- ``coach``: ``Coach`` builds the end-of-call ``Report`` from facts; a model may say its
  summary's first sentence, kept only if it passes the coaching checks.
- ``coaching``: the coaching library, the notes, the defect checks, the dated follow-up.
"""

from roleplay.judge.coach import DOOR_WORDS, Coach, DeliveryFacts, Moment, Report, RepTurn, summarise
from roleplay.judge.grading import DIMENSIONS, Dimension, DimensionGrade, Grade, Grader

__all__ = [
    "DIMENSIONS", "DOOR_WORDS", "Coach", "DeliveryFacts", "Dimension", "DimensionGrade", "Grade", "Grader",
    "Moment", "RepTurn", "Report", "summarise",
]
