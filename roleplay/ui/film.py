"""Game film: a voice call's audio, kept with the rep's consent and replayed under Past sessions.

- Keeping: ``keep`` compresses a line's audio (Ogg/Opus) and stores it with its turn, only when the
  session keeps its film (the voice panel's box, stored per session: ``Store.set_film``); without
  that nothing is encoded or written. ``Heard`` gathers the prospect's voice as the rep heard it.
- Replaying: ``film_html`` is the call line by line, each recorded line with its player (the
  audio inline, so no file is ever written to serve it), each spoken reply with its scores and
  delivery; ``PLAY_THE_CALL`` plays the lines one after another and marks the one playing.

The prospect's lines are kept as they played, not synthesised again on replay: Piper's voice
varies from one synthesis to the next, a hang-up's tone and a line that started over would be
lost, and a few kB a second is cheap.
"""

from __future__ import annotations

import base64
import logging
from html import escape

import numpy as np

from roleplay.storage import Recording, SessionRecord, Store
from roleplay.team.exports import persona_name
from roleplay.ui.views import delivery_html, score_pills

log = logging.getLogger(__name__)

#: The film's buttons and players, in the browser: one line after another, the one playing marked.
PLAY_THE_CALL = """
let chain = null;
const players = () => [...element.querySelectorAll('audio')];
const start = (i) => { const all = players(); chain = i < all.length ? i : null;
                       if (chain !== null) { all[i].currentTime = 0; all[i].play(); } };
element.addEventListener('click', (e) => {
  const button = e.target.closest('button[data-film]');
  if (!button) return;
  chain = null;
  players().forEach((p) => p.pause());
  if (button.dataset.film === 'play') start(0);
});
element.addEventListener('play', (e) => {
  const i = players().indexOf(e.target);
  if (chain !== null && i !== chain) chain = null;  // the rep picked a line: play that one alone
  e.target.closest('.rp-film-line')?.classList.add('rp-film-now');
}, true);
for (const done of ['pause', 'ended']) {
  element.addEventListener(done, (e) => e.target.closest('.rp-film-line')?.classList.remove('rp-film-now'), true);
}
element.addEventListener('ended', (e) => {
  const i = players().indexOf(e.target);
  if (chain !== null && i === chain) start(i + 1);
}, true);
"""


class Heard:
    """The prospect's voice of one answer as the rep heard it: its pieces in order, the ones the
    browser skipped when the answer started over left out."""

    def __init__(self) -> None:
        self.pieces: list[tuple[int, np.ndarray]] = []

    def add(self, rate: int, samples: np.ndarray) -> None:
        self.pieces.append((rate, samples))

    def start_over(self) -> None:
        """The answer starts over: what was queued before is not heard."""
        self.pieces.clear()

    def audio(self) -> tuple[int, np.ndarray] | None:
        """All of it as ``(rate, mono float32)`` at the first piece's rate; ``None`` when nothing was heard."""
        if not self.pieces:
            return None
        from roleplay.voice.audio import resample, to_float_mono

        rate = self.pieces[0][0]
        return rate, np.concatenate([resample(to_float_mono(samples), r, rate) for r, samples in self.pieces])


def keep(store: Store, session_id: str, turn_id: int, audio: tuple[int, np.ndarray] | None) -> bool:
    """Keep a line's audio (``(rate, samples)``) with its turn, if the session keeps its film.

    Returns:
        Whether it was kept. Without consent nothing is encoded; a failure to encode is logged and
        the call goes on (the film misses that line).
    """
    if audio is None or np.asarray(audio[1]).size == 0 or not store.keeps_film(session_id):
        return False
    from roleplay.voice import encode_opus

    rate, samples = audio
    try:
        encoded = encode_opus(rate, samples)
    except Exception as exc:  # noqa: BLE001 - the call matters more than its film
        log.warning("the audio of turn %s could not be encoded: %s", turn_id, exc)
        return False
    return store.add_recording(session_id, turn_id, encoded, len(samples) / rate)


def _player(recording: Recording) -> str:
    source = f"data:{recording.mime};base64,{base64.b64encode(recording.audio).decode('ascii')}"
    return f'<audio controls preload="metadata" src="{source}"></audio>'


def film_html(record: SessionRecord, recordings: dict[int, Recording]) -> str:
    """The call's game film: every line in order, a player on each recorded one, and each spoken
    reply's scores and delivery; ``""`` when nothing of the call was recorded."""
    if not recordings:
        return ""
    name = escape(persona_name(record))
    seconds = sum(r.seconds for r in recordings.values())
    lines, reply = [], 0
    for turn in record.turns:
        rep = turn.speaker == "rep"
        reply += rep
        who = f"You, reply {reply}" if rep else name
        kept = recordings.get(turn.id)
        extra = ""
        if rep and (grade := record.grades.get(turn.id)) is not None and grade.scored:
            extra += f"<div>{score_pills(grade)}</div>"
        if rep and (spoken := record.deliveries.get(turn.id)) is not None:
            extra += delivery_html(spoken.summary)
        unsaid = "typed" if rep and turn.id not in record.deliveries else "not recorded"
        player = _player(kept) if kept else f"<div><em>({unsaid})</em></div>"
        lines.append(f'<div class="rp-film-line{" rp-film-rep" if rep else ""}" data-turn="{turn.id}">'
                     f'<span class="rp-film-who">{who}</span>: “{escape(turn.text)}”{player}{extra}</div>')
    head = (f"<h3>🎞️ Game film</h3><p>{len(recordings)} recorded line{'s' * (len(recordings) != 1)}, "
            f"{int(seconds // 60)}:{int(seconds % 60):02d} of audio. "
            '<button type="button" data-film="play" class="rp-film-play">▶ Play the call</button> '
            '<button type="button" data-film="stop">■ Stop</button></p>')
    return head + "".join(lines)
