"""A practice call: the rep speaks, the prospect answers, the grader scores in the background.

``Gym`` is the app-level service (personas, models, storage, a small worker pool); ``Call``
is one conversation. Every turn is written to the database before anything else happens with
it, so a crash or a model failure never loses what was said.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import SystemMessage

from roleplay import prompts
from roleplay.accounts import Accounts
from roleplay.coach import Coach, Report, RepTurn
from roleplay.config import Role, Settings
from roleplay.faults import ModelFault, RetryPolicy
from roleplay.grading import Grade, Grader
from roleplay.models import create_chat_model, model_label
from roleplay.personas import Persona, load_personas, persona_version
from roleplay.prospect import Move, Prospect, ProspectState, advance, initial_state, note_prospect_line, withhold
from roleplay.storage import Store, create_store
from roleplay.transcript import Line
from roleplay.understanding import Reading

log = logging.getLogger(__name__)


class InputError(ValueError):
    """The rep's message cannot be accepted; the message says why."""


class CallEnded(RuntimeError):
    """The call is over; start a new one."""


#: The unscored reason of every reply in a call started with ``grade=False``.
GRADING_SKIPPED = "grading skipped for this call"


#: Characters that reorder how the text around them is displayed ("Trojan source" tricks).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_message(text: str | None, limit: int) -> str:
    """Normalise and validate a rep message; raise ``InputError`` if it can't be sent.

    Control characters (other than newlines and tabs), lone surrogates, byte-order marks and
    bidirectional overrides are removed; everything else (emoji with their joiners, any
    script, non-breaking and ideographic spaces) is kept exactly as typed. The message must
    have something visible in it and be at most ``limit`` characters long.
    """
    kept = []
    for ch in (text or "").replace("\r\n", "\n").replace("\r", "\n"):
        category = unicodedata.category(ch)
        if ch in "\n\t":
            kept.append(ch)
        elif category in ("Zl", "Zp"):
            kept.append("\n")
        elif category not in ("Cc", "Cs") and ch not in _BIDI_CONTROLS and ch != "\ufeff":
            kept.append(ch)
    cleaned = "".join(kept).strip()
    if all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in cleaned):
        raise InputError("Say something first: the message is empty.")
    if len(cleaned) > limit:
        raise InputError(f"That message is {len(cleaned):,} characters; the limit is {limit:,}. "
                         "On a call, say it in a few sentences.")
    return cleaned


@dataclass
class TurnResult:
    """What the prospect said, and how."""

    rep_turn_id: int
    prospect_turn_id: int
    text: str
    move: Move
    fallback_reason: str | None
    ended: bool
    #: Set when the prospect's model failed (after its one retry), for the rep to read.
    fault: str | None = None
    #: The hidden fact this turn was to reveal and did not say (it stays hidden).
    withheld_fact: str | None = None


@dataclass
class Call:
    """One conversation between a rep and a prospect."""

    gym: Gym
    id: str
    persona: Persona
    state: ProspectState
    lines: list[Line]
    rep_turns: list[tuple[int, str]] = field(default_factory=list)
    pending: dict[int, Future[Grade]] = field(default_factory=dict)
    #: Scores known before the notes are written, by rep turn id.
    partial: dict[int, Grade] = field(default_factory=dict)
    ended_by: str | None = None
    report: Report | None = None
    #: The result of the last turn sent in this process (``None`` after a restart).
    last_turn: TurnResult | None = None
    #: ``False``: replies are not graded (scripted trials); each gets an unscored grade saying so.
    grading: bool = True
    #: The username of the rep whose call this is (``None`` in single-user mode).
    owner: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def over(self) -> bool:
        return self.ended_by is not None

    def check_message(self, text: str | None) -> str:
        """Normalise and validate a rep message (see ``clean_message``)."""
        return clean_message(text, self.gym.settings.max_message_chars)

    def send(self, text: str) -> Iterator[str]:
        """Send the rep's message; yield the prospect's reply as it grows.

        The last value yielded is the final text (it can differ from the streamed one when the
        model's words were unusable and the persona's line was used instead). A model that
        times out, cannot be reached or is rate-limited gets one retry (the streamed text
        starts again); if that fails too, the persona's line is used and ``last_turn.fault``
        says what happened. The result of the turn is in ``last_turn`` afterwards. Grading
        starts once the reply is complete.
        """
        if self.over:
            raise CallEnded("This call has ended. Start a new one.")
        text = self.check_message(text)
        with self.lock:
            self.last_turn = None
            store = self.gym.store
            context = list(self.lines)
            rep_turn_id = store.add_turn(self.id, "rep", text)
            reading = self.gym.grader.reader.read(context, text)  # read once: the prospect and the grader
            decision = advance(self.state, self.persona, reading)
            history = [*context, Line(speaker="rep", text=text)]
            prospect = self.gym.prospect(self.persona)
            raw, error, retried = "", None, []
            try:
                with self.gym.gate.speaking():
                    for raw in self.gym.retry.stream(lambda: prospect.stream(history, decision, self.state),
                                                     what=f"call {self.id}: prospect", on_retry=retried.append):
                        yield raw
            except ModelFault as fault:
                error = fault.describe("the prospect's model")
            except Exception as exc:  # noqa: BLE001 - the call must go on whatever the model does
                error = ModelFault(exc, 1).describe("the prospect's model")
            if error:
                log.warning("call %s: %s", self.id, error)
            voiced = prospect.finish("" if error else raw, decision)
            reason = error or voiced.fallback_reason
            if voiced.withheld_fact:
                withhold(self.state, voiced.withheld_fact)
            note_prospect_line(self.state, voiced.text)
            ended = decision.move == Move.HANG_UP
            meta: dict[str, object] = {"fallback_reason": reason, "raw": raw} if reason else {}
            if voiced.withheld_fact:
                meta["withheld_fact"] = voiced.withheld_fact
            if retried:
                meta["retried_after"] = [f"{type(exc).__name__}: {str(exc)[:160]}" for exc in retried]
            prospect_turn_id = store.add_turn(
                self.id, "prospect", voiced.text, move=decision.move.value, state=self.state.snapshot(),
                meta=meta or None,
            )
            self.lines = [*history, Line(speaker="prospect", text=voiced.text)]
            self.rep_turns.append((rep_turn_id, text))
            self.pending[rep_turn_id] = (self.gym.pool.submit(self._grade, context, text, rep_turn_id, reading)
                                         if self.grading else self._skip_grade(rep_turn_id))
            self.last_turn = TurnResult(rep_turn_id, prospect_turn_id, voiced.text, decision.move, reason, ended,
                                        fault=error, withheld_fact=voiced.withheld_fact)
            if ended:
                self._end("prospect")
            yield voiced.text

    def say(self, text: str) -> TurnResult:
        """Send a message and wait for the whole reply (for scripts and the API)."""
        for _ in self.send(text):
            pass
        return self.last_turn

    def _grade(self, context: list[Line], reply: str, rep_turn_id: int, reading: Reading | None = None) -> Grade:
        self.gym.gate.wait_quiet()

        def early(partial: Grade) -> None:
            self.partial[rep_turn_id] = partial

        grade = self.gym.grader.grade(context, reply, on_scores=early, reading=reading,
                                      facts=[f.fact for f in self.persona.hidden_facts])
        self.gym.store.add_grade(self.id, rep_turn_id, grade)
        if not self.over and self.rep_turns[-1][0] == rep_turn_id:
            self._prepare_next_turn()
        return grade

    def _skip_grade(self, rep_turn_id: int) -> Future[Grade]:
        """Store and return (as a finished future) the unscored grade of a reply not graded."""
        grade = Grade.unscored(GRADING_SKIPPED)
        self.gym.store.add_grade(self.id, rep_turn_id, grade)
        done: Future[Grade] = Future()
        done.set_result(grade)
        return done

    def _prepare_next_turn(self) -> None:
        """While the rep reads and thinks, process what the next turn's prompts start with.

        Gives way as soon as any prospect starts speaking; only an optimisation, so a failure
        is logged and forgotten.
        """
        lines = self.lines
        try:
            self.gym.prospect(self.persona).prepare(lines, should_stop=lambda: self.gym.gate.busy)
            self.gym.grader.prepare(lines, should_stop=lambda: self.gym.gate.busy)
        except Exception as exc:  # noqa: BLE001
            log.warning("call %s: preparing the next turn failed: %s", self.id, exc)

    def grades(self, wait: float | None = 0) -> dict[int, Grade | None]:
        """Grades by rep turn id: final, partial (scores only) while the notes are being
        written, or ``None`` while nothing is known yet. ``wait`` seconds for each pending one
        (``None``: until done)."""
        out: dict[int, Grade | None] = {}
        stored: dict[int, Grade] | None = None
        for turn_id, _ in self.rep_turns:
            future = self.pending.get(turn_id)
            if future is None:
                stored = self.gym.store.grades_for(self.id) if stored is None else stored
                out[turn_id] = stored.get(turn_id)
                continue
            try:
                out[turn_id] = future.result(timeout=wait) if wait != 0 else (
                    future.result() if future.done() else self.partial.get(turn_id))
            except TimeoutError:
                out[turn_id] = self.partial.get(turn_id)
            except Exception as exc:  # noqa: BLE001 - shown as unscored, never lost
                out[turn_id] = Grade.unscored(f"grading crashed ({exc.__class__.__name__}: {exc})")
        return out

    def _end(self, ended_by: str) -> None:
        self.ended_by = ended_by
        self.gym.store.end_session(self.id, ended_by, self.state.snapshot())

    def end(self, grade_timeout: float | None = None, on_facts: Callable[[Report], None] | None = None) -> Report:
        """End the call (if the prospect has not) and write the coach's report.

        ``on_facts`` gets the report built from facts before the coach's model phrases its
        summary (not called when the report was written already).
        """
        with self.lock:
            if not self.over:
                self._end("rep")
            if self.report is not None:
                return self.report
            grades = self.grades(wait=grade_timeout)
            rep_turns: list[RepTurn] = [
                (i + 1, text, grades.get(turn_id)) for i, (turn_id, text) in enumerate(self.rep_turns)
            ]
            door = self.state.door.value
            self.report = self.gym.coach.report(
                self.persona, self.lines, rep_turns, door,
                self.persona.not_now.when if door in ("not_now", "open") else None, self.ended_by or "rep",
                on_facts=on_facts,
            )
            self.gym.store.save_report(self.id, self.report.model_dump(mode="json"))
            return self.report


class PriorityGate:
    """Lets background work (grading) wait while any prospect is speaking.

    On two cores a grade computed at the same time as a prospect's reply halves the speed of
    both; the rep is waiting for the prospect, so the prospect goes first.
    """

    def __init__(self) -> None:
        self._speaking = 0
        self._cond = threading.Condition()

    def speaking(self) -> _Speaking:
        return _Speaking(self)

    @property
    def busy(self) -> bool:
        """Is a prospect speaking right now?"""
        return self._speaking > 0

    def wait_quiet(self, timeout: float = 60.0) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._speaking == 0, timeout=timeout)


class _Speaking:
    def __init__(self, gate: PriorityGate):
        self.gate = gate

    def __enter__(self) -> None:
        with self.gate._cond:
            self.gate._speaking += 1

    def __exit__(self, *exc: object) -> None:
        with self.gate._cond:
            self.gate._speaking -= 1
            self.gate._cond.notify_all()


class Gym:
    """Personas, models, storage and the workers shared by every call in a process."""

    def __init__(self, settings: Settings, store: Store | None = None,
                 models: dict[Role, BaseChatModel] | None = None):
        self.settings = settings
        self.store = store or create_store(settings.db_url)
        self.accounts = Accounts(self.store)
        self.personas = load_personas(settings.personas_dir)
        models = models or {}
        self.models = {role: models.get(role) or create_chat_model(role, settings) for role in Role}
        #: One retry after a timeout, a refused connection or a rate limit, for every role.
        self.retry = RetryPolicy(retries=1, delay_s=settings.retry_delay_s, max_delay_s=settings.retry_max_delay_s)
        self.grader = Grader(self.models[Role.GRADER], settings.prompts_dir,
                             history_tokens=settings.grader.history_tokens, retry=self.retry)
        self.coach = Coach(self.models[Role.COACH], settings.prompts_dir, retry=self.retry)
        # Two workers: grading one call never waits for another call's report.
        self.gate = PriorityGate()
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="grader")
        self._prospects: dict[str, Prospect] = {}
        self._calls: dict[str, Call] = {}
        self._lock = threading.Lock()

    def prospect(self, persona: Persona) -> Prospect:
        key = persona_version(persona)
        with self._lock:
            if key not in self._prospects:
                self._prospects[key] = Prospect(self.models[Role.PROSPECT], persona, self.settings.prompts_dir,
                                                history_tokens=self.settings.prospect.history_tokens)
            return self._prospects[key]

    def warm_up(self) -> None:
        """Load the models and have every system prompt's processed state ready.

        States computed before come from disk in a fraction of a second; the first start on a
        machine computes them (about 20 s per persona on two cores). Runs in the background.
        """
        from roleplay.llamacpp import LlamaCppChatModel

        started = time.monotonic()
        self.grader.reader.read([], "Hello, is this a good moment?")  # loads the encoder and the language model
        grader_model = self.models[Role.GRADER]
        if isinstance(grader_model, LlamaCppChatModel):
            grader_model.prime([SystemMessage(self.grader.system_prompt)])
        coach_model = self.models[Role.COACH]
        if isinstance(coach_model, LlamaCppChatModel):
            coach_model.prime([SystemMessage(self.coach.system_prompt)])
        prospect_model = self.models[Role.PROSPECT]
        if isinstance(prospect_model, LlamaCppChatModel):
            for persona in self.personas.values():
                prospect_model.prime(self.prospect(persona).opening())
        log.info("warm-up done in %.1f s", time.monotonic() - started)

    def add_persona(self, persona: Persona) -> None:
        """Make ``persona`` startable: a new one, or a new version replacing the one with its id.

        ``personas`` is updated in place, so views holding it see the change. Calls already
        under way keep the version they started with (each session records its version).
        """
        with self._lock:
            self.personas[persona.id] = persona

    def start(self, persona: str | Persona, owner: str | None = None, *, grade: bool = True) -> Call:
        """Start a call; the prospect's opening line is already spoken.

        ``persona`` is the id of a loaded persona, or a ``Persona`` itself (e.g. a draft that is
        not published). ``grade=False`` skips grading: each reply gets an unscored grade saying so.
        """
        if isinstance(persona, str):
            persona_id = persona
            persona = self.personas.get(persona_id)
            if persona is None:
                raise KeyError(f"unknown persona '{persona_id}'; known: {', '.join(sorted(self.personas))}")
        session_id = self.store.create_session(
            persona.id, persona_version(persona), persona.model_dump(mode="json"),
            prompts.prompt_versions(self.settings.prompts_dir),
            {role.value: model_label(m) for role, m in self.models.items()}, owner,
        )
        state = initial_state(persona)
        self.store.add_turn(session_id, "prospect", persona.opening_line, move="open", state=state.snapshot())
        call = Call(self, session_id, persona, state, [Line(speaker="prospect", text=persona.opening_line)],
                    grading=grade, owner=owner)
        with self._lock:
            self._calls[session_id] = call
        return call

    def call(self, session_id: str) -> Call:
        """The live call ``session_id``, resumed from the database if this process lost it.

        Everything said is in the database, so a restart loses nothing: the transcript, the
        prospect's state and the grades come back, and replies whose grading the restart cut
        short are graded again in the background.
        """
        with self._lock:
            if session_id in self._calls:
                return self._calls[session_id]
        record = self.store.get_session(session_id)
        if record is None:
            raise KeyError(f"no session {session_id}")
        persona = Persona.model_validate(record.persona)
        state = ProspectState.model_validate(
            {k: v for k, v in (record.state or {}).items() if k in ProspectState.model_fields}
        ) if record.state else initial_state(persona)
        call = Call(self, record.id, persona, state,
                    [Line(speaker=t.speaker, text=t.text) for t in record.turns],
                    rep_turns=[(t.id, t.text) for t in record.turns if t.speaker == "rep"],
                    ended_by=record.ended_by, owner=record.owner)
        if record.report:
            call.report = Report.model_validate(record.report)
        with self._lock:
            if session_id in self._calls:  # another request resumed it meanwhile
                return self._calls[session_id]
            self._calls[session_id] = call
        if record.report is None:
            for i, turn in enumerate(record.turns):
                if turn.speaker == "rep" and turn.id not in record.grades:
                    call.pending[turn.id] = self.pool.submit(call._grade, call.lines[:i], turn.text, turn.id)
        return call

    def close(self) -> None:
        self.pool.shutdown(wait=True)
