"""Coaching: what a note and a report say, decided in code from the reading and a library
enablement can edit; a model only fills narrow slots, and every slot is checked.

- ``library``: the coaching library (``prompts/coaching.yaml``), validated like personas.
- ``notes``: a grade's notes, its evidence and the proven "try instead" line.
- ``quality``: the defect checks run on every note and report (``roleplay eval coaching``).
"""

from roleplay.judge.coaching.library import CoachingLibrary, Entry, LibraryError, load_library
from roleplay.judge.coaching.quality import DEFECT_KINDS, Defect, note_defects, report_defects

__all__ = [
    "DEFECT_KINDS", "CoachingLibrary", "Defect", "Entry", "LibraryError", "load_library", "note_defects",
    "report_defects",
]
