"""Each role on its own endpoint, key and model; settings and keys read from ``.env``; the
answer's length cap sent in the field the server reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from roleplay.backends import create_chat_model
from roleplay.backends.models import ModelConfigError
from roleplay.config import Role, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ROLEPLAY_CONFIG", "GRADER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no roleplay.toml, no .env but the test's own


def openai_role(**extra: object) -> dict[str, object]:
    return {"backend": "openai", "model": "m", **extra}


def test_each_role_has_its_own_endpoint_key_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-shared")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("GRADER_KEY", "sk-grader")
    settings = load_settings(
        prospect=openai_role(model="local-prospect"),
        grader=openai_role(model="gpt-4o-mini", base_url="https://api.example.com/v1", api_key_env="GRADER_KEY"),
        coach={"backend": "fake"},
    )
    prospect, grader = create_chat_model(Role.PROSPECT, settings), create_chat_model(Role.GRADER, settings)
    assert (prospect.model_name, prospect.openai_api_base) == ("local-prospect", "http://127.0.0.1:8080/v1")
    assert prospect.openai_api_key.get_secret_value() == "sk-shared"
    assert (grader.model_name, grader.openai_api_base) == ("gpt-4o-mini", "https://api.example.com/v1")
    assert grader.openai_api_key.get_secret_value() == "sk-grader"


def test_a_missing_key_names_the_variable_and_the_fix() -> None:
    settings = load_settings(grader=openai_role(api_key_env="GRADER_KEY"))
    with pytest.raises(ModelConfigError, match="grader role's API key is read from GRADER_KEY.*put it in .env"):
        create_chat_model(Role.GRADER, settings)


def test_settings_and_keys_are_read_from_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "ROLEPLAY_GRADER__BACKEND=openai\nROLEPLAY_GRADER__MODEL=from-dotenv\n"
        "ROLEPLAY_GRADER__BASE_URL=http://127.0.0.1:9/v1\nOPENAI_API_KEY=sk-dotenv\n"
    )
    settings = load_settings()
    grader = create_chat_model(Role.GRADER, settings)
    assert (grader.model_name, grader.openai_api_base) == ("from-dotenv", "http://127.0.0.1:9/v1")
    assert grader.openai_api_key.get_secret_value() == "sk-dotenv"
    assert settings.prospect.backend.value == "local", "only the grader was set"


@pytest.mark.parametrize(("cap", "field"), [("max_completion_tokens", "max_completion_tokens"),
                                            ("max_tokens", "max_tokens")])
def test_the_length_cap_goes_in_the_field_the_server_reads(monkeypatch: pytest.MonkeyPatch, cap: str,
                                                           field: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk")
    settings = load_settings(prospect=openai_role(length_cap=cap, max_tokens=33))
    model = create_chat_model(Role.PROSPECT, settings)
    payload = model._get_request_payload([HumanMessage("hi")])
    payload.update(payload.pop("extra_body", None) or {})  # the client merges extra_body into the request
    other = {"max_tokens", "max_completion_tokens"} - {field}
    assert payload[field] == 33 and not other & payload.keys()
