"""The gym: what every call in a process shares (personas, models, storage, grading workers).

``Gym.start`` opens a call, ``Gym.call`` finds one again: from storage after a restart, or when
another app process over the same database moved it on since this one last saw it.
``PriorityGate`` lets the prospect speak first: background grading waits while anyone is
waiting for a prospect's words.
"""

from __future__ import annotations

import logging
import threading
import time

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import SystemMessage

from roleplay import prompts
from roleplay.backends import RetryPolicy, create_chat_model, model_label
from roleplay.call.call import Call, stored_state
from roleplay.call.jobs import GradingJobs
from roleplay.call.prospect import Prospect
from roleplay.call.state import (
    advance,
    follow_up_state,
    how_it_ended,
    initial_state,
    remember,
    spoken,
)
from roleplay.call.turn import DRILL_SETUP
from roleplay.config import Role, Settings
from roleplay.drills import Drill, load_drills
from roleplay.errors import InvalidInput
from roleplay.judge import Coach, Grade, Grader
from roleplay.personas import Persona, load_personas, persona_version
from roleplay.storage import Attempt, SessionRecord, Store, create_store
from roleplay.team import Accounts
from roleplay.transcript import Line

log = logging.getLogger(__name__)


#: Replies graded at once when the grader's model computes elsewhere (an HTTP endpoint, the
#: fakes): as many as the app serves requests at once (``roleplay serve``).
REMOTE_GRADING_WORKERS = 8


class PriorityGate:
    """Lets background work (grading) wait while any prospect is speaking.

    On two cores a grade computed at the same time as a prospect's reply halves the speed of
    both; the rep is waiting for the prospect, so the prospect goes first. Only models that
    compute in this process compete so (``shared_cpu``): with others, nothing waits.
    """

    def __init__(self, shared_cpu: bool = True) -> None:
        self.shared_cpu = shared_cpu
        self._speaking = 0
        self._cond = threading.Condition()

    def speaking(self) -> _Speaking:
        return _Speaking(self)

    @property
    def busy(self) -> bool:
        """Is a prospect speaking right now?"""
        return self._speaking > 0

    def wait_quiet(self, timeout: float = 60.0) -> None:
        if not self.shared_cpu:
            return
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


def _computes_here(model: BaseChatModel) -> bool:
    """Does ``model`` compute in this process (the embedded model), on the app's own CPU?"""
    from roleplay.backends.llamacpp import LlamaCppChatModel

    return isinstance(model, LlamaCppChatModel)


class Gym:
    """Personas, models, storage and the workers shared by every call in a process."""

    def __init__(self, settings: Settings, store: Store | None = None,
                 models: dict[Role, BaseChatModel] | None = None):
        self.settings = settings
        self.store = store or create_store(settings.db_url)
        self.accounts = Accounts(self.store)
        self.personas = load_personas(settings.personas_dir)
        self.drills = load_drills(settings.prompts_dir)
        models = models or {}
        self.models = {role: models.get(role) or create_chat_model(role, settings) for role in Role}
        #: One retry after a timeout, a refused connection or a rate limit, for every role.
        self.retry = RetryPolicy(retries=1, delay_s=settings.retry_delay_s, max_delay_s=settings.retry_max_delay_s)
        self.grader = Grader(self.models[Role.GRADER], settings.prompts_dir,
                             history_tokens=settings.grader.history_tokens, retry=self.retry)
        self.coach = Coach(self.models[Role.COACH], settings.prompts_dir, retry=self.retry)
        # A grader model computing in this process shares its CPU with the prospects': grading
        # gives way to them, and two workers suffice (the model grades one reply at a time; the
        # second keeps one call's grading from waiting on another's). A model elsewhere grades
        # many replies at once, none waiting for the prospects.
        local = _computes_here(self.models[Role.GRADER])
        self.gate = PriorityGate(shared_cpu=local)
        self._prospects: dict[str, Prospect] = {}
        self._calls: dict[str, Call] = {}
        self._lock = threading.Lock()
        self.jobs = GradingJobs(self, workers=2 if local else REMOTE_GRADING_WORKERS)

    @property
    def types_ahead(self) -> bool:
        """Can the prospect's model process a line while the rep types it (``Call.type_ahead``)?
        The embedded one can; a model behind an endpoint cannot."""
        return hasattr(self.models[Role.PROSPECT], "prefill")

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
        from roleplay.backends.llamacpp import LlamaCppChatModel

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
        """The call ``session_id`` as the database has it now: kept in this process, and read
        again when another process moved it on (``Call.refresh``), or resumed after a restart.

        Everything said is in the database, so a restart loses nothing: the transcript, the
        prospect's state and the grades come back, and replies whose grading no process holds
        (``GradingJobs``) are graded again in the background.
        """
        with self._lock:
            call = self._calls.get(session_id)
        if call is not None:
            call.refresh()
            return call
        record = self._record(session_id)
        persona = Persona.model_validate(record.persona)
        call = Call(self, record.id, persona, initial_state(persona), [], owner=record.owner,
                    attempt_of=record.attempt_of, drill=self.drills.get(record.drill_id) if record.drill_id else None)
        call.load(record)
        if record.attempt_of is not None:
            call.first_answer = self._first_answer(record.attempt_of)
        with self._lock:
            if session_id in self._calls:  # another request resumed it meanwhile
                return self._calls[session_id]
            self._calls[session_id] = call
        ungraded = [t.id for t in record.turns if t.speaker == "rep" and t.id not in record.grades]
        if record.report is None and ungraded:
            self.store.ensure_jobs(call.id, ungraded)
            self.jobs.take_over(call.id)
        return call

    def take_again(self, session_id: str, reply: int, owner: str | None = None) -> Call:
        """A new call that takes reply ``reply`` (from 1) of ``session_id`` again.

        It starts as that call was just before the reply: the same persona version, the lines
        said so far with their grades (and the delivery of those spoken), and the prospect's state
        as it was then. The original call is not touched; the new one records what it is an
        attempt at.

        Raises:
            KeyError: there is no such session.
            InvalidInput: the call has no reply ``reply``.
        """
        record = self._record(session_id)
        replies = [i for i, t in enumerate(record.turns) if t.speaker == "rep"]
        if not 1 <= reply <= len(replies):
            raise InvalidInput(f"This call has {len(replies)} repl{'y' if len(replies) == 1 else 'ies'}; "
                               f"pick one from 1 to {len(replies)} to take again." if replies
                               else "This call has no reply to take again yet.")
        new_id = self._session_like(record, owner)
        self.store.add_attempt(new_id, session_id, reply)
        for turn in record.turns[: replies[reply - 1]]:  # up to the prospect's line before the reply
            copied = self.store.add_turn(new_id, turn.speaker, turn.text, turn.move, turn.state, turn.meta)
            if turn.id in record.grades:
                self.store.add_grade(new_id, copied, record.grades[turn.id])
            if (spoken := record.deliveries.get(turn.id)) is not None:
                self.store.add_delivery(new_id, copied, spoken.figures, spoken.prospect_s)
        return self.call(new_id)

    def follow_up(self, session_id: str, owner: str | None = None) -> Call:
        """The follow-up call after ``session_id`` ended: the same persona version, who
        remembers the first call (when it was and how it ended, kept by code in its state and
        said in its first words) and is as open as that call left it (``follow_up_state``).

        Raises:
            KeyError: there is no such session.
            InvalidInput: the call has not ended yet.
        """
        record = self._record(session_id)
        if record.ended_by is None:
            raise InvalidInput("End this call first; then you can call back.")
        persona = Persona.model_validate(record.persona)
        last = stored_state(record, persona)
        ended = how_it_ended(record.ended_by, last)
        first = record.created_at
        memory, recall = remember(persona, ended, f"{first:%A} {first.day} {first:%B}")
        state = follow_up_state(persona, ended, memory, last.revealed)
        opening = f"{persona.name}. {recall}"  # the persona's own opening belongs to the first call
        new_id = self._session_like(record, owner)
        self.store.add_follow_up(new_id, session_id)
        self.store.add_turn(new_id, "prospect", opening, move="open", state=state.snapshot())
        return self.call(new_id)

    def delete(self, session_id: str, actor: str | None = None) -> dict[str, int] | None:
        """Delete a session for good, with everything of it (``Accounts.delete_session``, audited
        as done by ``actor``): its turns, grades, report, deliveries and recordings. A call this
        process holds is dropped first, and its gradings not started yet are cancelled; one being
        graded finds its turn gone.

        Returns:
            How many rows went, by table; ``None`` if there is no such session.
        """
        with self._lock:
            call = self._calls.pop(session_id, None)
        if call is not None:
            call.ended_by = call.ended_by or "deleted"  # a tab still holding it can say no more
            for future in call.pending.values():
                future.cancel()
        return self.accounts.delete_session(session_id, actor=actor)

    def _record(self, session_id: str) -> SessionRecord:
        record = self.store.get_session(session_id)
        if record is None:
            raise KeyError(f"no session {session_id}")
        return record

    def _first_answer(self, attempt: Attempt) -> tuple[int, str, Grade | None] | None:
        """The reply an attempt takes again, as it was first said: its number, words and grade."""
        parent = self.store.get_session(attempt.parent_id)
        replies = [t for t in parent.turns if t.speaker == "rep"] if parent else []
        if len(replies) < attempt.reply:
            return None
        turn = replies[attempt.reply - 1]
        return attempt.reply, turn.text, parent.grades.get(turn.id)

    def _session_like(self, record: SessionRecord, owner: str | None) -> str:
        """A new session with the persona version, prompts and models of ``record``; its id."""
        return self.store.create_session(record.persona_id, record.persona_version, record.persona,
                                         record.prompt_versions, record.models, owner)

    def playable_drills(self) -> list[Drill]:
        """The drills whose persona is loaded, in file order."""
        return [d for d in self.drills.drills if d.persona in self.personas]

    def start_drill(self, drill_id: str, owner: str | None = None) -> Call:
        """Start drill ``drill_id``: a call with its persona whose first lines are the drill's
        moment, the prospect's state moved through them as if they had been said. The moment's
        rep lines are the drill's, not the rep's: they are stored unscored (``DRILL_SETUP``).

        Raises:
            KeyError: no such drill, or its persona is not loaded.
        """
        drill = self.drills.get(drill_id)
        persona = self.personas.get(drill.persona)
        if persona is None:
            raise KeyError(f"drill '{drill_id}' needs the persona '{drill.persona}', which is not loaded")
        call = self.start(persona, owner)
        self.store.add_drill_run(call.id, drill.id)
        call.drill = drill
        for line in drill.moment:
            if line.speaker == "rep":
                decision = advance(call.state, persona, self.grader.reader.read(call.lines, line.text))
                turn_id = self.store.add_turn(call.id, "rep", line.text)
                self.store.add_grade(call.id, turn_id, Grade.unscored(DRILL_SETUP))
                call.rep_turns.append((turn_id, line.text))
            else:  # the drill's words for the prospect: what they say is kept in its state
                unsaid = decision.fact if decision.fact and decision.fact not in line.text else None
                spoken(call.state, line.text, unsaid)
                self.store.add_turn(call.id, "prospect", line.text, move=decision.move.value,
                                    state=call.state.snapshot())
            call.lines.append(Line(speaker=line.speaker, text=line.text))
        return call

    def settle(self, timeout: float | None = None) -> None:
        """Wait until the background work of every live call (grading each reply, then
        preparing its next turn) is done, ``timeout`` seconds at most for each reply."""
        with self._lock:
            calls = list(self._calls.values())
        for call in calls:
            call.grades(wait=timeout)

    def close(self) -> None:
        """Stop taking grading jobs over, and wait for the grades under way."""
        self.jobs.close()
