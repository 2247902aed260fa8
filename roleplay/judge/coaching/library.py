"""The coaching library: per dimension and score, what the reply did, why it matters and a line
to try instead. Kept as YAML beside the prompts so enablement can edit it without Python;
loading validates it and names the entry and the field at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from roleplay.errors import InvalidInput
from roleplay.prompts import load_checked
from roleplay.understanding import Reading

Dimension = Literal["curiosity", "composure", "restraint"]
#: Readings an entry may be limited to (see ``applies``).
When = Literal["servile", "asks", "after_refusal", "before_refusal", "no_objection", "stop_requested", "time_short"]
LIBRARY_FILE = "coaching.yaml"


class LibraryError(InvalidInput):
    """The coaching library cannot be used as written."""


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dimension: Dimension
    score: int = Field(ge=1, le=5)
    #: The reading(s) the entry is limited to; with a list, all must apply.
    when: When | tuple[When, ...] | None = None
    saw: str = Field(min_length=8, max_length=140)
    keep: str | None = Field(default=None, max_length=160)
    why: str | None = Field(default=None, max_length=160)
    try_instead: str | None = Field(default=None, max_length=160)

    @model_validator(mode="after")
    def _fits_its_score(self) -> Entry:
        if self.score >= 4 and not self.keep:
            raise ValueError("a score of 4 or 5 needs 'keep' (what to keep doing)")
        if self.score <= 3 and not (self.why and self.try_instead):
            raise ValueError("a score of 1 to 3 needs 'why' and 'try_instead'")
        if not self.saw.startswith("You "):
            raise ValueError("'saw' speaks to the rep: start it with \"You \"")
        return self

    def applies(self, reading: Reading) -> bool:
        s = reading.structure
        holds = {
            "servile": reading.servile >= 0.5,
            "asks": reading.asks_for_commitment,
            "after_refusal": s.refusals_before > 0,
            "before_refusal": s.refusals_before == 0,
            "no_objection": s.refusals_before == 0 and not s.objection_last,
            "stop_requested": s.stop_requested,
            "time_short": s.time_short,
        }
        when = (self.when,) if isinstance(self.when, str) else self.when or ()
        return all(holds[w] for w in when)


class CoachingLibrary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    entries: list[Entry]

    @model_validator(mode="after")
    def _covers_every_score(self) -> CoachingLibrary:
        plain = {(e.dimension, e.score) for e in self.entries if e.when is None}
        missing = [f"{d} {s}" for d in ("curiosity", "composure", "restraint") for s in range(1, 6)
                   if (d, s) not in plain]
        if missing:
            raise ValueError("every dimension and score needs an entry without 'when'; missing: " + ", ".join(missing))
        seen: set[tuple[str, int, str | tuple[str, ...] | None]] = set()
        for e in self.entries:
            key = (e.dimension, e.score, e.when)
            if key in seen:
                when = e.when if isinstance(e.when, str) else " and ".join(e.when or ())
                raise ValueError(f"two entries for {e.dimension} {e.score}" + (f" when {when}" if when else ""))
            seen.add(key)
        return self

    def entry(self, dimension: str, score: int, reading: Reading) -> Entry:
        """The entry for this score that applies to the reading: the first with a ``when`` that
        applies, in file order, else the plain one."""
        candidates = [e for e in self.entries if e.dimension == dimension and e.score == score and e.applies(reading)]
        return max(candidates, key=lambda e: e.when is not None)


def load_library(path: Path) -> CoachingLibrary:
    """Load and validate a coaching library; problems are raised as one readable ``LibraryError``."""
    return load_checked(path / LIBRARY_FILE if path.is_dir() else path, CoachingLibrary, LibraryError)
