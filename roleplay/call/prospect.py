"""The prospect's voice: the model says the move the state machine picked, then code checks it.

``Prospect.stream`` asks the model to say the move in character; ``Prospect.finish`` checks
what came back. Words that break character, name the persona in the third person, speak as the
caller or agree when the move says no are replaced by the persona's own line for the move, and
the replacement is recorded. A hidden fact is only ever said in the model's words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from roleplay import prompts
from roleplay.backends.tokens import fit, token_counter
from roleplay.call.state import Decision, Move, ProspectState, spoken
from roleplay.config import ROLE_DEFAULTS, Role
from roleplay.personas import Persona
from roleplay.transcript import Line

log = logging.getLogger(__name__)

_OUT_OF_CHARACTER = re.compile(
    r"\b(?:as an ai|an ai\b|language model|assistant|chatbot|i'?m a bot|role[- ]?play|my (?:system )?prompt|"
    r"my instructions|the direction|(?:private )?direction|i'?m here to help|(?:i can(?:['’]|no)?t|i(?: am|['’]m) (?:not able|unable) to) (?:assist|help)(?: you)? with (?:that|this)|how (?:can|may) i (?:help|assist) you|"
    r"(?:is there )?anything (?:else )?(?:that )?i can (?:help|assist)(?: you)? with|"
    r"(?:could|can) you (?:please )?provide (?:more|some|additional|further)|i don'?t have enough information|"
    r"qwen|alibaba|openai|as a model)",
    re.IGNORECASE,
)
_COACHING = re.compile(
    r"\b(?:you should (?:ask|try|have|listen)|(?:a |one )?(?:tip|advice|feedback) for you|your (?:pitch|sales technique|approach) (?:was|is|could)|"
    r"try asking|next time,? (?:try|you)|good (?:question|job|pitch)!)",
    re.IGNORECASE,
)
#: The caller's words in the prospect's mouth (the small model sometimes swaps roles).
_CALLERS_WORDS = re.compile(
    r"\b(?:i'?ll (?:check|circle|touch) (?:back|in)|i'?ll (?:call|ring|email) you (?:back|then|later)|"
    r"i'?m (?:just )?trying to (?:get|reach|book|help|set up)|i'?ll leave it there|"
    r"thanks for (?:explaining|your time|taking my call))",
    re.IGNORECASE,
)
_AGREEMENT = re.compile(
    r"\b(?:let'?s do (?:it|that|tuesday|monday|wednesday|thursday|friday)|(?:sure|okay|ok|fine|alright),? (?:send|book|put|let'?s|i'?ll (?:take|do|join))|"
    r"send (?:me )?(?:the|an|over the) invite|book (?:it|the meeting|a time)|i'?ll (?:take|join) the (?:meeting|demo|call)|"
    r"(?:you'?ve|you have) convinced me|count me in|we'?ll (?:sign|buy|go with you)|i agree to (?:the|a) (?:meeting|demo|call)|"
    r"let'?s (?:set up|schedule|book|arrange|plan|have|get) (?:a|the|that|it)|(?:monday|tuesday|wednesday|thursday|friday) works\b|(?:that|this|it) works for me\b|"
    r"let'?s meet\b|sounds good|see you (?:then|on|next)|i'?m in\b|i'?ll (?:see|meet) you|happy to (?:meet|talk|chat|do a demo)|"
    r"looking forward to (?:your call|the (?:call|meeting|demo)|(?:talking|speaking|meeting|chatting)))",
    re.IGNORECASE,
)
#: A line that opens with a yes and then says no ("Sure, but …"), and the moves that say no.
_YES_BUT = re.compile(r"^(?:sure|okay|ok|yes|yeah|of course|absolutely|fine),?\s+but\s+", re.IGNORECASE)
_SAYING_NO = frozenset({Move.OBJECT, Move.REFUSE, Move.NOT_NOW, Move.CLOSE, Move.HANG_UP})
_LABEL = re.compile(r"^\s*(?:\*\*)?[A-Z][\w .'-]{0,40}:(?:\*\*)?\s*")
_STAGE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\*[^*]*\*")
MAX_SENTENCES = 3
LEFT_OUT_FACT = "left out the fact it was to reveal"
#: Marks where the rep's next line goes in a prompt prepared before the line exists.
_CUT = "\u0000NEXT\u0000"


def breaks_character(text: str) -> bool:
    """Does this prospect line mention being an AI, a prompt, a role-play, or coach the rep?"""
    return bool(_OUT_OF_CHARACTER.search(text) or _COACHING.search(text))


def agrees(text: str) -> bool:
    """Does this prospect line commit to what the rep asked for?"""
    return bool(_AGREEMENT.search(text))


def tidy(text: str, name: str) -> str:
    """Strip labels, stage directions, quotes and a leading "Full Name.", and keep at most
    three sentences."""
    text = _STAGE.sub("", text).strip()
    # "Marcus Bell. I'm in a meeting…": the name it answered the phone with, said again
    text = re.sub(rf"^{re.escape(name)}\s*[.,!-]\s+(?=\S)", "", text, flags=re.IGNORECASE)
    if text.lower().startswith(name.lower().split()[0].lower()) and ":" in text[:40]:
        text = text.split(":", 1)[1]
    text = _LABEL.sub("", text) if re.match(r"^\s*(?:prospect|[A-Z][a-z]+ [A-Z][a-z]+):", text) else text
    text = text.strip().strip('"').strip("“”").strip()
    parts = re.findall(r"[^.!?]+[.!?]*", text)
    return " ".join(p.strip() for p in parts[:MAX_SENTENCES]).strip()


_SELF_INTRO = r"(?:this is|it'?s|i'?m|i am|my name is|speaking|here)\W*"


def names_itself(text: str, name: str) -> bool:
    """Does the prospect speak of itself by name, in the third person ("Simone sends her wish
    list…")? Saying who is speaking ("Simone here", "this is Simone Achterberg") does not count."""
    for part in (w for w in name.split() if len(w) > 1):
        for m in re.finditer(rf"\b{re.escape(part)}\b", text):
            before, after = text[: m.start()], text[m.end():]
            intro = re.search(rf"(?i)(?:^|[.!?]\s*|{_SELF_INTRO})(?:\w+\s+)?$", before) and not re.match(
                r"(?i)\s*(?:'s|\s+(?:is|was|has|does|sends|thinks|said|says|wants|needs)\b)", after)
            if not intro:
                return True
    return False


def pasted_fact(text: str, fallback_reason: str | None, facts: Sequence[str]) -> bool:
    """Is ``text`` a replacement line (it has a ``fallback_reason``) carrying a hidden fact in the
    persona's written sentence, put in the prospect's mouth rather than voiced by the model?"""
    return bool(fallback_reason) and any(fact in text for fact in facts)


class Voiced(BaseModel):
    text: str
    fallback_reason: str | None = None
    #: The earned fact this line does not say: it is never pasted in, and stays hidden for a
    #: later question.
    withheld_fact: str | None = None


class Prospect:
    """Voices the moves the state machine picks, with the model for the prospect role."""

    def __init__(
        self, model: BaseChatModel, persona: Persona, prompts_dir: Path,
        history_tokens: int = ROLE_DEFAULTS[Role.PROSPECT][2],
    ):
        self.model = model
        self.history_tokens = history_tokens
        self._count = token_counter(model)
        self.persona = persona
        self.prompts_dir = prompts_dir
        self.system_prompt = prompts.render(prompts_dir, "prospect_system.md", persona=persona)
        self._fallbacks = prompts.load_data(prompts_dir, "fallback_lines.yaml")

    def conversation(self, history: list[Line]) -> list[BaseMessage]:
        """System prompt, the ring, then the call so far (its first line is the opening).

        The system prompt, the ring and the opening line are the same in every call with this
        persona, so their processed state is kept (see ``LlamaCppChatModel.stable_messages``).
        """
        out: list[BaseMessage] = [SystemMessage(self.system_prompt), HumanMessage("(The phone rings.)")]
        for line in fit(history, self._count, self.history_tokens, keep_first=1):
            out.append(AIMessage(line.text) if line.speaker == "prospect" else HumanMessage(line.text))
        return out

    def opening(self) -> list[BaseMessage]:
        return self.conversation([Line(speaker="prospect", text=self.persona.opening_line)])

    def prepare(self, history: list[Line], should_stop: Callable[[], bool] = lambda: False, typed: str = "") -> int:
        """Process the call so far ahead of the rep's next line (embedded model only), and the
        start of that line as far as the rep has ``typed`` it.

        The prompt of the turn just spoken ended with a private direction; the next one does
        not have it, so without this the prospect's last line is processed again on the rep's
        time; and what the rep typed before pressing Enter is then already processed too.
        Returns the number of tokens processed.
        """
        prefill = getattr(self.model, "prefill", None)
        if prefill is None:
            return 0
        return prefill([*self.conversation(history), HumanMessage(typed + _CUT)], _CUT, should_stop)

    def messages(self, history: list[Line], decision: Decision, state: ProspectState) -> list[BaseMessage]:
        """The conversation, with this turn's private direction in brackets after the rep's line.

        (Inside the rep's message the small embedded model follows a direction far better than
        as a separate system message; only the newest message carries one.)
        """
        *out, rep_line = self.conversation(history)
        direction = prompts.render(
            self.prompts_dir, "prospect_turn.md", persona=self.persona, mood=state.mood,
            move=decision.move.value, line=self.example_line(decision), fact=decision.fact,
            refusals=max(0, state.refusals - 1), memory=state.memory,
        )
        return [*out, HumanMessage(f"{rep_line.text}\n\n[{direction.strip()}]")]

    def example_line(self, decision: Decision) -> str:
        return decision.line or self._fallbacks.get(decision.move.value, "")

    def stream(self, history: list[Line], decision: Decision, state: ProspectState) -> Iterator[str]:
        """Stream the model's raw words for this move (checked afterwards by ``finish``)."""
        for chunk in self.model.stream(self.messages(history, decision, state)):
            if chunk.text:
                yield chunk.text

    def finish(self, raw: str, decision: Decision, state: ProspectState, heard: str = "") -> Voiced:
        """The turn as spoken: the model's words checked (``check``; ``heard``: the rep's line it
        answers), and what they said kept in ``state`` (a fact left unsaid stays hidden; a
        decline the model voiced is counted)."""
        voiced = self.check(raw, decision, heard)
        spoken(state, voiced.text, voiced.withheld_fact)
        return voiced

    def check(self, raw: str, decision: Decision, heard: str = "") -> Voiced:
        """Check the model's words for this move, answering ``heard`` (the rep's line); fall
        back to the persona's line if unusable.

        A hidden fact is only ever said in the model's words: a line that leaves it out is
        kept if it is otherwise fine, and the fact is withheld (``Voiced.withheld_fact``).
        """
        text = tidy(raw, self.persona.name)
        if decision.move in _SAYING_NO and (yes_but := _YES_BUT.match(text)):
            # "Sure, but we're happy where we are." opens with a yes the move is not: keep the no
            rest = text[yes_but.end():]
            text = rest[:1].upper() + rest[1:]
        reason = None
        if not text:
            reason = "empty reply"
        elif breaks_character(text):
            reason = "broke character"
        elif names_itself(text, self.persona.name):
            reason = "spoke of itself in the third person"
        elif _CALLERS_WORDS.search(text) or _repeats(text, heard):
            reason = "spoke as the caller"
        elif _words_within(text, self.persona.opening_line):
            reason = "repeated its greeting"
        elif agrees(text) and decision.move != Move.OPEN_DOOR:
            reason = "agreed against the direction"
        elif decision.fact and _overlap(decision.fact, text) < 0.4:
            reason = LEFT_OUT_FACT
        elif decision.move in (Move.NOT_NOW, Move.OPEN_DOOR) and not _overlap(self.persona.not_now.when, text):
            reason = "left out when to try again"
        if reason is None:
            return Voiced(text=text)
        if reason == LEFT_OUT_FACT:
            # the prospect's own answer stands; a fact it did not say is not put in its mouth
            log.info("prospect line kept without its fact: %r", raw)
            return Voiced(text=text, withheld_fact=decision.fact)
        log.info("prospect line replaced (%s): %r", reason, raw)
        return Voiced(text=self.example_line(decision), fallback_reason=reason, withheld_fact=decision.fact)


_STOPWORDS = frozenset(
    ["about", "after", "again", "before", "being", "from", "have", "into", "just", "like", "more", "once", "only", "over", "rather", "than", "that", "their", "them", "then", "there", "these", "they", "this", "those", "when", "where", "which", "while", "will", "with", "would", "your"]
)


def _words_within(text: str, line: str) -> bool:
    """Is ``text`` nothing but (a run of) the words of ``line``? ("HR." of "Simone Achterberg, HR.")"""
    words, within = re.findall(r"[a-z0-9']+", text.lower()), re.findall(r"[a-z0-9']+", line.lower())
    return bool(words) and any(within[i:i + len(words)] == words for i in range(len(within) - len(words) + 1))


def _repeats(text: str, heard: str, run: int = 6) -> bool:
    """Does ``text`` carry ``run`` or more words of ``heard`` in a row (the rep's line said back)?"""
    said, theirs = re.findall(r"[a-z0-9']+", text.lower()), re.findall(r"[a-z0-9']+", heard.lower())
    runs = {tuple(theirs[i:i + run]) for i in range(len(theirs) - run + 1)}
    return any(tuple(said[i:i + run]) in runs for i in range(len(said) - run + 1))


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if len(w) >= 4 and w not in _STOPWORDS}


def _overlap(wanted: str, said: str) -> float:
    """Share of the content words of ``wanted`` that ``said`` contains (1.0 if it has none)."""
    words = _content_words(wanted)
    return len(words & _content_words(said)) / len(words) if words else 1.0
