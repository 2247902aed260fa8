"""The browser app (Gradio): pick a prospect, talk, see each reply graded, read the report."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from html import escape

import gradio as gr

from roleplay.call import Call, CallEnded, CallMoved, Gym, InputError
from roleplay.errors import InvalidInput
from roleplay.judge import Report
from roleplay.personas import Persona
from roleplay.rendering import plain, report_markdown
from roleplay.team import Viewer, delivery_facts
from roleplay.ui import film as game_film
from roleplay.ui import screen
from roleplay.ui.dashboard import build_progress, export_follow_up, export_session
from roleplay.ui.past import PastSessions, past_choices
from roleplay.ui.streaming import spoken_ahead
from roleplay.ui.studio import build_studio
from roleplay.ui.views import brief_markdown, scores_html
from roleplay.ui.voice_panel import Access, CallParts, VoicePanel

log = logging.getLogger(__name__)


def persona_choices(personas: dict[str, Persona]) -> list[tuple[str, str]]:
    """The prospect picker's choices: (label, persona id)."""
    return [(f"{p.name} — {p.id.replace('_', ' ')} ({p.difficulty.value})", p.id) for p in personas.values()]


def build_app(gym: Gym) -> gr.Blocks:
    """Build the Gradio app over ``gym`` (tests pass a gym with fake models)."""
    personas = gym.personas  # updated in place when the studio publishes
    drills = gym.playable_drills()
    playable = {d.id for d in drills}
    choices = persona_choices(personas)
    first = next(iter(personas))

    def viewer(request: gr.Request | None) -> Viewer:
        """Who is asking: in team mode the signed-in account, else the single user."""
        try:
            return gym.accounts.viewer(getattr(request, "username", None), gym.settings.team_mode)
        except PermissionError as exc:
            raise gr.Error(str(exc)) from None

    def readable(who: Viewer, session_id: str | None) -> Call:
        """The call ``session_id`` if ``who`` may read it. A session someone may not read gets
        the same answer as one that does not exist, so ids cannot be probed."""
        exists, owner = gym.store.session_owner(session_id or "")
        if not exists or not gym.accounts.can_read(who, owner):
            raise gr.Error("There is no such session.")
        return gym.call(session_id)

    def writable(who: Viewer, session_id: str | None) -> Call:
        call = readable(who, session_id)
        if not gym.accounts.can_write(who, call.owner):
            raise gr.Error("This is another rep's call: you can read it, not take part in it.")
        return call

    def pick(persona_id: str) -> str:
        return brief_markdown(personas[persona_id]) if persona_id in personas else ""

    # Each handler of the call view returns what it changes, by component (``view``: every
    # component it may change, in the order the API lists them). The components are made below.
    def opened(call: Call, who: Viewer, exam: bool) -> dict:
        """The view of a call just opened to speak in (started, a drill, a retake, a call back)."""
        return {
            session: call.id, chat: screen.history(call), status: screen.status(call),
            scores: screen.scores(call, exam), report: gr.update(value="", visible=False),
            msg: gr.update(interactive=True, value=""), send_btn: gr.update(interactive=True),
            end_btn: gr.update(interactive=True), timer: gr.Timer(active=False),
            past: gr.update(choices=past_choices(gym, who)), film: gr.update(value="", visible=False),
            back_btn: gr.update(visible=False),
        }

    def start(persona_id: str, exam: bool, request: gr.Request) -> dict:
        who = viewer(request)
        if persona_id not in personas:
            raise gr.Error("There is no such prospect. Reload the page to see the current ones.")
        return opened(gym.start(persona_id, owner=who.username), who, exam)

    def play_drill(drill_id: str | None, exam: bool, request: gr.Request) -> dict:
        """Start the drill ``drill_id``: a short call at its moment, with a pass or a retry."""
        who = viewer(request)
        try:
            call = gym.start_drill(drill_id or "", owner=who.username)
        except KeyError:
            raise gr.Error("There is no such drill. Reload the page to see the current ones.") from None
        return opened(call, who, exam)

    def call_back(session_id: str | None, exam: bool, request: gr.Request) -> dict:
        """Place the follow-up call of this (ended) call: the same prospect, who remembers it."""
        if not session_id:
            raise gr.Error("Open a call that has ended first, then call back.")
        who = viewer(request)
        writable(who, session_id)
        try:
            call = gym.follow_up(session_id, owner=who.username)
        except InvalidInput as exc:
            raise gr.Error(str(exc)) from None
        return opened(call, who, exam)

    def take_again(session_id: str | None, reply: float | None, exam: bool, request: gr.Request) -> dict:
        """A new call that takes reply ``reply`` of this one again (the original stays as it is)."""
        if not session_id:
            raise gr.Error("Start or open a call first, then pick the reply to take again.")
        who = viewer(request)
        readable(who, session_id)
        try:
            call = gym.take_again(session_id, int(reply or 0), owner=who.username)
        except InvalidInput as exc:
            raise gr.Error(str(exc)) from None
        return opened(call, who, exam)

    def send(session_id: str | None, text: str, exam: bool, request: gr.Request) -> Iterator[dict]:
        if not session_id:
            raise gr.Error("Start a call first: pick a prospect and press Start call.")
        call = writable(viewer(request), session_id)
        history = screen.history(call)
        try:
            reply = call.send(text)
        except (InputError, CallEnded) as exc:
            gr.Warning(str(exc))
            fault = f'{screen.status(call)}<p class="rp-fault">⚠️ {escape(str(exc))}</p>'
            yield {chat: history, msg: text, status: fault, scores: screen.scores(call, exam)}
            return
        history = [*history, {"role": "user", "content": plain(reply.message)}]
        # Only the chat changes until the turn is done. Gradio rebuilds each output an update
        # leaves out, which costs the server more than sending its value again, so what stays
        # goes back as it is (a timer's value is its interval). On API clients' /send, the
        # outputs a turn never changes are left out.
        kept = ""
        same = {msg: "", status: screen.status(call), scores: screen.scores(call, exam), timer: timer.value}
        words = spoken_ahead(reply)  # the prospect's model starts now, while the rep's line shows
        yield {chat: history, **same}
        try:
            for partial in words:
                yield {chat: [*history, {"role": "assistant", "content": plain(partial)}], **same}
        except (CallEnded, CallMoved) as exc:  # ended, or moved on, in another tab since the message was taken
            gr.Warning(str(exc))
            kept = text if isinstance(exc, CallMoved) else ""  # to send again
        turn = call.last_turn
        if turn and turn.fault:
            gr.Warning(f"{turn.fault}. The prospect's line was scripted; your call goes on.")
        yield {
            **same, chat: screen.history(call), msg: gr.update(value=kept, interactive=not call.over),
            status: screen.status(call), scores: screen.scores(call, exam), timer: gr.Timer(active=True),
        }

    def type_ahead(session_id: str | None, text: str, request: gr.Request) -> None:
        """Process the rep's line as far as it is typed (``Call.type_ahead``): only an
        optimisation, so nothing here ever reaches the rep."""
        if session_id and text:
            with contextlib.suppress(Exception):
                writable(viewer(request), session_id).type_ahead(text)

    def refresh(session_id: str | None, exam: bool, request: gr.Request):
        if not session_id:
            return gr.update(), gr.update(), gr.Timer(active=False)
        call = readable(viewer(request), session_id)
        cards = screen.cards(call)
        pending = any(c.grade is None or c.grade.partial for c in cards)  # keep polling until the notes are in
        # a drill's verdict comes with the scores; other calls' status does not change here
        shown = screen.status(call) if call.drill is not None else gr.update()
        return scores_html(cards, exam, screen.first_time(call)), shown, gr.Timer(active=pending)

    def end(session_id: str | None, request: gr.Request) -> Iterator[dict]:
        """End the call: the report's facts show at once, the coach's summary follows."""
        if not session_id:
            raise gr.Error("There is no call to end.")
        call = writable(viewer(request), session_id)
        facts: queue.Queue[Report] = queue.Queue()
        done: Future[Report] = Future()

        def write() -> None:
            try:
                done.set_result(call.end(grade_timeout=120, on_facts=facts.put,
                                         delivery=delivery_facts(gym.store.deliveries_for(call.id).values())))
            except BaseException as exc:  # noqa: BLE001 - handed to the handler below
                done.set_exception(exc)

        def shown(written: Report, pending: bool) -> dict:
            return {
                status: screen.status(call), scores: screen.scores(call, False),
                report: gr.update(value=report_markdown(written, call.persona.name, pending=pending), visible=True),
                msg: gr.update(interactive=False), send_btn: gr.update(interactive=False),
                end_btn: gr.update(interactive=False), timer: gr.Timer(active=False), back_btn: gr.update(visible=True),
                # the drill the report names, ready to play
                **({drill: gr.update(value=written.drill_id)} if written.drill_id in playable else {}),
            }

        threading.Thread(target=write, name=f"report-{call.id[:8]}", daemon=True).start()
        while not done.done():
            try:
                yield shown(facts.get(timeout=0.1), pending=True)
                break
            except queue.Empty:
                continue
        yield shown(done.result(), pending=False)

    def start_over() -> dict:
        return {
            session: None, chat: [], status: "<p>Pick a prospect and press <strong>Start call</strong>.</p>",
            scores: scores_html([], False), report: gr.update(value="", visible=False),
            msg: gr.update(interactive=False, value=""), send_btn: gr.update(interactive=False),
            end_btn: gr.update(interactive=False), timer: gr.Timer(active=False),
            film: gr.update(value="", visible=False), back_btn: gr.update(visible=False),
        }

    def review(session_id: str | None, request: gr.Request) -> dict:
        if not session_id:
            raise gr.Error("Pick a past session first.")
        who = viewer(request)
        call = readable(who, session_id)
        written = call.report
        mine = gym.accounts.can_write(who, call.owner)
        live = mine and not call.over
        shown = game_film.film_html(gym.store.get_session(session_id), gym.store.recordings_for(session_id))
        return {
            film: gr.update(value=shown, visible=bool(shown)),
            session: session_id, chat: screen.history(call), status: screen.status(call),
            scores: screen.scores(call, False),
            report: gr.update(value=report_markdown(written, call.persona.name) if written else "",
                              visible=bool(written)),
            msg: gr.update(interactive=live), send_btn: gr.update(interactive=live),
            end_btn: gr.update(interactive=mine and (not call.over or written is None)), timer: gr.Timer(active=False),
            back_btn: gr.update(visible=mine and call.over),  # a follow-up call makes sense once a call has ended
        }

    with gr.Blocks(title="Pushback Gym") as demo:
        session = gr.State(None)
        with gr.Row():
            gr.Markdown("# Pushback Gym\nPractise the hardest moments of a sales call. "
                        "You are graded on **curiosity**, **composure** and **restraint**.")
            account = gr.HTML("", elem_id="account")
        with gr.Tabs() as tabs:
            with gr.Tab("Practice", id="practice"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=260):
                        # Choices go stale in open tabs when the studio publishes; start() checks the id.
                        persona = gr.Dropdown(choices=choices, value=first, label="Prospect", elem_id="persona",
                                              allow_custom_value=True)
                        brief = gr.Markdown(brief_markdown(personas[first]), elem_id="brief")
                        exam = gr.Checkbox(label="Exam mode: hide scores during the call", value=False, elem_id="exam")
                        start_btn = gr.Button("Start call", variant="primary", elem_id="start")
                        with gr.Accordion("Drills", open=False, elem_id="drills"):
                            drill = gr.Dropdown(choices=[(f"{d.title} ({d.dimension})", d.id) for d in drills],
                                                value=drills[0].id if drills else None, label="Drill",
                                                elem_id="drill")
                            drill_btn = gr.Button("Play drill", elem_id="drill-play")
                        pasts = PastSessions()
                        past = pasts.past
                        with gr.Accordion("Export this call", open=False):
                            with gr.Row():
                                md_btn = gr.Button("Markdown", size="sm", elem_id="export-md")
                                json_btn = gr.Button("JSON", size="sm", elem_id="export-json")
                                ics_btn = gr.Button("Follow-up (.ics)", size="sm", elem_id="export-ics")
                            exported = gr.File(label="Download", visible=False, interactive=False, elem_id="exported")
                    with gr.Column(scale=2, min_width=380):
                        status = gr.HTML("<p>Pick a prospect and press <strong>Start call</strong>.</p>",
                                         elem_id="status")
                        chat = gr.Chatbot(label="Call", height=430, elem_id="chat")
                        film = gr.HTML("", visible=False, elem_id="film", js_on_load=game_film.PLAY_THE_CALL,
                                       padding=True)
                        mode = gr.Radio(["Text", "Voice"], value="Text", label="Reply by", elem_id="mode",
                                        info="Type or speak; switch at any moment of a call.")
                        msg = gr.Textbox(label="You", placeholder="Say something… (Enter to send)", interactive=False,
                                         elem_id="msg", max_length=gym.settings.max_message_chars * 2)
                        voice = VoicePanel(gym, mode)
                        with gr.Row():
                            send_btn = gr.Button("Send", variant="primary", interactive=False, elem_id="send")
                            end_btn = gr.Button("End call", variant="stop", interactive=False, elem_id="end")
                            over_btn = gr.Button("Start over", elem_id="restart")
                            back_btn = gr.Button("Call back", elem_id="call-back", visible=False)
                    with gr.Column(scale=1, min_width=280):
                        gr.Markdown("### Your scores")
                        scores = gr.HTML(scores_html([], False), elem_id="scores")
                        with gr.Row(equal_height=True):
                            again_reply = gr.Number(label="Reply", value=1, precision=0, minimum=1, min_width=80,
                                                    elem_id="again-reply")
                            again_btn = gr.Button("Take it again", size="sm", elem_id="again")
                report = gr.Markdown(visible=False, elem_id="report")
                timer = gr.Timer(1.0, active=False)
            with gr.Tab("Progress", elem_id="progress-tab") as progress_tab:
                load_progress, progress_outputs, plan = build_progress(gym, viewer)
            # Opening the tab shows the figures as they are now (the call just ended included).
            progress_tab.select(load_progress, None, progress_outputs, api_name=False)
            with gr.Tab("Persona studio", elem_id="studio-tab"):
                build_studio(demo, gym, refresh=[(persona, lambda: gr.update(choices=persona_choices(gym.personas)))],
                             guard=(lambda request: _guard_studio(viewer(request))) if gym.settings.team_mode else None)

        def on_load(request: gr.Request):
            who = viewer(request)
            return (gr.update(choices=past_choices(gym, who)), _account_html(who), *load_progress(request))

        def export(session_id: str | None, fmt: str, request: gr.Request):
            if not session_id:
                raise gr.Error("Start or open a call first.")
            readable(viewer(request), session_id)
            return gr.update(value=export_session(gym, session_id, fmt), visible=True)

        demo.load(on_load, None, [past, account, *progress_outputs], api_name=False)
        def export_md(session_id: str | None, request: gr.Request):
            return export(session_id, "md", request)

        def export_json(session_id: str | None, request: gr.Request):
            return export(session_id, "json", request)

        def export_ics(session_id: str | None, request: gr.Request):
            if not session_id:
                raise gr.Error("Start or open a call first.")
            readable(viewer(request), session_id)
            try:
                return gr.update(value=export_follow_up(gym, session_id), visible=True)
            except LookupError as exc:
                raise gr.Error(str(exc)) from None

        md_btn.click(export_md, session, exported, api_name="export_md")
        ics_btn.click(export_ics, session, exported, api_name="export_ics")
        json_btn.click(export_json, session, exported, api_name="export_json")
        persona.change(pick, persona, brief, api_name=False)
        view = [session, chat, status, scores, report, msg, send_btn, end_btn, timer, past, drill, film, back_btn]
        openings = [start_btn.click(start, [persona, exam], view, api_name="start"),
                    drill_btn.click(play_drill, [drill, exam], view, api_name="play_drill"),
                    back_btn.click(call_back, [session, exam], view, api_name="call_back"),
                    again_btn.click(take_again, [session, again_reply, exam], view, api_name="take_again"),
                    pasts.open_btn.click(review, past, view, api_name="review")]
        pasts.wire(gym, viewer, session, view, start_over)
        # The page's Enter and Send ask only for what a turn changes: Gradio rebuilds each output
        # an update leaves out (the past-call and drill pickers, the film, Call back) on every
        # update, which took a tenth of the server's time in the load test, and post-processes
        # each output it is given (the report and the buttons, which a turn never changes, were
        # three of eight on every streamed word). API clients keep
        # /send with the whole call view, as /start, /end and /review give it. While a reply is
        # on its way, only the chat shows it is busy (its dots): every busy overlay costs the
        # page work.
        turn_view = [chat, status, scores, msg, timer]
        gr.on([msg.submit, send_btn.click], send, [session, msg, exam], turn_view, api_name=False,
              show_progress_on=chat)
        gr.on([], send, [session, msg, exam], view, api_name="send")
        if gym.types_ahead:
            # with a model that computes here, the prospect processes the line while it is typed
            msg.input(type_ahead, [session, msg], None, api_name=False, show_progress="hidden",
                      trigger_mode="always_last", queue=False)
        timer.tick(refresh, [session, exam], [scores, status, timer], api_name=False, show_progress="hidden")
        exam.change(refresh, [session, exam], [scores, status, timer], api_name=False)
        end_btn.click(end, session, view, api_name="end")
        over_btn.click(start_over, None, view, api_name=False)

        # The practice plan's steps, one click away: each opens the Practice tab on its call.
        def step(steps: list[dict], kind: str) -> dict:
            found = next((s for s in steps if s["kind"] == kind), None)
            if found is None:
                raise gr.Error("The plan has changed: press Refresh on the Progress tab.")
            return found

        def plan_retry(steps: list[dict], exam_on: bool, request: gr.Request) -> dict:
            chosen = step(steps, "retry")
            return take_again(chosen["session_id"], chosen["reply"], exam_on, request)

        def plan_drill(steps: list[dict], exam_on: bool, request: gr.Request) -> dict:
            return play_drill(step(steps, "drill")["drill_id"], exam_on, request)

        def plan_call(steps: list[dict], exam_on: bool, request: gr.Request) -> dict:
            return start(step(steps, "call")["persona_id"], exam_on, request)

        for button, handler, name in ((plan.retry, plan_retry, "plan_retry"), (plan.drill, plan_drill, "plan_drill"),
                                      (plan.call, plan_call, "plan_call")):
            chosen = button.click(handler, [plan.plan, exam], view, api_name=name)
            chosen.success(lambda: gr.Tabs(selected="practice"), None, tabs, api_name=False)
            openings.append(chosen)
        voice.wire(CallParts(session, exam, persona, chat, status, scores, msg, send_btn, timer, film),
                   Access(viewer, readable, writable), openings)
    return demo


def _guard_studio(who: Viewer) -> None:
    if not who.can_publish:
        raise gr.Error("The persona studio is for the enablement team.")


def _account_html(who: Viewer) -> str:
    if who.user is None:
        return ""
    team = f", team {escape(who.user.team)}" if who.user.team else ""
    return (f'<p class="rp-account">Signed in as <strong>{escape(who.user.username)}</strong> '
            f'({who.user.role.value}{team}) · <a href="/logout">Sign out</a></p>')
