"""Prompt templates live in the prompts folder (``prompts_dir``; shipped in ``roleplay/content/prompts/``)
as Jinja text, never as long strings in Python."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import yaml
from pydantic import BaseModel, ValidationError

from roleplay.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

#: Every template the app renders, and the variables each one receives.
TEMPLATES: dict[str, set[str]] = {
    "prospect_system.md": {"persona"},
    "prospect_turn.md": {"persona", "mood", "move", "line", "fact", "refusals", "memory"},
    "grader.md": set(),
    "grader_case.md": {"transcript", "reply", "aims"},
    "coach.md": set(),
}


class PromptError(ConfigError):
    """A prompt template is missing or broken; the message names the file."""


@cache
def _environment(directory: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(directory: Path, name: str, **variables: Any) -> str:
    """Render template ``name`` from ``directory``; unknown variables raise ``PromptError``."""
    try:
        return _environment(str(directory)).get_template(name).render(**variables).strip()
    except jinja2.TemplateNotFound as exc:
        raise PromptError(f"{directory / name}: template not found") from exc
    except jinja2.TemplateError as exc:
        raise PromptError(f"{directory / name}: {exc}") from exc


def template_hash(directory: Path, name: str) -> str:
    """Short content hash of one template, recorded with every session and grade."""
    return hashlib.sha256((directory / name).read_bytes()).hexdigest()[:12]


def prompt_versions(directory: Path) -> dict[str, str]:
    return {name: template_hash(directory, name) for name in TEMPLATES if (directory / name).exists()}


def load_data(directory: Path, name: str) -> dict[str, Any]:
    """Load a YAML data file that sits beside the prompts (e.g. fallback lines, drills)."""
    return yaml.safe_load((directory / name).read_text(encoding="utf-8"))


def load_checked(path: Path, model: type[M], error: type[Exception]) -> M:
    """Load a YAML data file written by people (the coaching library, the drills) and validate
    it as ``model``; every problem is raised as one readable ``error`` naming the file and the
    field at fault."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{path}: not found") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc})") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors())
        raise error(f"{path}: {problems}") from exc


def declared_variables(directory: Path, name: str) -> set[str]:
    """The undeclared (i.e. input) variables a template uses, for the consistency test."""
    env = _environment(str(directory))
    source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
    from jinja2 import meta

    return meta.find_undeclared_variables(env.parse(source))
