"""The Practice tab's voice mode in Gradio: the microphone, the prospect's voice and their handlers.

The rep switches between typing and speaking at any moment of a call (``Reply by``). Speaking is
push to talk: Record, say the reply, Stop; the recording goes to ``speak`` (the ``/speak``
endpoint), which writes it down, sends it through the call like a typed reply and streams the
prospect's answer: its words into the chat as they are written, its voice into an autoplaying
streaming ``gr.Audio``, a sentence (the first clause first) at a time. The work around the call
is ``spoken``'s; this module is the components and the events.

Hands-free (a box to tick) presses Record and Stop for the rep: the microphone opens when the
prospect has finished speaking and the turn ends when the rep stops talking (``hands_free``).

With the game film box ticked (off by default; the choice is stored per call), the rep's
recording and the prospect's voice of each spoken turn are kept with the call (``film``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from html import escape
from typing import Any, NamedTuple

import gradio as gr

from roleplay.call import Call, CallEnded, CallMoved, Gym, InputError
from roleplay.errors import ConfigError, InvalidInput
from roleplay.rendering import plain
from roleplay.team import Viewer
from roleplay.ui import film, hands_free, screen, spoken

log = logging.getLogger(__name__)

#: The prospect's voice starts over at ``to`` seconds into this answer's stream: skip to it, now
#: and while the audio queued before it (which may arrive after this) would play.
SKIP_QUEUED_AUDIO = """(value) => {
  const to = parseFloat(value);
  const audio = document.querySelector('#prospect-audio audio');
  if (!audio || !(to > 0)) return;
  const skip = () => {
    if (audio.currentTime >= to - 0.05) { audio.removeEventListener('timeupdate', skip); return; }
    audio.currentTime = to;
  };
  audio.addEventListener('timeupdate', skip);
  skip();
}"""


class CallParts(NamedTuple):
    """The Practice tab's components a spoken turn reads or changes (made in ``ui.app``)."""

    session: Any
    exam: Any
    persona: Any
    chat: Any
    status: Any
    scores: Any
    msg: Any
    send_btn: Any
    timer: Any
    #: The game film of a past session (``film.film_html``), hidden when its audio is deleted.
    film: Any


class Access(NamedTuple):
    """Who is asking, and the calls they may read or speak in (``ui.app``'s rules)."""

    viewer: Callable[[gr.Request | None], Viewer]
    readable: Callable[[Viewer, str | None], Call]
    writable: Callable[[Viewer, str | None], Call]


class VoicePanel:
    """The microphone and the prospect's voice, made in the current Blocks context (hidden until
    the rep chooses Voice), and the events that make a spoken turn.

    Args:
        gym: The app's gym.
        mode: The "Reply by" switch (Text or Voice).
    """

    def __init__(self, gym: Gym, mode: gr.Radio):
        self.gym = gym
        self.mode = mode
        with gr.Column(visible=False, elem_id="voice") as self.box:
            # A file path, not an array: ``spoken.take_recording`` deletes the upload once read.
            self.mic = gr.Audio(sources=["microphone"], type="filepath", format=None, buttons=[], editable=False,
                                elem_id="mic", label="You: press Record, say your reply, press Stop")
            #: Hands-free: the browser presses Record and Stop (``hands_free.LISTEN``).
            self.hands_free = gr.Checkbox(
                False, label="Hands-free", elem_id="hands-free",
                info="The microphone opens when the prospect has finished; your turn ends when you stop talking.")
            gr.HTML('<p class="rp-hands-free"></p>', elem_id="hands-free-state", js_on_load=hands_free.LISTEN)
            self.prospect_audio = gr.Audio(label="Prospect", streaming=True, autoplay=True, interactive=False,
                                           buttons=[], elem_id="prospect-audio")
            who = "you and your manager" if gym.settings.team_mode else "you"
            #: Consent to keep this call's audio: stored per call (``Store.set_film``).
            self.keep_film = gr.Checkbox(
                False, label="Keep the audio of this call so I can replay it (game film)", elem_id="keep-film",
                info=f"Your spoken replies and the prospect's voice are kept with this call, for {who} to replay "
                     "under Past sessions. Untick to delete the audio kept so far; deleting the call deletes it too.")
        #: When the prospect's voice played in this tab (``spoken.VoiceClock``).
        self.clock = gr.State(None)
        #: Where the prospect's voice starts over ("seconds-into-the-stream nonce"): the browser
        #: skips what it had queued before it (``SKIP_QUEUED_AUDIO``).
        self.skip_queued = gr.Textbox("", visible=False, elem_id="voice-skip")

    def wire(self, parts: CallParts, access: Access, openings: Iterable[Any]) -> None:
        """Register the voice mode's events.

        Args:
            parts: The call's components.
            access: The app's access rules.
            openings: The events that open a call: when they succeed, the microphone opens if
                the rep may speak in it, and in voice mode its last line (a new call's first
                words) is said aloud.
        """
        p, gym = parts, self.gym

        def speak(session_id: str | None, recording: str | None, exam: bool, keep: bool,
                  clock: spoken.VoiceClock | None, request: gr.Request) -> Iterator[dict]:
            """A spoken reply: written down, sent like a typed one, the answer heard as it is written;
            with the film box ticked, its audio and the answer's are kept with the call."""
            try:
                if not session_id:
                    raise gr.Error("Start a call first: pick a prospect and press Start call.")
                call = access.writable(access.viewer(request), session_id)
                if keep:
                    gym.store.set_film(session_id, True)
                clock = (clock or spoken.VoiceClock()).of(session_id)
                yield {p.status: screen.status(call) + "<p>🎙️ Writing down what you said…</p>"}
                yield from self._turn(p, call, recording, exam, clock, keep)
            finally:  # the browser's upload never outlives the turn (it is gone once read, or refused)
                spoken.forget_upload(recording)

        def choose_film(session_id: str | None, keep: bool, request: gr.Request) -> dict:
            """The film box was ticked or unticked: stored for the call open (a call opened later
            takes the box as it is then); unticking deletes the audio kept of it."""
            if not session_id:
                return {}
            access.writable(access.viewer(request), session_id)
            deleted = gym.store.set_film(session_id, keep)
            if deleted:
                gr.Info(f"The audio of this call was deleted ({deleted} recording{'s' * (deleted != 1)}).")
            return {} if keep else {p.film: gr.update(value="", visible=False)}

        def greet(session_id: str | None, reply_by: str, keep: bool, clock: spoken.VoiceClock | None,
                  request: gr.Request) -> Iterator[dict]:
            """A call just opened: the microphone is open if the rep may speak in it, and in voice
            mode the prospect's last line (a new call's first words) is said aloud. The film box
            shows the call's choice; a live call of the rep's own takes the box's tick as it is."""
            if not session_id:
                return
            who = access.viewer(request)
            call = access.readable(who, session_id)
            mine = gym.accounts.can_write(who, call.owner)
            live = not call.over and mine
            if live and keep:
                gym.store.set_film(session_id, True)
            keeps = gym.store.keeps_film(session_id)
            yield {self.mic: gr.update(value=None, interactive=live),
                   self.keep_film: gr.update(value=keeps, interactive=mine)}
            if reply_by != "Voice" or not live or not call.lines or call.lines[-1].speaker != "prospect":
                return
            clock = (clock or spoken.VoiceClock()).of(session_id)
            speaker = self._models(call)[1]
            heard = film.Heard()
            for update in spoken.say(speaker, call.lines[-1].text, clock):
                if keeps:
                    heard.add(*update.audio)
                yield {self.prospect_audio: spoken.playable(update.audio), self.clock: clock}
            if keeps and (line := gym.store.last_turn_id(session_id)) is not None:
                film.keep(gym.store, session_id, line, heard.audio())

        def switch(reply_by: str, session_id: str | None, persona_id: str | None, request: gr.Request) -> dict:
            """Text or voice at any moment: the other way of replying shows, nothing else changes.
            Choosing voice starts loading its models, unless the voice extra is missing."""
            voice = reply_by == "Voice"
            if voice:
                call = access.readable(access.viewer(request), session_id) if session_id else None
                persona = call.persona if call else gym.personas.get(persona_id or "")
                try:
                    spoken.warm(gym.settings, persona or next(iter(gym.personas.values())))
                except ConfigError as exc:
                    gr.Warning(str(exc))
                    voice = False
            return {self.mode: "Voice" if voice else "Text", p.msg: gr.update(visible=not voice),
                    p.send_btn: gr.update(visible=not voice), self.box: gr.update(visible=voice)}

        outputs = [p.chat, p.status, p.scores, p.msg, p.timer, self.mic, self.prospect_audio, self.skip_queued,
                   self.clock]
        spoke = self.mic.stop_recording(speak, [p.session, self.mic, p.exam, self.keep_film, self.clock], outputs,
                                        api_name="speak")
        # the prospect has had their say (or the reply was refused): hands-free may listen again
        spoke.then(None, js=hands_free.YOUR_TURN)
        self.hands_free.input(None, self.hands_free, None, js=hands_free.SWITCHED)
        self.keep_film.input(choose_film, [p.session, self.keep_film], [p.film], api_name="keep_film")
        self.mode.change(switch, [self.mode, p.session, p.persona], [self.mode, p.msg, p.send_btn, self.box],
                         api_name=False).then(None, js=hands_free.YOUR_TURN)
        self.skip_queued.change(None, self.skip_queued, None, js=SKIP_QUEUED_AUDIO)
        for opened in openings:
            opened.success(greet, [p.session, self.mode, self.keep_film, self.clock],
                           [self.mic, self.keep_film, self.prospect_audio, self.clock], api_name=False,
                           js=hands_free.OPENING).then(None, js=hands_free.YOUR_TURN)

    def _models(self, call: Call):
        try:
            return spoken.voice_models(self.gym.settings, call.persona)
        except ConfigError as exc:
            raise gr.Error(str(exc)) from None

    def _turn(self, p: CallParts, call: Call, upload: str | None, exam: bool, clock: spoken.VoiceClock,
              keep: bool) -> Iterator[dict]:
        """Write down the recording (the browser's ``upload``, deleted once read), send it and stream
        the answer; then the turn's last view. ``keep``: the film box is ticked (the audio is kept
        if the call keeps its film)."""
        transcriber, speaker = self._models(call)
        transcript, recording, arrived = None, None, time.monotonic()
        try:
            recording = spoken.take_recording(upload)
            transcript = spoken.hear(transcriber, recording, call.persona)
            turn = spoken.send(call, transcript, speaker, clock)
        # nothing heard, too long, the call is over, the speech server failed: nothing stored
        except (InvalidInput, CallEnded, ConfigError) as exc:
            gr.Warning(str(exc))
            # words too long to send go to the text box, to shorten and send as text
            kept = transcript.text if isinstance(exc, InputError) and transcript is not None else gr.update()
            yield {p.status: f'{screen.status(call)}<p class="rp-fault">⚠️ {escape(str(exc))}</p>', p.msg: kept,
                   self.mic: None}
            return
        history = [*screen.history(call), {"role": "user", "content": plain(turn.message)}]
        cards, last, first_audio, heard = screen.scores(call, exam), None, None, film.Heard()
        try:
            for update in spoken.answer(call, turn, clock):
                if update.starts_over_at is not None:
                    heard.start_over()
                if update.audio is not None and keep:
                    heard.add(*update.audio)
                if update.last:
                    last = update
                    continue
                step = {p.chat: [*history, {"role": "assistant", "content": plain(update.text)}],
                        p.status: screen.status(call), p.scores: cards}
                if update.audio is not None:
                    step[self.prospect_audio] = spoken.playable(update.audio)
                    if turn.first_audio_s is not None and first_audio is None:
                        first_audio = time.monotonic() - arrived
                        log.info("voice turn: %.1f s of speech written down in %.2f s; first audio %.2f s after "
                                 "the recording arrived", transcript.duration_s, transcript.seconds, first_audio)
                if update.starts_over_at is not None:
                    step[self.skip_queued] = f"{update.starts_over_at:.3f} {time.monotonic():.3f}"
                yield step
        except (CallEnded, CallMoved) as exc:  # ended, or moved on, in another tab since the words were taken
            gr.Warning(str(exc))
        if last is not None:
            spoken.keep_delivery(call, turn, last.spoken_s)
            if keep and call.last_turn is not None:
                film.keep(self.gym.store, call.id, call.last_turn.rep_turn_id, recording)
                film.keep(self.gym.store, call.id, call.last_turn.prospect_turn_id, heard.audio())
            if last.voice_fault:
                gr.Warning(f"The prospect's voice failed ({last.voice_fault}); the call goes on: read the answer.")
        if call.last_turn and call.last_turn.fault:
            gr.Warning(f"{call.last_turn.fault}. The prospect's line was scripted; your call goes on.")
        yield {
            p.chat: screen.history(call), p.msg: gr.update(interactive=not call.over), p.status: screen.status(call),
            p.scores: screen.scores(call, exam), p.timer: gr.Timer(active=True), self.clock: clock,
            self.mic: gr.update(value=None, interactive=not call.over),  # a hang-up closes the line
        }
