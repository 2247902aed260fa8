"""Grading runs kept case by case, so a long run can be watched, survives a crash and resumes.

A run is a folder under ``evals/results/runs/``: ``run.json`` says what is graded (the golden
file and its sha256, the backend, the model) and ``cases.jsonl`` gets one line per graded case
the moment it is graded. ``roleplay eval grading --resume RUN`` reads the folder back, grades
only the cases missing from it and writes the same report an uninterrupted run would. A line cut
short by a crash is dropped on resume and that case is graded again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from roleplay.errors import InvalidInput
from roleplay.judge.grading import Grade

RUN_FILE = "run.json"
CASES_FILE = "cases.jsonl"


class RunError(InvalidInput):
    """A run cannot be resumed as asked; the message says why."""


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Run:
    """One grading run's folder: what it grades, and the cases graded so far."""

    folder: Path
    about: dict[str, str]

    @property
    def name(self) -> str:
        return self.folder.name

    @classmethod
    def start(cls, results_dir: Path, gold: Path, backend: str, model: str) -> Run:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = results_dir / "runs" / f"{stamp}-{gold.stem}-{backend}"
        for n in range(2, 100):  # two runs started in the same second
            if not folder.exists():
                break
            folder = folder.with_name(f"{stamp}-{gold.stem}-{backend}-{n}")
        folder.mkdir(parents=True)
        about = {"gold": str(gold), "gold_sha256": file_sha256(gold), "backend": backend, "model": model,
                 "started": stamp}
        (folder / RUN_FILE).write_text(json.dumps(about, indent=1), encoding="utf-8")
        (folder / CASES_FILE).touch()
        return cls(folder, about)

    @classmethod
    def resume(cls, ref: str, results_dir: Path, gold: Path, backend: str) -> Run:
        """The run named ``ref`` (its folder, or its name under ``results_dir/runs``), checked to
        grade the same golden file, unchanged, on the same backend."""
        folder = Path(ref) if Path(ref).is_dir() else results_dir / "runs" / ref
        if not (folder / RUN_FILE).is_file():
            raise RunError(f"no run at {folder} (give a folder under {results_dir / 'runs'} or its name)")
        about = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        if Path(about["gold"]).resolve() != gold.resolve() or about["gold_sha256"] != file_sha256(gold):
            raise RunError(f"run {folder.name} graded {about['gold']} as it was then; resume it with that file "
                           "unchanged, or start a new run")
        if about["backend"] != backend:
            raise RunError(f"run {folder.name} graded on the {about['backend']} backend, not {backend}; "
                           f"resume it with --backend {about['backend']}")
        return cls(folder, about)

    def graded(self) -> dict[str, Grade]:
        """The cases graded so far, by id (a last line cut short by a crash is left out)."""
        out = {}
        for line in (self.folder / CASES_FILE).read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[entry["id"]] = Grade.model_validate(entry["grade"])
        return out

    def recorder(self):
        """A thread-safe function that appends one graded case and makes sure it is on disk."""
        lock = threading.Lock()
        path = self.folder / CASES_FILE

        def record(case_id: str, grade: Grade) -> None:
            line = json.dumps({"id": case_id, "grade": grade.model_dump(mode="json")}) + "\n"
            with lock, path.open("a", encoding="utf-8") as out:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())

        return record
