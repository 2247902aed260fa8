"""Model faults in every role: one bounded retry, then a clear message; nothing said is lost.

Faults are injected with fake models that raise the real exception classes of the openai SDK
and of httpx (``FakeChatModel.fail_with``, on every call or on the first ``fail_times``).
Each test checks that the retry happened exactly once, what the rep is told, that every turn
is stored, and that the next message goes through. The last tests restart the app mid-call.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import openai
import pytest

from roleplay.backends.fakes import FakeChatModel, Responder, fake_coach, fake_grader, fake_prospect
from roleplay.backends.faults import Fault, ModelFault, RetryPolicy, classify
from roleplay.call import Gym

from .conftest import App, serve_app
from .test_app import ASK, PERSONA, call, lines, poll, send, start

try:  # the openai SDK's own HTTP library (httpx2 in recent releases, httpx before)
    import httpx2 as openai_http
except ImportError:  # pragma: no cover
    openai_http = httpx

QUESTION = "What made Fleetly the right fit for dispatch?"
PUSH = "Could we book twenty minutes on Thursday at ten?"
REQUEST = openai_http.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def rate_limited(retry_after: str = "0") -> openai.RateLimitError:
    response = openai_http.Response(429, request=REQUEST, headers={"retry-after": retry_after})
    return openai.RateLimitError("Rate limit reached for requests", response=response, body=None)


#: Each transient fault, and the words the rep reads about it.
FAULTS: dict[str, tuple[Callable[[], BaseException], str]] = {
    "openai-timeout": (lambda: openai.APITimeoutError(request=REQUEST), "timed out"),
    "httpx-timeout": (lambda: httpx.ReadTimeout("The read operation timed out"), "timed out"),
    "openai-connection": (lambda: openai.APIConnectionError(request=REQUEST), "could not be reached"),
    "connection-refused": (lambda: httpx.ConnectError("[Errno 111] Connection refused"), "could not be reached"),
    "rate-limit-429": (rate_limited, "rate-limiting requests (HTTP 429)"),
}
RESPONDERS: dict[str, Responder] = {"prospect": fake_prospect, "grader": fake_grader, "coach": fake_coach}


def faulty(role: str, exc: BaseException, times: int | None = None) -> FakeChatModel:
    """The role's fake, raising ``exc`` on every call (``times=None``) or on the first ``times``."""
    return FakeChatModel(responder=RESPONDERS[role], fail_with=exc, fail_times=times, calls=[], label=f"faulty-{role}")


def speakers(gym: Gym, session_id: str) -> list[str]:
    return [t.speaker for t in gym.store.get_session(session_id).turns]


# --- The policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name"), FAULTS)
def test_transient_faults_are_recognised(name: str) -> None:
    make, words = FAULTS[name]
    fault = classify(make())
    assert fault.transient and words in str(fault)


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (ValueError("no JSON object"), Fault.MALFORMED),
        (openai.AuthenticationError("bad key", response=openai_http.Response(401, request=REQUEST), body=None),
         Fault.REJECTED),
        (openai.InternalServerError("oops", response=openai_http.Response(503, request=REQUEST), body=None),
         Fault.SERVER),
        (RuntimeError("llama_decode returned -1"), Fault.OTHER),
    ],
)
def test_other_faults_are_sorted(exc: BaseException, fault: Fault) -> None:
    assert classify(exc) == fault


def test_the_pause_is_bounded_and_follows_retry_after() -> None:
    policy = RetryPolicy(delay_s=0.5, max_delay_s=5.0)
    assert policy.pause(TimeoutError()) == 0.5
    assert policy.pause(rate_limited("2")) == 2.0
    assert policy.pause(rate_limited("3600")) == 5.0  # bounded, whatever the server asks
    assert policy.pause(rate_limited("soon")) == 0.5
    assert policy.pause(ValueError("malformed")) == 0.0


def test_a_fault_that_would_fail_again_is_not_retried() -> None:
    attempts = []

    def boom() -> str:
        attempts.append(1)
        raise openai.AuthenticationError("Incorrect API key", response=openai_http.Response(401, request=REQUEST),
                                         body=None)

    with pytest.raises(ModelFault) as info:
        RetryPolicy(delay_s=0).call(boom)
    assert len(attempts) == 1
    assert info.value.describe("the coach's model") == (
        "the coach's model failed: the server rejected the request (HTTP 401) (AuthenticationError: Incorrect API key)"
    )


def test_a_retried_stream_starts_again_from_nothing() -> None:
    attempts = []

    def start() -> list[str]:
        attempts.append(1)
        if len(attempts) == 1:
            return _broken_stream()
        return ["Hello", " there."]

    assert list(RetryPolicy(delay_s=0).stream(start)) == ["Half", "", "Hello", "Hello there."]


def _broken_stream():
    yield "Half"
    raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


# --- The prospect ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAULTS)
def test_prospect_fault_retries_once_then_speaks_the_scripted_line(name: str, new_gym: Callable[..., Gym]) -> None:
    make, words = FAULTS[name]
    model = faulty("prospect", make())
    gym = new_gym(prospect=model)
    call_ = gym.start(PERSONA)

    result = call_.say(ASK)
    assert len(model.calls) == 2, "exactly one retry"
    assert result.fault and result.fault.startswith("the prospect's model failed: ")
    assert f"{words}, tried twice" in result.fault
    assert result.text == call_.persona.refusal_lines[0]
    record = gym.store.get_session(call_.id)
    assert [t.speaker for t in record.turns] == ["prospect", "rep", "prospect"]
    assert record.turns[1].text == ASK and record.turns[2].meta["fallback_reason"] == result.fault

    model.fail_with = None  # the model is back: the call goes on as usual
    result = call_.say(QUESTION)
    assert result.fault is None and result.text.startswith("Fair question.")
    assert len(model.calls) == 3
    assert speakers(gym, call_.id) == ["prospect", "rep", "prospect", "rep", "prospect"]
    assert all(g is not None and g.scored for g in call_.grades(wait=5).values())


@pytest.mark.parametrize("name", FAULTS)
def test_prospect_fault_once_is_healed_by_the_retry(name: str, new_gym: Callable[..., Gym]) -> None:
    make, _ = FAULTS[name]
    model = faulty("prospect", make(), times=1)
    gym = new_gym(prospect=model)
    call_ = gym.start(PERSONA)

    result = call_.say(QUESTION)
    assert len(model.calls) == 2
    assert result.fault is None and result.fallback_reason is None
    assert result.text.startswith("Fair question.")  # the model's own words
    (prospect_turn,) = [t for t in gym.store.get_session(call_.id).turns[1:] if t.speaker == "prospect"]
    assert prospect_turn.meta["retried_after"][0].startswith(type(make()).__name__)


def test_prospect_words_that_cannot_be_used_are_replaced_without_a_retry(new_gym: Callable[..., Gym]) -> None:
    """Unusable words (here: out of character) get the persona's line at once: the scripted
    line is always a valid answer, and a retry would double the rep's wait."""
    model = FakeChatModel(responder=lambda m: "As an AI language model, I cannot roleplay.", calls=[])
    gym = new_gym(prospect=model)
    result = gym.start(PERSONA).say(ASK)
    assert len(model.calls) == 1
    assert result.fault is None and result.fallback_reason == "broke character"


# --- The grader ------------------------------------------------------------------------------

GRADER_FAULTS = {**FAULTS, "malformed": (lambda: ValueError("no JSON object in the grader's answer"), "malformed")}


@pytest.mark.parametrize("name", GRADER_FAULTS)
def test_grader_fault_retries_once_then_stores_the_scores_and_the_librarys_notes(
    name: str, new_gym: Callable[..., Gym],
) -> None:
    make, words = GRADER_FAULTS[name]
    model = faulty("grader", make())
    gym = new_gym(grader=model)
    call_ = gym.start(PERSONA)
    first = call_.say(PUSH)  # a reply with something to fix: the model is asked for a line

    (grade,) = call_.grades(wait=10).values()
    assert len(model.calls) == 2, "exactly one retry"
    low = [d for d in grade.dimensions.values() if d.score <= 3]
    assert grade.scored and low and all(d.note for d in grade.dimensions.values())
    for d in low:
        assert d.fallback_reason.startswith("the grader's model failed: ") and d.try_instead_source != "model"
        assert words in d.fallback_reason and "tried twice" in d.fallback_reason
    stored = gym.store.grades_for(call_.id)[first.rep_turn_id]
    assert stored.dimensions == grade.dimensions and stored.scores == grade.scores
    assert stored.reading == grade.reading

    model.fail_with = None
    second = call_.say("And how does dispatch handle a moved pickup?")
    grades = call_.grades(wait=10)
    assert grades[second.rep_turn_id].scored
    assert speakers(gym, call_.id) == ["prospect", "rep", "prospect", "rep", "prospect"]


@pytest.mark.parametrize("name", GRADER_FAULTS)
def test_grader_fault_once_is_healed_by_the_retry(name: str, new_gym: Callable[..., Gym]) -> None:
    make, _ = GRADER_FAULTS[name]
    model = faulty("grader", make(), times=1)
    gym = new_gym(grader=model)
    call_ = gym.start(PERSONA)
    call_.say(PUSH)
    (grade,) = call_.grades(wait=10).values()
    assert grade.scored and len(model.calls) == 2


def test_a_malformed_grade_answer_is_retried_once(new_gym: Callable[..., Gym]) -> None:
    model = FakeChatModel(responder=lambda m: "I'd give it a 4.", calls=[])
    gym = new_gym(grader=model)
    call_ = gym.start(PERSONA)
    call_.say(PUSH)
    (grade,) = call_.grades(wait=10).values()
    assert len(model.calls) == 2
    low = [d for d in grade.dimensions.values() if d.score <= 3]
    assert low and all(d.fallback_reason.startswith("the grader's model failed: its answer was malformed, tried twice")
                       for d in low)
    assert grade.scored and grade.raw_output == "I'd give it a 4."


# --- The coach -------------------------------------------------------------------------------

COACH_FAULTS = {**FAULTS, "malformed": (lambda: ValueError("Expecting value: line 1 column 1"), "malformed")}


@pytest.mark.parametrize("name", COACH_FAULTS)
def test_coach_fault_retries_once_then_keeps_the_computed_report(name: str, new_gym: Callable[..., Gym]) -> None:
    make, words = COACH_FAULTS[name]
    model = faulty("coach", make())
    gym = new_gym(coach=model)
    call_ = gym.start(PERSONA)
    call_.say(QUESTION)

    report = call_.end(grade_timeout=10)
    assert len(model.calls) == 2, "exactly one retry"
    assert report.coach_error.startswith("the coach's model failed: ")
    assert f"{words}, tried twice" in report.coach_error
    assert report.summary_source == "facts" and report.summary and report.drill and report.graded == 1
    stored = gym.store.get_session(call_.id)
    assert stored.report["coach_error"] == report.coach_error
    assert [t.speaker for t in stored.turns] == ["prospect", "rep", "prospect"]


@pytest.mark.parametrize("name", COACH_FAULTS)
def test_coach_fault_once_is_healed_by_the_retry(name: str, new_gym: Callable[..., Gym]) -> None:
    make, _ = COACH_FAULTS[name]
    model = faulty("coach", make(), times=1)
    gym = new_gym(coach=model)
    call_ = gym.start(PERSONA)
    call_.say(QUESTION)
    report = call_.end(grade_timeout=10)
    assert len(model.calls) == 2
    assert report.coach_error is None and report.summary_source == "coach" and "(fake coach)" in report.summary


# --- In the app ------------------------------------------------------------------------------


def test_the_app_says_what_failed_and_the_call_goes_on(serve: Callable[..., App]) -> None:  # noqa: F811
    prospect = faulty("prospect", openai.APITimeoutError(request=REQUEST))
    grader = faulty("grader", rate_limited())
    coach = faulty("coach", openai.APIConnectionError(request=REQUEST))
    app = serve(prospect=prospect, grader=grader, coach=coach)
    persona = app.gym.personas[PERSONA]
    client = app.client()
    start(client)
    session_id = app.session_id()

    out = send(client, ASK)
    assert lines(out["chat"])[-2:] == [("user", ASK), ("assistant", persona.refusal_lines[0])]
    assert "The prospect's model failed: it timed out, tried twice" in out["status"]
    assert "line was scripted; your call goes on" in out["status"]
    assert out["msg"]["interactive"] is True
    scores = poll(lambda: send(client, "")["scores"], lambda html: "Standard line" in html)
    assert "rate-limiting requests (HTTP 429), tried twice" in scores

    prospect.fail_with = grader.fail_with = None
    out = send(client, QUESTION)
    assert "failed" not in out["status"]
    assert lines(out["chat"])[-1][1].startswith("Fair question.")
    turns = app.turns(session_id)
    assert [t.speaker for t in turns] == ["prospect", "rep", "prospect", "rep", "prospect"]

    report = call(client, "/end")["report"]["value"]
    assert "The coach's model could not phrase the summary" in report and "could not be reached, tried twice" in report
    # the grader's model is asked only for the push (twice); the question needs no line to try instead
    assert (len(prospect.calls), len(grader.calls), len(coach.calls)) == (3, 2, 2)


# --- A restart mid-call ----------------------------------------------------------------------


def test_a_restart_mid_call_loses_nothing(new_gym: Callable[..., Gym]) -> None:
    """A new process picks the call up where it stood. (A grade that a killed process cut short is
    finished by another: tests/test_processes.py kills a real app process mid-grade.)"""
    first = new_gym()
    call_ = first.start(PERSONA)
    call_.say(QUESTION)
    call_.say("How does dispatch handle a moved pickup today?")

    second = new_gym()  # a new process over the same database file
    resumed = second.call(call_.id)
    assert [ln.model_dump() for ln in resumed.lines] == [ln.model_dump() for ln in call_.lines]
    assert resumed.state == call_.state and resumed.rep_turns == call_.rep_turns
    grades = resumed.grades(wait=10)
    assert len(grades) == 2 and all(g is not None and g.scored for g in grades.values())

    result = resumed.say("What would have to change for you to look again?")
    assert not result.fault
    report = resumed.end(grade_timeout=10)
    assert report.replies == 3 and report.graded == 3
    assert len(second.store.get_session(call_.id).turns) == 7
    first.close()
    assert len(second.store.grades_for(call_.id)) == 3


def test_the_app_restarts_and_the_rep_carries_on(new_gym: Callable[..., Gym]) -> None:
    first_gym = new_gym()
    with serve_app(first_gym) as url:
        client = App(first_gym, url).client()
        start(client)
        send(client, ASK)
        (row,) = first_gym.store.list_sessions()
        session_id = row["id"]
    first_gym.close()

    second_gym = new_gym()
    with serve_app(second_gym) as url:
        app = App(second_gym, url)
        client = app.client()
        out = call(client, "/review", session_id)
        assert lines(out["chat"])[-2][1] == ASK and out["msg"]["interactive"] is True
        out = send(client, QUESTION)
        assert lines(out["chat"])[-2:][0] == ("user", QUESTION)
        assert [t.speaker for t in app.turns(session_id)] == ["prospect", "rep", "prospect", "rep", "prospect"]
        assert "Coaching report" in call(client, "/end")["report"]["value"]


@pytest.mark.parametrize(("backend", "timeout"), [("local", 600.0), ("openai", 120.0), ("fake", 120.0)])
def test_each_backend_gets_its_default_deadline_and_a_setting_wins(backend: str, timeout: float,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from roleplay.config import load_settings

    monkeypatch.delenv("ROLEPLAY_CONFIG", raising=False)
    assert load_settings(backend=backend).grader.timeout_s == timeout
    monkeypatch.setenv("ROLEPLAY_GRADER__TIMEOUT_S", "7")
    assert load_settings(backend=backend).grader.timeout_s == 7.0
