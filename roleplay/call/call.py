"""One practice call: the rep speaks, the prospect answers, the grader scores in the background.

``Call.send`` is the turn: the rep's message is checked, read once (the reading goes to the
prospect's state machine and to the grader) and the prospect's move is voiced; the message and
the answer are then stored together, at the position the turn started from (another process that
took the turn first wins, ``CallMoved``), and grading starts. A transcript never holds a message
without its answer. A call may take a reply of another
call again (``attempt_of``) or play a drill (``drill``, which ends it after the drill's replies).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from roleplay.backends import ModelFault
from roleplay.call.state import Move, ProspectState, advance, initial_state
from roleplay.call.turn import (
    GRADING_SKIPPED,
    CallEnded,
    CallMoved,
    Reply,
    TurnResult,
    TurnTimes,
    clean_message,
)
from roleplay.drills import Drill, verdict
from roleplay.judge import DeliveryFacts, Grade, Report, RepTurn
from roleplay.personas import Persona
from roleplay.storage import Attempt, NewTurn, SessionRecord, TurnConflict
from roleplay.transcript import Line
from roleplay.understanding import Reading

if TYPE_CHECKING:
    from roleplay.call.gym import Gym

log = logging.getLogger(__name__)


def stored_state(record: SessionRecord, persona: Persona) -> ProspectState:
    """The prospect's state as the session last stored it (its start, when nothing was stored)."""
    if not record.state:
        return initial_state(persona)
    return ProspectState.model_validate({k: v for k, v in record.state.items() if k in ProspectState.model_fields})


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
    #: When this call takes a moment of another again: that call, and the reply taken again,
    #: with its number, words and grade as it was first said (read once, when the call is opened).
    attempt_of: Attempt | None = None
    first_answer: tuple[int, str, Grade | None] | None = None
    #: The drill this call plays: it ends after the drill's replies (``drill_verdict``).
    drill: Drill | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Messages sent in this process: a line processed ahead (``type_ahead``) stops when it moves.
    asked: int = field(default=0, repr=False)

    @property
    def over(self) -> bool:
        return self.ended_by is not None

    def load(self, record: SessionRecord) -> None:
        """Take the call as ``record`` has it: its lines, the prospect's state, the replies, how it
        ended and its report (grades under way in this process stay under way)."""
        self.lines = [Line(speaker=t.speaker, text=t.text) for t in record.turns]
        self.state = stored_state(record, self.persona)
        self.rep_turns = [(t.id, t.text) for t in record.turns if t.speaker == "rep"]
        self.ended_by = record.ended_by
        self.report = Report.model_validate(record.report) if record.report else None

    def refresh(self) -> bool:
        """Catch up with what other processes stored for this call (turns, its end, its report).

        Skipped while this process is taking a turn of the call, which brings it up to date
        itself. Returns whether anything had changed.
        """
        if not self.lock.acquire(blocking=False):
            return False
        try:
            return self._catch_up()
        finally:
            self.lock.release()

    def _catch_up(self) -> bool:
        """``refresh``, with the call's lock held: one small query, and a reload when it moved on."""
        if self.gym.store.progress(self.id) == (len(self.lines), self.ended_by, self.report is not None):
            return False
        self.load(self.gym.store.get_session(self.id))
        self.last_turn = None
        return True

    def send(self, text: str | None) -> Reply:
        """Send the rep's message: checked at once (``InputError``, ``CallEnded``), then the
        prospect's reply is spoken as the returned ``Reply`` is iterated.

        The last value yielded is the final text (it can differ from the streamed one when the
        model's words were unusable and the persona's line was used instead). A model that
        times out, cannot be reached or is rate-limited gets one retry (the streamed text
        starts again); if that fails too, the persona's line is used and ``last_turn.fault``
        says what happened. The result of the turn is in ``last_turn`` afterwards. Grading
        starts once the reply is complete. The rep's message and the prospect's answer are
        stored together at the end, only if no other process took the call's turn or ended it
        meanwhile (else iterating raises ``CallMoved`` or ``CallEnded``, and nothing is stored).
        """
        if self.over:
            raise CallEnded("This call has ended. Start a new one.")
        message = clean_message(text, self.gym.settings.max_message_chars)
        self.asked += 1
        return Reply(message, self._speak(message))

    def type_ahead(self, typed: str) -> int:
        """Process the rep's line as far as it is typed, while they type (embedded model only):
        on Enter the prospect then processes only the rest of it and its direction.

        The last word may be unfinished, so it is left for Enter. Gives way at once to a message
        sent and to any prospect speaking; only an optimisation, so a failure is logged and
        forgotten. Returns the number of tokens processed.
        """
        words = typed.strip().rsplit(None, 1)
        if not self.gym.types_ahead or len(words) < 2 or self.over or self.gym.gate.busy:
            return 0
        asked = self.asked
        try:
            start = clean_message(words[0], self.gym.settings.max_message_chars)
            return self.gym.prospect(self.persona).prepare(
                list(self.lines), typed=start, should_stop=lambda: self.asked != asked or self.gym.gate.busy)
        except Exception as exc:  # noqa: BLE001
            log.warning("call %s: processing the typed line ahead failed: %s", self.id, exc)
            return 0

    def _speak(self, text: str) -> Iterator[str]:
        times = TurnTimes(taken=time.time())
        with self.lock:
            self._catch_up()  # another process may have taken a turn of this call since
            if self.over:  # ended (in another tab, say) since the message was taken
                raise CallEnded("This call has ended. Start a new one.")
            self.last_turn = None
            context = list(self.lines)
            reading = self.gym.grader.reader.read(context, text)  # read once: the prospect and the grader
            state = self.state.model_copy(deep=True)  # the call's own changes only once the turn is stored
            decision = advance(state, self.persona, reading)
            history = [*context, Line(speaker="rep", text=text)]
            prospect = self.gym.prospect(self.persona)
            raw, error, retried = "", None, []
            times.asked = time.time()
            try:
                with self.gym.gate.speaking():
                    for raw in self.gym.retry.stream(lambda: prospect.stream(history, decision, state),
                                                     what=f"call {self.id}: prospect", on_retry=retried.append):
                        times.first_words = times.first_words or time.time()
                        yield raw
            except ModelFault as fault:
                error = fault.describe("the prospect's model")
            except Exception as exc:  # noqa: BLE001 - the call must go on whatever the model does
                error = ModelFault(exc, 1).describe("the prospect's model")
            if error:
                log.warning("call %s: %s", self.id, error)
            voiced = prospect.finish("" if error else raw, decision, state, heard=text)
            reason = error or voiced.fallback_reason
            ended = decision.move == Move.HANG_UP
            meta: dict[str, object] = {"fallback_reason": reason, "raw": raw} if reason else {}
            if voiced.withheld_fact:
                meta["withheld_fact"] = voiced.withheld_fact
            if retried:
                meta["retried_after"] = [f"{type(exc).__name__}: {str(exc)[:160]}" for exc in retried]
            rep_turn_id, prospect_turn_id = self._store_turn(text, voiced.text, decision.move, state, meta or None)
            self.state = state
            self.lines = [*history, Line(speaker="prospect", text=voiced.text)]
            self.rep_turns.append((rep_turn_id, text))
            if self.grading:
                self.gym.jobs.submit(self, rep_turn_id, context, text, reading)
            else:
                self.pending[rep_turn_id] = self._skip_grade(rep_turn_id)
            self.last_turn = TurnResult(rep_turn_id, prospect_turn_id, voiced.text, decision.move, reason, ended,
                                        fault=error, withheld_fact=voiced.withheld_fact, times=times)
            if ended:
                self._end("prospect")
            elif self.drill is not None and len(self.drill_replies()) >= self.drill.replies:
                self._end("rep")  # the drill's replies are given
            yield voiced.text

    def _store_turn(self, said: str, answer: str, move: Move, state: ProspectState,
                    meta: dict[str, object] | None) -> tuple[int, int]:
        """Store the rep's message and the prospect's answer together, at the position the turn
        started from (with the reply's grading job, held by this process); their ids.

        Raises:
            CallEnded, CallMoved: another process ended the call, or took its turn, first; the
                call is reloaded as stored and nothing of this turn is kept.
        """
        try:
            return tuple(self.gym.store.add_turns(self.id, [
                NewTurn(speaker="rep", text=said),
                NewTurn(speaker="prospect", text=answer, move=move.value, state=state.snapshot(), meta=meta),
            ], at=len(self.lines), grading=self.gym.jobs.lease if self.grading else None))
        except TurnConflict:
            self._catch_up()
            log.info("call %s: another process took the turn first; nothing stored", self.id)
            if self.over:
                raise CallEnded("This call was ended in another window. Start a new one.") from None
            raise CallMoved("This call moved on in another window while you were writing: your message was not "
                            "sent. Here is the call as it stands; send it again if it still fits.") from None

    def drill_replies(self) -> list[tuple[int, str]]:
        """The rep's own replies in a drill (the moment's rep lines are the drill's)."""
        setup = sum(line.speaker == "rep" for line in self.drill.moment) if self.drill else 0
        return self.rep_turns[setup:]

    def drill_verdict(self) -> bool | None:
        """Has the drill passed (every reply at least its ``pass_at`` on its dimension)? ``None``
        while it cannot be told yet, and for a call that is no drill. A reply that could not be
        scored (``drill_unscored``) does not pass."""
        if self.drill is None:
            return None
        graded = self._drill_grades()
        if self.drill_unscored(graded):
            return False
        scores = [g.scores.get(self.drill.dimension) if g is not None and g.scored else None for g in graded]
        return verdict(self.drill, scores, hung_up=self.ended_by == "prospect")

    def drill_unscored(self, graded: list[Grade | None] | None = None) -> str | None:
        """Why a reply of this drill could not be scored, if one could not (it cannot pass).
        ``graded``: the drill replies' grades, when the caller has them already."""
        for grade in self._drill_grades() if graded is None else graded:
            if grade is not None and not grade.scored and not grade.partial:
                return grade.unscored_reason or "unknown reason"
        return None

    def _drill_grades(self) -> list[Grade | None]:
        grades = self.grades()
        return [grades.get(turn_id) for turn_id, _ in self.drill_replies()]

    def say(self, text: str) -> TurnResult:
        """Send a message and wait for the whole reply (for scripts and the API)."""
        for _ in self.send(text):
            pass
        return self.last_turn

    def _grade(self, context: list[Line], reply: str, rep_turn_id: int, reading: Reading | None = None) -> Grade:
        self._read_ahead()
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

    def _read_ahead(self) -> None:
        """Embed the prospect's last line now, while the rep reads it: the next reading then
        embeds only the rep's reply, before the prospect can answer. A few tens of milliseconds
        of one core, so it does not wait for the prospects to be quiet; only an optimisation."""
        try:
            self.gym.grader.reader.prepare(self.lines)
        except Exception as exc:  # noqa: BLE001
            log.warning("call %s: reading ahead failed: %s", self.id, exc)

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
        (``None``: until done), and as long for those another process is grading."""
        out: dict[int, Grade | None] = {}
        stored: dict[int, Grade] | None = None
        unknown = []
        for turn_id, _ in self.rep_turns:
            future = self.pending.get(turn_id)
            if future is None:  # graded before this process opened the call, or by another process
                stored = self.gym.store.grades_for(self.id) if stored is None else stored
                out[turn_id] = stored.get(turn_id)
                unknown.append(turn_id)
                continue
            try:
                out[turn_id] = future.result(timeout=wait) if wait != 0 else (
                    future.result() if future.done() else self.partial.get(turn_id))
            except TimeoutError:
                out[turn_id] = self.partial.get(turn_id)
            except Exception as exc:  # noqa: BLE001 - shown as unscored, never lost
                out[turn_id] = Grade.unscored(f"grading crashed ({exc.__class__.__name__}: {exc})")
        elsewhere = [turn_id for turn_id in unknown if out[turn_id] is None]
        if elsewhere and wait != 0:  # (this process may take some of them over meanwhile)
            out.update(self.gym.jobs.wait_for(self.id, elsewhere, wait))
        return out

    def _end(self, ended_by: str) -> None:
        self.ended_by = ended_by
        self.gym.store.end_session(self.id, ended_by, self.state.snapshot())

    def end(self, grade_timeout: float | None = None, on_facts: Callable[[Report], None] | None = None,
            delivery: DeliveryFacts | None = None) -> Report:
        """End the call (if the prospect has not) and write the coach's report.

        ``on_facts`` gets the report built from facts before the coach's model phrases its
        summary (not called when the report was written already). ``delivery``: how the spoken
        replies sounded, for the report to state (the call keeps no audio figures itself: they
        come from the voice package, which builds on the call).
        """
        with self.lock:
            self._catch_up()  # ended, or its report written, by another process?
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
                on_facts=on_facts, delivery=delivery,
            )
            self.gym.store.save_report(self.id, self.report.model_dump(mode="json"))
            return self.report
