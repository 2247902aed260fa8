"""Language models for the three roles (prospect, grader, coach) and what wraps them.

- ``models``: ``create_chat_model(role, settings)``, the one place that picks a provider
  (embedded llama.cpp, any OpenAI-compatible endpoint, or the fakes).
- ``llamacpp``: the embedded model as a LangChain chat model that keeps processed prompts.
- ``embedded``: assembling and verifying the embedded model's weights.
- ``faults``: what a model failure was, and the one retry policy every role uses.
- ``tokens``: counting tokens and fitting a conversation into a budget.
- ``fakes``: deterministic stand-ins for tests (the ``fake`` backend).

``llamacpp`` is imported only where the embedded model is used, so it is not re-exported here.
"""

from roleplay.backends.faults import Fault, ModelFault, RetryPolicy, classify
from roleplay.backends.models import ModelConfigError, create_chat_model, json_constrained, model_label

__all__ = ["Fault", "ModelConfigError", "ModelFault", "RetryPolicy", "classify", "create_chat_model",
           "json_constrained", "model_label"]
