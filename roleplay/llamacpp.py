"""A LangChain chat model over an in-process llama.cpp model, shared by every session.

One ``llama_cpp.Llama`` is loaded per (file, slot) and per process; calls to it are
serialised by a lock. llama.cpp keeps the tokens it last evaluated and re-processes only
the part of a new prompt that differs, so a role that keeps its prompt prefix stable
(system prompt first, history appended) pays only for the new tokens of each turn.
Roles get separate slots so the grader's prompts do not evict the prospect's cached prefix.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

log = logging.getLogger(__name__)


@dataclass
class SharedLlama:
    """One loaded model and the lock that serialises its use."""

    llama: Any
    lock: threading.Lock


_registry: dict[tuple[str, str, int], SharedLlama] = {}
_registry_lock = threading.Lock()


def shared_llama(model_path: str, slot: str, n_ctx: int, n_threads: int | None) -> SharedLlama:
    """Load the model for ``slot`` once per process and return it."""
    key = (model_path, slot, n_ctx)
    with _registry_lock:
        if key not in _registry:
            from llama_cpp import Llama

            log.info("loading %s for slot %s (n_ctx=%d)", model_path, slot, n_ctx)
            llama = Llama(
                model_path=model_path,
                n_ctx=n_ctx,
                n_threads=n_threads or os.cpu_count() or 2,
                n_batch=512,
                seed=0,
                verbose=False,
            )
            _registry[key] = SharedLlama(llama=llama, lock=threading.Lock())
        return _registry[key]


_ROLES = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}


def to_chat_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """Convert LangChain messages to llama.cpp's OpenAI-style dicts."""
    out = []
    for m in messages:
        role = next((r for cls, r in _ROLES.items() if isinstance(m, cls)), "user")
        out.append({"role": role, "content": m.text})
    return out


class LlamaCppChatModel(BaseChatModel):
    """Chat model backed by a shared in-process llama.cpp model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    slot: str = "default"
    label: str = "llama.cpp"
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.7
    max_tokens: int = 256
    _last_usage: dict[str, int] = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-embedded"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "slot": self.slot}

    def _shared(self) -> SharedLlama:
        return shared_llama(self.model_path, self.slot, self.n_ctx, self.n_threads)

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "temperature": kwargs.pop("temperature", self.temperature),
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "stop": stop,
            "seed": 0,
        }
        if "response_format" in kwargs:
            params["response_format"] = kwargs.pop("response_format")
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        shared = self._shared()
        with shared.lock:
            result = shared.llama.create_chat_completion(
                messages=to_chat_messages(messages), **self._params(stop, kwargs)
            )
        text = result["choices"][0]["message"]["content"] or ""
        usage = result.get("usage") or {}
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        shared = self._shared()
        with shared.lock:
            stream = shared.llama.create_chat_completion(
                messages=to_chat_messages(messages), stream=True, **self._params(stop, kwargs)
            )
            for part in stream:
                delta = part["choices"][0].get("delta", {}).get("content")
                if not delta:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk

    def count_tokens(self, text: str) -> int:
        """Count tokens exactly with the model's own tokenizer."""
        llama = self._shared().llama
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))
