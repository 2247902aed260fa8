"""The shape of a conversation as every role sees it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Speaker = Literal["rep", "prospect"]


class Line(BaseModel):
    """One spoken turn."""

    model_config = ConfigDict(frozen=True)

    speaker: Speaker
    text: str


def render(lines: list[Line], rep: str = "Rep", prospect: str = "Prospect") -> str:
    """Render lines as a plain transcript."""
    return "\n".join(f"{rep if ln.speaker == 'rep' else prospect}: {ln.text}" for ln in lines)
