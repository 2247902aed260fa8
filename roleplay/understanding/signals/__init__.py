"""Pattern-based signals about a conversation, computed in plain Python.

The reader (``roleplay.understanding``) takes its structure from here: the prospect's refusals,
"not now"s and requests to stop, words addressed to the grader, off-topic replies and attacks on
the persona. The rest (question kinds, asks, arguing and hostile markers) is what the app scored
with before the reader; ``judge.grading.signal_scores`` and ``roleplay eval signals`` keep it as a
comparison on every golden file, and ``tests/test_golden.py`` keeps it honest.

- ``patterns``: the English patterns, one compiled expression per marker (the lists are data, in ``patterns.txt``).
- ``analysis``: what they say about a reply in its context.
"""

from roleplay.understanding.signals.analysis import (
    GRADER_TALK_REMOVED,
    QuestionKind,
    ReplySignals,
    analyse_reply,
    asks_follow_up_permission,
    is_commitment_ask,
    is_echo,
    prospect_declines,
    prospect_ends_contact,
    question_kinds,
    sentences,
    without_grader_talk,
)

__all__ = [
    "GRADER_TALK_REMOVED", "QuestionKind", "ReplySignals", "analyse_reply", "asks_follow_up_permission",
    "is_commitment_ask", "is_echo", "prospect_declines", "prospect_ends_contact", "question_kinds", "sentences",
    "without_grader_talk",
]
