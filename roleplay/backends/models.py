"""The one place that touches model providers. Everything else receives a chat model.

Backends: ``local`` (embedded llama.cpp), ``openai`` (any OpenAI-compatible endpoint through
langchain-openai; each role may have its own endpoint, key variable and model, defaulting to
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` from the environment or ``.env``) and ``fake``
(deterministic, tests; its models live in ``roleplay.backends.fakes``).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.runnables import Runnable

from roleplay.backends.embedded import EMBEDDED_LABEL, ensure_embedded_model
from roleplay.config import Backend, Role, Settings, environment
from roleplay.errors import ConfigError


class ModelConfigError(ConfigError):
    """A role's model settings cannot work; the message says how to fix them."""


def model_label(model: BaseChatModel) -> str:
    """A short human-readable name of the model behind a chat model."""
    for attr in ("label", "model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def json_constrained(model: BaseChatModel, schema: dict[str, Any], name: str) -> Runnable:
    """Bind ``model`` so it can only answer with JSON matching ``schema``, where it allows.

    llama.cpp turns the schema into a grammar; OpenAI-compatible servers get a strict
    ``json_schema`` response format. A model whose metadata says ``json_mode: none`` (the
    fakes, servers without structured output) is used as it is.
    """
    from roleplay.backends.llamacpp import LlamaCppChatModel

    if isinstance(model, LlamaCppChatModel):
        return model.bind(response_format={"type": "json_object", "schema": schema})
    mode = (model.metadata or {}).get("json_mode", "json_schema")
    if mode == "json_object":
        return model.bind(response_format={"type": "json_object", "schema": schema})
    if mode == "none":
        return model
    return model.bind(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": False},
        }
    )


def create_chat_model(role: Role | str, settings: Settings) -> BaseChatModel:
    """Build the chat model configured for ``role``.

    Args:
        role: prospect, grader or coach.
        settings: the loaded settings.

    Returns:
        A LangChain chat model.

    Raises:
        ModelConfigError: the settings cannot produce a working model.
    """
    role = Role(role)
    rs = settings.role(role)
    if rs.backend == Backend.FAKE:
        from roleplay.backends.fakes import fake_model_for

        return fake_model_for(role)
    if rs.backend == Backend.OPENAI:
        if not rs.model:
            raise ModelConfigError(
                f"the openai backend needs a model name for the {role} role; "
                f"fix: set ROLEPLAY_{role.upper()}__MODEL (e.g. gpt-4o-mini)"
            )
        from langchain_openai import ChatOpenAI

        if not (api_key := environment(rs.api_key_env)):
            raise ModelConfigError(
                f"the {role} role's API key is read from {rs.api_key_env}, which is not set; fix: export "
                f"{rs.api_key_env}=… or put it in .env (a local server takes any value)"
            )
        # llama.cpp's server ignores max_completion_tokens: the cap goes in the field it reads.
        cap = ({"max_completion_tokens": rs.max_tokens} if rs.length_cap == "max_completion_tokens"
               else {"extra_body": {"max_tokens": rs.max_tokens}})
        return ChatOpenAI(
            model=rs.model,
            base_url=rs.base_url or environment("OPENAI_BASE_URL"),
            api_key=api_key,
            temperature=rs.temperature,
            timeout=rs.timeout_s,
            **cap,
            # The one retry is ours (roleplay.backends.faults), the same for every backend and role.
            max_retries=0,
            metadata={"json_mode": rs.json_mode},
        )
    from roleplay.backends.llamacpp import LlamaCppChatModel

    if rs.model:
        path, label = rs.model, rs.model
    else:
        path, label = str(ensure_embedded_model(settings.model_cache_dir)), EMBEDDED_LABEL
    # Each role has its own slot, so no role's prompts evict another's processed tokens.
    return LlamaCppChatModel(
        model_path=path,
        slot=role.value,
        state_dir=settings.model_cache_dir / "states",
        label=label,
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        temperature=rs.temperature,
        max_tokens=rs.max_tokens,
        # A prospect's calls all open the same way: system prompt, the ring, the opening line.
        stable_messages=3 if role == Role.PROSPECT else 1,
        seed=None if role == Role.PROSPECT else 0,
        timeout_s=rs.timeout_s,
    )
