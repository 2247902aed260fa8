"""A LangChain chat model over an in-process llama.cpp model, shared by every session.

One ``llama_cpp.Llama`` is loaded per (file, slot) and per process; calls to it are
serialised by a lock. Roles get separate slots, so the grader's prompts never evict the
prospect's processed tokens.

Latency on two cores is dominated by prompt processing (about 20 tokens/s), so this model
re-processes as little as it can:

* llama.cpp keeps the tokens it last evaluated and only evaluates the part of a new prompt
  that differs. A role that keeps its prompt stable (system prompt first, history appended)
  pays only for the new tokens of each turn.
* The processed state of each system prompt (a persona, the grader's rubric) is kept in
  memory and on disk. When the live context does not already start with it (another
  persona or role used the slot, or the process restarted) the state is loaded instead of
  re-processing the prompt, so even the first turn of a call starts fast.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

log = logging.getLogger(__name__)

_ROLES = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}
#: Keep at most this many prefix states in memory per slot (about 12 MB each).
_MAX_STATES_IN_RAM = 16
#: Tokens processed between two checks of whether a prefill should give way: on 2 cores about
#: a tenth of a second, the most a rep's Enter waits for a line processed while being typed
#: (16 took a third of a second; 4 still process 35 tokens a second, far more than anyone types).
_PREFILL_BATCH = 4


def to_chat_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """Convert LangChain messages to OpenAI-style role/content dicts."""
    return [
        {"role": next((r for cls, r in _ROLES.items() if isinstance(m, cls)), "user"), "content": m.text}
        for m in messages
    ]


@dataclass
class CallStats:
    """What one model call cost: tokens in the prompt, tokens actually processed, timings."""

    prompt_tokens: int = 0
    #: Tokens of the prompt not already in the model's context when the call started.
    new_tokens: int = 0
    processed_tokens: int = 0
    completion_tokens: int = 0
    prefix_state: str = "none"  # live | ram | disk | computed | none
    first_token_s: float | None = None
    #: Of ``first_token_s``, the time spent waiting for the slot (another call, or a prefill's batch).
    waited_s: float = 0.0
    total_s: float = 0.0


@dataclass
class SharedLlama:
    """One loaded model, its lock, its chat formatter and its processed prefix states."""

    llama: Any
    lock: threading.Lock
    formatter: Any
    stop: list[str]
    state_dir: Path | None
    states: dict[str, Any] = field(default_factory=dict)
    last: CallStats = field(default_factory=CallStats)

    def tokenize(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def render(self, messages: list[dict[str, str]], generation_prompt: bool) -> str:
        self.formatter.add_generation_prompt = generation_prompt
        return self.formatter(messages=messages).prompt


_registry: dict[tuple[str, str, int], SharedLlama] = {}
_registry_lock = threading.Lock()


def shared_llama(
    model_path: str, slot: str, n_ctx: int, n_threads: int | None, state_dir: Path | None = None
) -> SharedLlama:
    """Load the model for ``slot`` once per process and return it."""
    key = (model_path, slot, n_ctx)
    with _registry_lock:
        if key not in _registry:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            log.info("loading %s for slot %s (n_ctx=%d)", model_path, slot, n_ctx)
            llama = Llama(
                model_path=model_path, n_ctx=n_ctx, n_threads=n_threads or os.cpu_count() or 2,
                n_batch=512, seed=0, verbose=False,
            )
            model = llama._model
            eos = model.token_get_text(llama.token_eos())
            bos = model.token_get_text(llama.token_bos()) if llama.token_bos() != -1 else ""
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise RuntimeError(f"{model_path} has no chat template in its metadata")
            formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
            stat = Path(model_path).stat()
            model_key = hashlib.sha256(f"{model_path}|{stat.st_size}|{n_ctx}".encode()).hexdigest()[:16]
            _registry[key] = SharedLlama(
                llama=llama, lock=threading.Lock(), formatter=formatter,
                stop=sorted({eos, "<|im_end|>", "<|endoftext|>"} - {""}),
                state_dir=(state_dir / model_key) if state_dir else None,
            )
        return _registry[key]


def _common_prefix(a: Any, b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class _PrefixStates:
    """Processed states of system prompts, in memory and on disk."""

    @staticmethod
    def ensure(shared: SharedLlama, prefix: list[int]) -> str:
        """Make the live context start with ``prefix``; return where its state came from."""
        import numpy as np
        from llama_cpp.llama import LlamaState

        llama = shared.llama
        live = llama.input_ids[: llama.n_tokens].tolist()
        if _common_prefix(live, prefix) >= len(prefix):
            return "live"
        key = hashlib.sha256(np.asarray(prefix, dtype=np.int32).tobytes()).hexdigest()[:24]
        raw = shared.states.get(key)
        source = "ram"
        path = shared.state_dir / f"{key}.state" if shared.state_dir else None
        if raw is None and path and path.is_file():
            try:
                raw = pickle.loads(path.read_bytes())
                source = "disk"
            except (OSError, pickle.UnpicklingError, EOFError) as exc:
                log.warning("ignoring unreadable prefix state %s: %s", path, exc)
        if raw is None:
            llama.reset()
            llama.eval(prefix)
            full = llama.save_state()
            raw = {"input_ids": full.input_ids[: full.n_tokens].copy(), "n_tokens": full.n_tokens,
                   "llama_state": full.llama_state, "size": full.llama_state_size, "seed": full.seed}
            source = "computed"
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_bytes(pickle.dumps(raw))
                os.replace(tmp, path)
        else:
            input_ids = np.zeros(llama.n_ctx(), dtype=np.intc)
            input_ids[: raw["n_tokens"]] = raw["input_ids"]
            # Logits are recomputed for the last token before sampling; don't store ~0.6 MB per token.
            scores = np.zeros((1, llama.n_vocab()), dtype=np.single)
            llama.load_state(LlamaState(input_ids=input_ids, scores=scores, n_tokens=raw["n_tokens"],
                                        llama_state=raw["llama_state"], llama_state_size=raw["size"],
                                        seed=raw["seed"]))
        if len(shared.states) >= _MAX_STATES_IN_RAM:
            shared.states.pop(next(iter(shared.states)))
        shared.states[key] = raw
        return source


class LlamaCppChatModel(BaseChatModel):
    """Chat model backed by a shared in-process llama.cpp model."""

    model_path: str
    slot: str = "default"
    label: str = "llama.cpp"
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.7
    max_tokens: int = 256
    #: Where processed system-prompt states are kept between runs (None: memory only).
    state_dir: Path | None = None
    #: False re-processes the whole prompt on every call (the naive baseline of the bench).
    reuse_prefix: bool = True
    #: How many leading messages every prompt of this role shares (the system prompt, and for
    #: a prospect the opening of the call); their processed state is kept in memory and on disk.
    stable_messages: int = 1
    #: Sampling seed of every call; None draws a new one per call from the previous (a
    #: prospect that says things a little differently each call, still reproducible per process).
    seed: int | None = 0
    #: Seconds a call may take in all (waiting for the slot, processing, writing) before it is
    #: abandoned with ``TimeoutError``, which the fault policy retries once. Checked while
    #: waiting and between tokens: processing the prompt itself cannot be interrupted.
    timeout_s: float | None = None

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-embedded"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "slot": self.slot}

    def shared(self) -> SharedLlama:
        return shared_llama(self.model_path, self.slot, self.n_ctx, self.n_threads, self.state_dir)

    def last_stats(self) -> CallStats:
        """Statistics of the last call on this model's slot (for the benchmark)."""
        return self.shared().last

    def prime(self, messages: list[BaseMessage]) -> str:
        """Have the processed state of the stable leading ``messages`` ready (from disk, or
        computed once); returns where it came from."""
        shared = self.shared()
        with shared.lock:
            chat = to_chat_messages(messages[: self.stable_messages])
            return _PrefixStates.ensure(shared, shared.tokenize(shared.render(chat, generation_prompt=False)))

    def prefill(self, messages: list[BaseMessage], cut: str, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Process, ahead of time, the prompt ``messages`` make up to the first ``cut`` in it.

        A later call whose prompt starts the same way only processes what follows. Work is
        done in small batches and abandoned as soon as ``should_stop()`` says so (the slot is
        wanted for something more urgent). Returns the number of tokens processed.
        """
        shared = self.shared()
        chat = to_chat_messages(messages)
        text = shared.render(chat, generation_prompt=True)
        if cut not in text:
            raise ValueError("the cut marker is not in the rendered prompt")
        tokens = shared.tokenize(text[: text.index(cut)])
        with shared.lock:
            self._ensure_prefix(shared, chat, tokens)
            llama = shared.llama
            start = _common_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
            if start == len(tokens):
                return 0
            llama.n_tokens = start
            done = start
            while done < len(tokens) and not should_stop():
                batch = tokens[done : done + _PREFILL_BATCH]
                llama.eval(batch)
                done += len(batch)
            return done - start

    def _ensure_prefix(self, shared: SharedLlama, chat: list[dict[str, str]], tokens: list[int]) -> str:
        """Load the processed stable messages if the live context does not start with them."""
        if len(chat) <= self.stable_messages or chat[0]["role"] != "system":
            return "none"
        prefix = shared.tokenize(shared.render(chat[: self.stable_messages], generation_prompt=False))
        return _PrefixStates.ensure(shared, prefix) if tokens[: len(prefix)] == prefix else "none"

    def count_tokens(self, text: str) -> int:
        """Count tokens exactly with the model's own tokenizer."""
        return len(self.shared().tokenize(text))

    def _run(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> Iterator[str]:
        """Generate under the slot's lock, yielding text pieces as they come."""
        from llama_cpp import llama_cpp as C

        shared = self.shared()
        chat = to_chat_messages(messages)
        grammar = None
        response_format = kwargs.get("response_format")
        if response_format and response_format.get("schema"):
            grammar = _grammar(json.dumps(response_format["schema"]))  # keeps the order of the keys
        started = time.monotonic()
        if not shared.lock.acquire(timeout=-1 if self.timeout_s is None else self.timeout_s):
            raise TimeoutError(f"the {self.slot} model was busy for more than {self.timeout_s:g} s")
        waited = time.monotonic() - started
        try:
            tokens = shared.tokenize(shared.render(chat, generation_prompt=True))
            if len(tokens) + self.max_tokens > self.n_ctx:
                raise ValueError(f"prompt of {len(tokens)} tokens does not fit the {self.n_ctx}-token context")
            stats = CallStats(prompt_tokens=len(tokens), waited_s=waited)
            llama = shared.llama
            if not self.reuse_prefix:
                llama.reset()
            else:
                stats.prefix_state = self._ensure_prefix(shared, chat, tokens)
            stats.new_tokens = len(tokens) - _common_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
            C.llama_perf_context_reset(llama._ctx.ctx)
            stream = llama.create_completion(
                prompt=tokens, max_tokens=kwargs.get("max_tokens", self.max_tokens),
                temperature=kwargs.get("temperature", self.temperature), stop=[*shared.stop, *(stop or [])],
                seed=self.seed, stream=True, grammar=grammar,
            )
            for part in stream:
                if self.timeout_s is not None and time.monotonic() - started > self.timeout_s:
                    stream.close()
                    raise TimeoutError(f"the {self.slot} model did not finish within {self.timeout_s:g} s")
                text = part["choices"][0]["text"]
                if text:
                    if stats.first_token_s is None:
                        stats.first_token_s = time.monotonic() - started
                    stats.completion_tokens += 1
                    yield text
            perf = C.llama_perf_context(llama._ctx.ctx)
            stats.processed_tokens = int(perf.n_p_eval)
            stats.total_s = time.monotonic() - started
            shared.last = stats
        finally:
            shared.lock.release()

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        text = "".join(self._run(messages, stop, kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in self._run(messages, stop, kwargs):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


_grammars: dict[str, Any] = {}


def _grammar(schema_json: str) -> Any:
    """Compile (once) the grammar that constrains output to a JSON schema."""
    from llama_cpp.llama_grammar import LlamaGrammar

    if schema_json not in _grammars:
        _grammars[schema_json] = LlamaGrammar.from_json_schema(schema_json, verbose=False)
    return _grammars[schema_json]
