"""Deterministic stand-ins for each role (the ``fake`` backend). For tests only.

They read the same prompts the real models get, so a change to a prompt's structure that
would break the app also breaks the tests. The fake grader offers only a line to try instead
(scores and notes come from code, as with any model), and the label "fake" travels with every
grade.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from roleplay.config import Role

Responder = Callable[[list[BaseMessage]], str]


class FakeChatModel(BaseChatModel):
    """A deterministic chat model for tests: ``responder`` maps the messages to the reply.

    ``latency_s`` is spent before the first token; ``fail_with`` is raised instead of
    answering (for fault-injection tests), on every call or on the first ``fail_times``;
    ``calls`` records every prompt it received.
    """

    responder: Responder
    latency_s: float = 0.0
    fail_with: BaseException | None = None
    fail_times: int | None = None
    calls: list[list[BaseMessage]] = []
    label: str = "fake"
    #: Answers as it is told: no structured-output binding (see ``models.json_constrained``).
    metadata: dict[str, Any] | None = {"json_mode": "none"}

    @property
    def _llm_type(self) -> str:
        return "fake"

    def _answer(self, messages: list[BaseMessage]) -> str:
        self.calls.append(list(messages))
        if self.latency_s:
            time.sleep(self.latency_s)
        if self.fail_with is not None and (self.fail_times is None or len(self.calls) <= self.fail_times):
            raise self.fail_with
        return self.responder(messages)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._answer(messages)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self._answer(messages)
        for i, word in enumerate(text.split(" ")):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))




_QUOTED = re.compile(r'(?:[Ll]ike|in your own words): "(.*?)"\]?\s*$', re.MULTILINE | re.DOTALL)
_FACT = re.compile(r'Your answer must start with this: "(.*?)"')


def fake_prospect(messages: list[BaseMessage]) -> str:
    direction = messages[-1].text
    fact = _FACT.search(direction)
    if fact:
        return f"Fair question. {fact.group(1).strip()}"
    quoted = _QUOTED.search(direction)
    if quoted and quoted.group(1).strip():
        return quoted.group(1).strip()
    return "We have our reasons."


def fake_grader(messages: list[BaseMessage]) -> str:
    """A line to try instead: a calm exit with a question about their view, whatever was said
    (so the reader's proof, not the fake, decides where it is shown)."""
    assert "WHAT TO FIX:" in messages[-1].text, "the grader's prompt lost its structure"
    return json.dumps({"line": "Understood, I'll leave it there. Out of interest, what makes you say that?"})


def fake_coach(messages: list[BaseMessage]) -> str:
    """The summary's first sentence, quoting the rep's words it is given, as the prompt asks."""
    said = re.search(r"you said “(.*?)”", messages[-1].text)
    quote = said.group(1) if said else "nothing"
    return json.dumps({"sentence": f"(fake coach) You said “{quote}”, and that set the tone of the call."})


_RESPONDERS = {Role.PROSPECT: fake_prospect, Role.GRADER: fake_grader, Role.COACH: fake_coach}


def fake_model_for(role: Role | str, latency_s: float = 0.0) -> FakeChatModel:
    """The deterministic fake model for ``role``."""
    role = Role(role)
    return FakeChatModel(responder=_RESPONDERS[role], latency_s=latency_s, calls=[], label=f"fake-{role.value}")
