"""Drills: short scenarios that start at a hard moment of a call and train one habit.

Kept as YAML beside the prompts (``prompts/drills.yaml``) so enablement can write them without
Python; loading validates every drill and names the drill and the field at fault. A drill is
played as a call (``Gym.start_drill``) whose first lines are the drill's moment; after its
replies the call ends and passes when every reply scored at least ``pass_at`` on the drill's
dimension (``verdict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from roleplay.errors import InvalidInput
from roleplay.prompts import load_checked

DRILLS_FILE = "drills.yaml"


class DrillError(InvalidInput):
    """The drills cannot be used as written."""


class MomentLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rep: str | None = Field(default=None, min_length=1, max_length=400)
    prospect: str | None = Field(default=None, min_length=1, max_length=400)

    @model_validator(mode="after")
    def _one_speaker(self) -> MomentLine:
        if (self.rep is None) == (self.prospect is None):
            raise ValueError("each line of the moment is either 'rep: …' or 'prospect: …'")
        return self

    @property
    def speaker(self) -> str:
        return "rep" if self.rep is not None else "prospect"

    @property
    def text(self) -> str:
        return self.rep if self.rep is not None else self.prospect  # type: ignore[return-value]


class Drill(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{2,64}$")
    dimension: Literal["curiosity", "composure", "restraint"]
    title: str = Field(min_length=4, max_length=80)
    advice: str = Field(min_length=20, max_length=400)
    persona: str
    moment: list[MomentLine] = []
    replies: int = Field(default=3, ge=1, le=5)
    pass_at: int = Field(default=4, ge=1, le=5)

    @model_validator(mode="after")
    def _alternates(self) -> Drill:
        speakers = [line.speaker for line in self.moment]
        if any(a == b for a, b in zip(speakers, speakers[1:], strict=False)):
            raise ValueError("the moment's lines alternate between rep and prospect")
        if speakers and (speakers[0] != "rep" or speakers[-1] != "prospect"):
            raise ValueError("the moment starts with the rep's line (after the opening) and ends with the prospect's")
        return self


class Drills(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    drills: list[Drill] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_and_complete(self) -> Drills:
        ids = [d.id for d in self.drills]
        if twice := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"two drills with the id {', '.join(twice)}")
        covered = {drill.dimension for drill in self.drills}
        if missing := [d for d in ("curiosity", "composure", "restraint") if d not in covered]:
            raise ValueError("every habit needs a drill; missing: " + ", ".join(missing))
        return self

    def get(self, drill_id: str) -> Drill:
        for drill in self.drills:
            if drill.id == drill_id:
                return drill
        raise KeyError(f"unknown drill '{drill_id}'; known: {', '.join(d.id for d in self.drills)}")

    def for_dimension(self, dimension: str) -> Drill:
        """The first drill for ``dimension`` (the one the coach's report names)."""
        return next(d for d in self.drills if d.dimension == dimension)


def load_drills(path: Path, personas: Sequence[str] | None = None) -> Drills:
    """Load and validate the drills (a file, or the folder holding ``drills.yaml``); with
    ``personas`` (the ids known) each drill's persona must be one of them."""
    drills = load_checked(path / DRILLS_FILE if path.is_dir() else path, Drills, DrillError)
    if personas is not None:
        unknown = [f"{d.id}: no persona '{d.persona}'" for d in drills.drills if d.persona not in personas]
        if unknown:
            raise DrillError(f"{path}: " + "; ".join(unknown))
    return drills


def verdict(drill: Drill, scores: Sequence[int | None], hung_up: bool = False) -> bool | None:
    """Did the drill pass: every reply scored at least ``pass_at`` on its dimension? A reply
    below it, or the prospect hanging up, is a fail; ``None`` while it cannot be told yet (a
    reply not graded, replies still to give)."""
    if hung_up or any(s is not None and s < drill.pass_at for s in scores):
        return False
    if len(scores) < drill.replies or any(s is None for s in scores):
        return None
    return True
