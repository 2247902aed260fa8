"""Hands-free speaking in the voice panel: the microphone opens on the rep's turn and the turn ends
when they stop talking, with no Record or Stop to press.

It runs in the browser, on the push-to-talk microphone itself: ``LISTEN`` presses its Record
button once the prospect's voice has finished playing (never while it plays, so the prospect is
not heard as the rep), measures the level of the very stream Gradio records (it wraps
``getUserMedia``), and presses Stop after ``TURN_END_S`` of quiet that follows speech. The
recording then takes push to talk's road (``/speak``) unchanged, and ``YOUR_TURN`` (run when a
spoken turn or a call's opening is over) lets the microphone open again.

Why not Gradio's streaming microphone (``gr.Audio(streaming=True).stream(fn, stream_every=…,
time_limit=…)``) with Silero VAD on the server: every chunk would be an event through the queue
for the whole time the microphone is open, the stream is cut at ``time_limit``, and only the
browser can close its microphone while the prospect talks, so a script would still be needed.
Silero does check every recording: Whisper's VAD filter finds no words in a noise-only one, which
is then refused as nothing heard (and the microphone opens again).
"""

from __future__ import annotations

#: Quiet after speech that ends the rep's turn, in seconds.
TURN_END_S = 1.0
#: Speech needed before quiet can end a turn (a cough or a click is not a reply).
MIN_SPEECH_S = 0.25

#: The browser side, run when the panel's status line loads (``gr.HTML(js_on_load=…)``): taps
#: the microphone, then every 50 ms opens or closes it as the state of the call says.
LISTEN = f"const TURN_END_S = {TURN_END_S}, MIN_SPEECH_S = {MIN_SPEECH_S}, TICK_MS = 50;" + """
const free = window.rpHandsFree = window.rpHandsFree || {armed: false, stream: null};
const media = navigator.mediaDevices;
if (media && !media.rpTapped) {  // the level of the stream Gradio's recorder gets
  const open = media.getUserMedia.bind(media);
  media.getUserMedia = async (wanted) => {
    const stream = await open(wanted);
    if (wanted && wanted.audio) free.stream = stream;  // the latest: one recording at a time
    return stream;
  };
  media.rpTapped = true;
}
const live = () => !!document.querySelector('button#end:enabled');  // a call is on: it can be ended
// the rep's turn: the microphone opens once the prospect's voice is done (not before a call starts)
free.arm = () => { free.armed = live(); free.quietSince = null; };
const on = () => !!document.querySelector('#hands-free input:checked')
                 && document.querySelector('#voice')?.getClientRects().length > 0 && live();
// Gradio keeps the recorder's buttons all in the page, showing those that apply
const button = (kind) => [...document.querySelectorAll(`#mic button.${kind}-button`)]
  .find((b) => b.getClientRects().length > 0);
const say = (text) => { element.querySelector('.rp-hands-free').textContent = text; };
// The prospect's voice is done: ended, or not playing for a moment (not started, or at its end).
const prospectDone = (now) => {
  const a = document.querySelector('#prospect-audio audio');
  if (!a || a.ended) return true;
  if (!a.paused && a.currentTime < (a.duration || Infinity) - 0.05) { free.quietSince = null; return false; }
  free.quietSince = free.quietSince ?? now;
  return now - free.quietSince >= 0.8;
};
const level = () => {
  const stream = free.stream;
  if (!stream || !stream.getAudioTracks().some((t) => t.readyState === 'live')) return null;
  if (free.tapped !== stream) {
    free.context = free.context || new AudioContext();
    free.context.resume();
    free.analyser = free.context.createAnalyser();
    free.analyser.fftSize = 2048;
    free.context.createMediaStreamSource(stream).connect(free.analyser);
    free.tapped = stream;
    free.floor = null;
  }
  const samples = new Float32Array(free.analyser.fftSize);
  free.analyser.getFloatTimeDomainData(samples);
  return Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
};
const tick = () => {
  const now = performance.now() / 1000;
  if (!on()) { free.listening = false; say(''); return; }
  if (free.listening) {
    const stop = button('stop');
    if (!stop) {  // the recorder is starting, or the rep pressed Stop
      if (now - free.since > 3) free.listening = false;
      return;
    }
    const rms = level();
    if (rms === null) return;
    // speech stands out from the room's own level (its quietest, drifting slowly up)
    free.floor = free.floor === null ? rms : Math.min(rms, free.floor * 1.002 + 1e-6);
    if (rms > Math.max(0.01, 3 * free.floor)) { free.speech += TICK_MS / 1000; free.lastVoice = now; }
    if (free.speech >= MIN_SPEECH_S && now - free.lastVoice >= TURN_END_S) {
      free.listening = false;
      say('Sending your reply…');
      stop.click();
    }
    return;
  }
  const record = button('record');
  if (free.armed && record && !record.disabled && prospectDone(now)) {
    free.armed = false;
    free.listening = true;
    free.speech = 0;
    free.since = free.lastVoice = now;
    say('🎙️ Listening: just talk, your turn ends when you stop.');
    record.click();
  } else if (!free.armed) {
    say('Your turn comes when the prospect has finished.');
  }
};
clearInterval(free.timer);
free.timer = setInterval(tick, TICK_MS);
"""

#: When a spoken turn or a call's opening is over: the rep's turn, the microphone may open.
YOUR_TURN = "() => { window.rpHandsFree?.arm(); }"

#: A call is opening: not the rep's turn until its first words have been said.
OPENING = "(...values) => { if (window.rpHandsFree) window.rpHandsFree.armed = false; return values; }"

#: Switching hands-free on, in the browser: the microphone may open at once (if nothing plays).
SWITCHED = """(on) => {
  const free = window.rpHandsFree;
  if (on && free) {
    free.context = free.context || new AudioContext();  // made on the rep's click, so it may run
    free.context.resume();
    free.arm();
  }
  return on;
}"""
