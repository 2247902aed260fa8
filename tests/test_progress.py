"""Progress over time, the weakest dimension, what to practise next, the team table, and delivery
over voice calls.

Hand-built score rows; an unscored reply or one not graded yet must never count as a score.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roleplay import content
from roleplay.personas import Difficulty, Persona, load_personas
from roleplay.storage import Delivery, ScoreRow
from roleplay.team.delivery import MemberDelivery, team_delivery, voice_calls
from roleplay.team.progress import PLOT_COLUMNS, RECENT_SESSIONS, rep_progress, suggest_persona, team_table, weakest

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PUBLISHED = load_personas(content.PERSONAS_DIR)
#: happy_incumbent, price_shock, wrong_moment are normal; battle_of_wills, no_cold_calls are hard.
EASY = PUBLISHED["wrong_moment"].model_copy(update={"id": "easy_one", "name": "Eddie Easy",
                                                     "difficulty": Difficulty.EASY})

Scores = tuple[int, int, int] | str | None


def rows_of(session: int, *replies: Scores, persona: str = "happy_incumbent", owner: str | None = "ana",
            ) -> list[ScoreRow]:
    """The rows of session number ``session`` (hours after T0): a tuple is scored, a string the
    reason it is unscored, ``None`` not graded yet."""
    started = T0 + timedelta(hours=session)
    out = []
    for n, reply in enumerate(replies, start=1):
        scored = isinstance(reply, tuple)
        cur, com, res = reply if scored else (None, None, None)
        out.append(ScoreRow(
            owner=owner, session_id=f"{owner}-s{session}", session_started=started, persona_id=persona,
            persona_version="v1", turn_id=session * 100 + n, turn=n, replied_at=started + timedelta(minutes=n),
            scored=True if scored else (None if reply is None else False), curiosity=cur, composure=com,
            restraint=res, unscored_reason=reply if isinstance(reply, str) else None,
        ))
    return out


def personas(*ids: str) -> dict[str, Persona]:
    return {i: EASY if i == "easy_one" else PUBLISHED[i] for i in ids}


# --- Per session -------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "expected"), [
    pytest.param([], [], id="no data"),
    pytest.param(rows_of(1, (4, 5, 3), (2, 5, 1)),
                 [(1, 2, 0, 0, (3.0, 5.0, 2.0))], id="means of the scored replies"),
    pytest.param(rows_of(1, (4, 4, 4), "the grader's model failed", None),
                 [(1, 1, 1, 1, (4.0, 4.0, 4.0))], id="unscored and pending are not scores (never a 3)"),
    pytest.param(rows_of(1, "timed out", "timed out"),
                 [(1, 0, 2, 0, (None, None, None))], id="nothing scored: no mean"),
    pytest.param(rows_of(1, (1, 2, 2), (2, 2, 2), (2, 2, 2)),
                 [(1, 3, 0, 0, (1.67, 2.0, 2.0))], id="two decimals"),
    pytest.param([*rows_of(3, (5, 5, 5)), *rows_of(1, (1, 1, 1)), *rows_of(2, None)],
                 [(1, 1, 0, 0, (1.0, 1.0, 1.0)), (2, 0, 0, 1, (None, None, None)), (3, 1, 0, 0, (5.0, 5.0, 5.0))],
                 id="sessions in time order, whatever the order of the rows"),
])
def test_each_session_has_the_means_of_its_scored_replies(rows: list[ScoreRow], expected: list[tuple]) -> None:
    progress = rep_progress(rows, PUBLISHED)
    assert [(s.number, s.scored, s.unscored, s.pending, tuple(s.means.values())) for s in progress.sessions] == expected
    assert [s.started for s in progress.sessions] == sorted(s.started for s in progress.sessions)
    assert all(s.replies == s.scored + s.unscored + s.pending for s in progress.sessions)


def test_progress_is_per_rep() -> None:
    with pytest.raises(ValueError, match="2 owners"):
        rep_progress([*rows_of(1, (3, 3, 3)), *rows_of(1, (3, 3, 3), owner="ben")], PUBLISHED)


# --- The weakest dimension lately -----------------------------------------------------------------

@pytest.mark.parametrize(("rows", "expected"), [
    pytest.param([], (None, None), id="no data"),
    pytest.param(rows_of(1, "timed out", None), (None, None), id="only unscored and pending"),
    pytest.param(rows_of(1, (4, 2, 5), (4, 3, 5), "timed out"), ("composure", 2.5), id="lowest mean"),
    pytest.param(rows_of(1, (3, 3, 4)), ("curiosity", 3.0), id="tie: rubric order, curiosity first"),
    pytest.param(rows_of(1, (4, 3, 3)), ("composure", 3.0), id="tie: rubric order, composure before restraint"),
    # With session 1 counted, restraint would be lowest (3.5 against 3.75).
    pytest.param([*rows_of(1, (5, 5, 1), (5, 5, 1), (5, 5, 1)),
                  *(r for s in range(2, 7) for r in rows_of(s, (3, 4, 5)))],
                 ("curiosity", 3.0), id="only the latest five sessions count"),
    # Without session 1, restraint would be lowest (3.0).
    pytest.param([*rows_of(1, (1, 5, 5), (1, 5, 5)), *(r for s in range(2, 6) for r in rows_of(s, (4, 5, 3))),
                  *rows_of(6, "timed out"), *rows_of(7, None)],
                 ("curiosity", 3.0), id="sessions without scores do not use up the five"),
    pytest.param([*rows_of(1, (2, 4, 4), (2, 4, 4), (2, 4, 4)), *rows_of(2, (5, 4, 1))],
                 ("curiosity", 11 / 4), id="replies pooled: each reply counts once"),
])
def test_the_weakest_dimension_is_the_lowest_mean_lately(rows: list[ScoreRow], expected: tuple) -> None:
    dim, mean = weakest(rows)
    assert dim == expected[0]
    assert (mean is None) if expected[1] is None else (mean == pytest.approx(expected[1]))
    progress = rep_progress(rows, PUBLISHED)
    assert progress.weakest_dimension == expected[0]
    assert progress.weakest_mean == (None if expected[1] is None else round(expected[1], 2))


def test_the_window_is_recent_sessions() -> None:
    assert RECENT_SESSIONS == 5


# --- What to practise next ----------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "published", "expected", "words"), [
    pytest.param([], personas("battle_of_wills", "happy_incumbent"), "happy_incumbent", "easiest",
                 id="no data: the easiest"),
    pytest.param([], personas("battle_of_wills", "happy_incumbent", "easy_one"), "easy_one", "easiest",
                 id="no data: easy before normal"),
    pytest.param(rows_of(1, "timed out"), personas("happy_incumbent", "price_shock"), "price_shock", "easiest",
                 id="no scores yet: among the easiest, one never called"),
    pytest.param(rows_of(1, (4, 4, 2)), personas("battle_of_wills", "happy_incumbent", "price_shock"), "price_shock",
                 "no scores with Tomás Ferreira yet", id="one without scores, the easiest of them"),
    pytest.param([*rows_of(1, (4, 4, 2)), *rows_of(2, "timed out", persona="price_shock")],
                 personas("happy_incumbent", "price_shock"), "price_shock", "restraint",
                 id="called but never scored counts as not tried"),
    pytest.param([*rows_of(1, (4, 4, 3)), *rows_of(2, (4, 4, 1), persona="price_shock")],
                 personas("happy_incumbent", "price_shock"), "price_shock", "lowest with Tomás Ferreira (1.0 of 5)",
                 id="all tried: where the weakest dimension scored lowest"),
    pytest.param([*rows_of(1, (4, 4, 2)), *rows_of(2, (4, 4, 2), persona="battle_of_wills"),
                  *rows_of(3, (4, 4, 2), persona="price_shock")],
                 personas("battle_of_wills", "happy_incumbent", "price_shock"), "happy_incumbent", "(2.0 of 5)",
                 id="tie: the easier, then by id"),
    pytest.param([*rows_of(1, (1, 5, 5), persona="retired_persona"), *rows_of(2, (4, 4, 4))],
                 personas("happy_incumbent"), "happy_incumbent", "curiosity",
                 id="personas no longer published are ignored"),
])
def test_the_suggestion_practises_where_it_hurts(rows: list[ScoreRow], published: dict[str, Persona], expected: str,
                                                 words: str) -> None:
    suggestion = rep_progress(rows, published).suggestion
    assert suggestion is not None and suggestion.persona_id == expected
    assert words in suggestion.reason and published[expected].name in suggestion.reason
    assert suggestion.reason.endswith(".") and "\n" not in suggestion.reason


def test_no_persona_no_suggestion() -> None:
    assert suggest_persona(rows_of(1, (3, 3, 3)), {}, "curiosity") is None
    assert rep_progress([], {}).suggestion is None


# --- Plot data ---------------------------------------------------------------------------------

def test_plot_data_is_long_form_and_skips_sessions_without_scores() -> None:
    rows = [*rows_of(1, (4, 5, 3)), *rows_of(2, "timed out"), *rows_of(3, (2, 3, 4), (4, 3, 4))]
    frame = rep_progress(rows, PUBLISHED).plot_frame()
    assert tuple(frame.columns) == PLOT_COLUMNS
    assert frame.to_dict("records") == [
        {"started": T0 + timedelta(hours=1), "session": 1, "dimension": "curiosity", "score": 4.0},
        {"started": T0 + timedelta(hours=1), "session": 1, "dimension": "composure", "score": 5.0},
        {"started": T0 + timedelta(hours=1), "session": 1, "dimension": "restraint", "score": 3.0},
        {"started": T0 + timedelta(hours=3), "session": 3, "dimension": "curiosity", "score": 3.0},
        {"started": T0 + timedelta(hours=3), "session": 3, "dimension": "composure", "score": 3.0},
        {"started": T0 + timedelta(hours=3), "session": 3, "dimension": "restraint", "score": 4.0},
    ]
    empty = rep_progress([], PUBLISHED).plot_frame()
    assert empty.empty and tuple(empty.columns) == PLOT_COLUMNS


# --- The team table ----------------------------------------------------------------------------

TEAM_ROWS = [
    *rows_of(1, (4, 5, 3), (3, 4, 4), "timed out"),
    *rows_of(2, (3, 4, 4), None),
    *rows_of(1, "timed out", owner="ben"),
    *rows_of(3, (3, 3, 4), owner="cy"),
    *rows_of(1, (1, 1, 1), owner="dan"),  # not in the team
    *rows_of(1, (1, 1, 1), owner=None),  # single-user mode
]


@pytest.mark.parametrize(("members", "expected"), [
    pytest.param(["ana"], [("ana", 2, 5, 3, 1, 3.3, 4.3, 3.7, "curiosity", T0 + timedelta(hours=2, minutes=2))],
                 id="rounded means of scored replies only"),
    pytest.param(["ben"], [("ben", 1, 1, 0, 1, None, None, None, None, T0 + timedelta(hours=1, minutes=1))],
                 id="only unscored: no means, never a 3"),
    pytest.param(["cy", "eve"], [("cy", 1, 1, 1, 0, 3.0, 3.0, 4.0, "curiosity", T0 + timedelta(hours=3, minutes=1)),
                                 ("eve", 0, 0, 0, 0, None, None, None, None, None)],
                 id="a member with no session yet, in the members' order; tie in rubric order"),
    pytest.param(["eve", "eve"], [("eve", 0, 0, 0, 0, None, None, None, None, None)], id="each member once"),
    pytest.param([], [], id="no members"),
])
def test_the_team_table_has_one_row_per_member(members: list[str], expected: list[tuple]) -> None:
    table = team_table(TEAM_ROWS, members)
    assert [(r.member, r.sessions, r.replies, r.graded, r.unscored, r.curiosity, r.composure, r.restraint,
             r.weakest_dimension, r.last_practice) for r in table] == expected


def test_the_team_table_over_no_data() -> None:
    (row,) = team_table([], ["ana"])
    assert (row.sessions, row.graded, row.curiosity, row.weakest_dimension, row.last_practice) == (0, 0, None, None,
                                                                                                    None)


# --- Delivery over calls --------------------------------------------------------------------------

def figures(words: int, speaking_s: float, fillers: int = 0, talk_over_s: float = 0.0) -> dict:
    """A spoken reply's stored delivery (``ReplyDelivery`` as JSON) with these figures."""
    return {"words": words, "speaking_s": speaking_s, "pace_wpm": round(words / speaking_s * 60, 1),
            "fillers": [{"word": "um", "at": float(i)} for i in range(fillers)], "talk_over_s": talk_over_s,
            "summary": f"{words} words"}


def spoken(*replies: tuple[int, dict, float]) -> dict[int, Delivery]:
    """Deliveries by turn id: (turn id, figures, seconds of the prospect's answer)."""
    return {turn: Delivery(turn_id=turn, figures=said, prospect_s=answer) for turn, said, answer in replies}


#: ana's calls: 1 typed; 2 with two spoken replies (one talking over); 3 with one; 4 a retake whose
#: first reply is the original's (its delivery copied, not in the rows, so not counted twice).
VOICE_ROWS = [*rows_of(1, (3, 3, 3)), *rows_of(2, (4, 4, 4), (4, 4, 4)), *rows_of(3, (4, 4, 4)),
              *rows_of(4, (4, 4, 4))[1:]]
VOICE_KEPT = spoken((201, figures(30, 12.0, fillers=2), 8.0), (202, figures(20, 8.0, talk_over_s=0.5), 12.0),
                    (301, figures(45, 15.0, fillers=1), 5.0), (401, figures(45, 15.0, fillers=1), 5.0))


def test_delivery_per_voice_call_from_known_figures() -> None:
    calls = voice_calls(VOICE_ROWS, VOICE_KEPT)
    assert [(c.number, c.session_id) for c in calls] == [(2, "ana-s2"), (3, "ana-s3")]  # numbered as the scores
    second, third = (c.facts for c in calls)
    assert (second.spoken, second.pace_wpm, second.fillers_per_min, second.rep_share, second.longest_monologue_s,
            second.talk_overs) == (2, 150.0, 6.0, 0.5, 12.0, 1)
    assert (third.spoken, third.pace_wpm, third.fillers_per_min, third.rep_share, third.longest_monologue_s,
            third.talk_overs) == (1, 180.0, 4.0, 0.75, 15.0, 0)
    assert voice_calls(rows_of(1, (3, 3, 3)), VOICE_KEPT) == []  # typed only: no voice call


def test_a_team_members_delivery_pools_their_latest_voice_calls() -> None:
    rows = [*VOICE_ROWS, *rows_of(1, (3, 3, 3), owner="ben")]
    team = team_delivery(rows, VOICE_KEPT, ["ana", "ben"])
    assert team["ben"] == MemberDelivery(voice_calls=0)
    ana = team["ana"]
    # 95 words in 35 s; 3 fillers; 35 s of 60 s of talking; the longest reply 15 s
    assert (ana.voice_calls, ana.pace_wpm, ana.fillers_per_min, ana.rep_share, ana.longest_monologue_s) == (
        2, 162.9, 5.14, 0.583, 15.0)
    assert team_delivery(rows, VOICE_KEPT, ["ana"], recent=1)["ana"].pace_wpm == 180.0  # the latest call alone
