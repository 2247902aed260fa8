"""The persona studio: enablement teams write, check, version, try and publish personas in the app.

A draft is persona YAML in an editor. Every check is the validation ``roleplay personas
validate`` runs (``parse_persona``), so the studio shows the same problems, each with its
field and fix; a valid draft shows the brief the rep will read and the system prompt the
prospect's model will get.

- **Save as new version** keeps the draft under ``data_dir/personas/<id>/<version>.yaml``,
  where the version is the persona's content hash (``persona_version``, which every session
  records), and never touches the published file.
- **Try it** plays scripted reps (``evals/rep_scripts/``) against the draft with the gym's
  prospect model, ungraded, in a throwaway in-memory database, and shows the outcome table.
- **Publish** saves the version and writes it to ``personas_dir/<id>.yaml`` (only a valid
  persona, replaced atomically, so the folder is valid at all times); new calls use it at once.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr
import yaml

from roleplay import prompts
from roleplay.calls import Gym
from roleplay.personas import Persona, PersonaError, parse_persona, persona_version
from roleplay.simulation import REP_SCRIPTS, load_rep_script, outcome_row, rep_script_names, row_cells, simulate
from roleplay.storage import create_store
from roleplay.views import brief_markdown

#: The most runs of each script one "Try it" may ask for.
MAX_RUNS = 10

#: The columns of the studio's outcome table: row key (see ``simulation.outcome_row``), heading.
TABLE_COLUMNS: list[tuple[str, str]] = [
    ("persona", "persona"), ("script", "script"), ("runs", "runs"), ("agreed", "agreed"),
    ("closed", "door closed"), ("not_now", "not now"), ("open", "door open"), ("hung_up", "hung up"),
    ("broke", "broke character"), ("facts", "facts revealed"), ("turns", "turns"),
]

_ID_LINE = re.compile(r"^id:[^\n]*$", re.MULTILINE)
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")
_VERSION = re.compile(r"[0-9a-f]{12}")


class StudioError(ValueError):
    """A studio action cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Version:
    """One saved version of a persona."""

    persona_id: str
    version: str
    path: Path
    saved_at: datetime

    @property
    def key(self) -> str:
        """``<id>/<version>``: names the version in the studio's version picker."""
        return f"{self.persona_id}/{self.version}"


def with_id(text: str, new_id: str) -> str:
    """Persona YAML ``text`` with its top-level ``id`` set to ``new_id`` (comments elsewhere kept).

    An id that is not a plain word is written quoted, so it can only ever be the id's value;
    whether it is a valid id is for the validation to say.
    """
    value = new_id if _PLAIN_ID.fullmatch(new_id) else json.dumps(new_id)
    replaced, count = _ID_LINE.subn(lambda _: f"id: {value}", text, count=1)
    if count:
        return replaced
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise StudioError("The persona to copy is not a mapping of fields.")
    data["id"] = new_id
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _normalise(text: str) -> str:
    """Draft text as it is stored: Unix line ends and one final newline."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part.

    The temporary file's name starts with ``_`` and ends in ``.tmp``, so it is never read as a
    persona meanwhile.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f"_{path.stem}.",
                                     suffix=".tmp", delete=False) as tmp:
        tmp.write(text)
    try:
        os.replace(tmp.name, path)
    except OSError:
        Path(tmp.name).unlink(missing_ok=True)
        raise


class Studio:
    """What the studio tab does, over one gym: drafts, versions, trials and publishing."""

    def __init__(self, gym: Gym, scripts_dir: Path = REP_SCRIPTS):
        self.gym = gym
        self.scripts_dir = scripts_dir

    @property
    def versions_dir(self) -> Path:
        return self.gym.settings.data_dir / "personas"

    def published_path(self, persona_id: str) -> Path:
        return self.gym.settings.personas_dir / f"{persona_id}.yaml"

    def published_text(self, persona_id: str) -> str:
        """The published YAML of ``persona_id``, as its author wrote it (comments included)."""
        persona = self.gym.personas.get(persona_id)
        if persona is None:
            raise StudioError(f"There is no published persona '{persona_id}'.")
        try:
            return self.published_path(persona_id).read_text(encoding="utf-8")
        except OSError:  # loaded at start, the file has gone since: the loaded persona is the truth
            return yaml.safe_dump(persona.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)

    def template(self, source_id: str, new_id: str) -> str:
        """A new persona's YAML: a copy of published ``source_id`` with the id ``new_id``."""
        new_id = new_id.strip()
        if not new_id:
            raise StudioError("Type an id for the new persona first (lower_snake_case, e.g. gatekeeper_monday).")
        if new_id in self.gym.personas or self.published_path(new_id).exists():
            raise StudioError(f"The id '{new_id}' is already used by a published persona. Pick another id, "
                              "or open that persona to edit it.")
        return with_id(self.published_text(source_id), new_id)

    @staticmethod
    def check(text: str, source: str = "draft") -> Persona:
        """Validate a draft exactly like ``roleplay personas validate``; raise ``PersonaError``."""
        return parse_persona(text, source)

    def prompt_preview(self, persona: Persona) -> str:
        """The system prompt the prospect's model gets for ``persona`` (``prompts/prospect_system.md``)."""
        return prompts.render(self.gym.settings.prompts_dir, "prospect_system.md", persona=persona)

    def versions(self, persona_id: str) -> list[Version]:
        """The saved versions of ``persona_id``, newest first."""
        directory = self.versions_dir / persona_id
        if not _PLAIN_ID.fullmatch(persona_id) or not directory.is_dir():
            return []
        found = [
            Version(persona_id, path.stem, path, datetime.fromtimestamp(path.stat().st_mtime, UTC))
            for path in directory.glob("*.yaml") if _VERSION.fullmatch(path.stem)
        ]
        return sorted(found, key=lambda v: (v.saved_at, v.version), reverse=True)

    def version(self, key: str) -> Version:
        """The saved version named ``<id>/<version>`` (see ``Version.key``)."""
        persona_id, _, version = (key or "").partition("/")
        for saved in self.versions(persona_id):
            if saved.version == version:
                return saved
        raise StudioError(f"There is no saved version '{key}'.")

    def save(self, text: str, source: str = "draft") -> tuple[Persona, Version, bool]:
        """Save a valid draft as a version of its persona; the published file is not touched.

        Returns the persona, its version and whether it is new (a draft equal to a saved
        version, comments and layout aside, is not saved twice). Raises ``PersonaError``
        naming ``source``.
        """
        text = _normalise(text)
        persona = self.check(text, source)
        version = persona_version(persona)
        path = self.versions_dir / persona.id / f"{version}.yaml"
        created = not path.exists()
        if created:
            _write_atomic(path, text)
        saved = Version(persona.id, version, path, datetime.fromtimestamp(path.stat().st_mtime, UTC))
        return persona, saved, created

    def publish(self, text: str, source: str = "draft") -> tuple[Persona, Version, str | None]:
        """Save the draft as a version and publish it: ``personas_dir/<id>.yaml``, used by new calls.

        Only a valid draft is written (raises ``PersonaError`` naming ``source`` otherwise),
        and the file is replaced atomically. Returns the persona, its version and the version
        it replaced (``None`` for a new persona).
        """
        text = _normalise(text)
        persona, saved, _ = self.save(text, source)
        previous = self.gym.personas.get(persona.id)
        _write_atomic(self.published_path(persona.id), text)
        self.gym.add_persona(persona)
        return persona, saved, persona_version(previous) if previous else None

    def script_names(self) -> list[str]:
        return rep_script_names(self.scripts_dir)

    def try_draft(self, persona: Persona, scripts: list[str], runs: int = 1) -> Iterator[dict[str, Any]]:
        """Play each of ``scripts`` ``runs`` times against ``persona``; yield one outcome row per script.

        Uses the gym's models and skips grading and the coach's report; the calls go to a
        throwaway in-memory database, so practice sessions never show trials.
        """
        known = set(self.script_names())
        if unknown := [name for name in scripts if name not in known]:
            raise StudioError(f"Unknown rep script(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        if not 1 <= runs <= MAX_RUNS:
            raise StudioError(f"Runs must be between 1 and {MAX_RUNS}.")
        trial = Gym(self.gym.settings, store=create_store("sqlite://"), models=self.gym.models)
        try:
            for name in scripts:
                script = load_rep_script(self.scripts_dir / f"{name}.json")
                outcomes = [simulate(trial.settings, persona, script, gym=trial, report=False, grade=False)
                            for _ in range(runs)]
                yield outcome_row(persona.id, name, outcomes)
        finally:
            trial.close()


# --- Views (every user text escaped) ----------------------------------------------------------


def problems_html(error: PersonaError) -> str:
    """Every problem of a draft as an HTML table: file, field, what is wrong, how to fix it."""
    rows = "".join(
        f"<tr><td>{escape(error.path)}</td><td><code>{escape(field)}</code></td><td>{escape(message)}</td>"
        f"<td>{escape(fix)}</td></tr>"
        for field, message, fix in error.problems
    )
    count = len(error.problems)
    return (f'<p class="rp-fault">⚠️ {count} problem{"s" if count != 1 else ""}: fix '
            f'{"them" if count != 1 else "it"} to save, try or publish this draft.</p>'
            f'<table class="rp-problems"><thead><tr><th>File</th><th>Field</th><th>Problem</th><th>Fix</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>")


def _ok(text: str) -> str:
    return f'<p class="rp-ok">✅ {escape(text)}</p>'


def _fault(text: str) -> str:
    return f'<p class="rp-fault">⚠️ {escape(text)}</p>'


def table_rows(rows: list[dict[str, Any]]) -> list[list[str | int]]:
    """Outcome rows as the cells of the studio's table (see ``TABLE_COLUMNS``)."""
    keys = [key for key, _ in TABLE_COLUMNS]
    return [row_cells(row, keys) for row in rows]


# --- The tab ------------------------------------------------------------------------------------

#: A component that shows the published personas, and the update that refreshes it.
Refresh = tuple[gr.components.Component, Callable[[], Any]]


def build_studio(demo: gr.Blocks, gym: Gym, refresh: list[Refresh] | None = None,
                 scripts_dir: Path = REP_SCRIPTS, guard: Callable[[gr.Request], None] | None = None) -> Studio:
    """Build the persona studio's components in the current Blocks context (a tab of ``demo``).

    ``refresh`` lists components elsewhere in the app that show the published personas (the
    practice picker), each with the update that refreshes it; they are refreshed after every
    publish and when a page loads. ``guard`` runs first in every studio action and raises
    ``gr.Error`` for someone who may not use the studio (team mode: only enablement).
    """
    studio = Studio(gym, scripts_dir)
    allow = guard or (lambda request: None)
    refresh = refresh or []
    first = next(iter(gym.personas))

    def source_choices() -> list[tuple[str, str]]:
        return [(f"{p.id} — {p.name}", p.id) for p in gym.personas.values()]

    def version_choices(persona_id: str) -> list[tuple[str, str]]:
        current = gym.personas.get(persona_id)
        live = persona_version(current) if current else None
        return [(f"{v.version} · saved {v.saved_at:%Y-%m-%d %H:%M} UTC" + (" · published" if v.version == live else ""),
                 v.key) for v in studio.versions(persona_id)]

    def label(current: str | None) -> str:
        return f"{current or 'new'}.yaml (draft)"

    def check(text: str, current: str | None, request: gr.Request) -> tuple[Any, ...]:
        allow(request)
        return check_draft(text, current)

    def check_draft(text: str, current: str | None) -> tuple[Any, ...]:
        try:
            persona = studio.check(text or "", label(current))
        except PersonaError as exc:
            return (problems_html(exc), "*The brief shows here once the draft is valid.*",
                    "(The prompt shows here once the draft is valid.)",
                    *[gr.update(interactive=False)] * 3)
        try:
            prompt = studio.prompt_preview(persona)
        except prompts.PromptError as exc:
            prompt = f"(The prompt cannot be rendered: {exc})"
        valid = _ok(f"Valid: version {persona_version(persona)}. Save it, try it or publish it.")
        return valid, brief_markdown(persona), prompt, *[gr.update(interactive=True)] * 3

    def open_persona(persona_id: str, request: gr.Request) -> tuple[Any, ...]:
        allow(request)
        try:
            text = studio.published_text(persona_id)
        except StudioError as exc:
            return gr.update(), gr.update(), gr.update(), _fault(str(exc))
        return (text, persona_id, gr.update(choices=version_choices(persona_id), value=None),
                _ok(f"Opened the published {persona_id}. Your changes stay a draft until you publish."))

    def new_persona(source_id: str, new_id: str, request: gr.Request) -> tuple[Any, ...]:
        allow(request)
        try:
            text = studio.template(source_id, new_id or "")
        except StudioError as exc:
            return gr.update(), gr.update(), gr.update(), _fault(str(exc))
        new_id = new_id.strip()
        return (text, new_id, gr.update(choices=version_choices(new_id), value=None),
                _ok(f"New persona {new_id}, copied from {source_id}. Change the words and numbers, then save."))

    def open_version(key: str | None, request: gr.Request) -> tuple[Any, ...]:
        allow(request)
        try:
            saved = studio.version(key or "")
        except StudioError as exc:
            return gr.update(), gr.update(), _fault(str(exc))
        return (saved.path.read_text(encoding="utf-8"), saved.persona_id,
                _ok(f"Opened version {saved.version} of {saved.persona_id}."))

    def save(text: str, current: str | None, request: gr.Request) -> tuple[Any, ...]:
        allow(request)
        try:
            persona, saved, created = studio.save(text or "", label(current))
        except PersonaError as exc:
            return _fault("Not saved: the draft has problems (listed below)."), gr.update(), gr.update(), \
                problems_html(exc)
        except OSError as exc:
            return _fault(f"Not saved: {exc}"), gr.update(), gr.update(), gr.update()
        message = (f"Saved {persona.id} as version {saved.version}. The published persona is unchanged."
                   if created else f"Nothing new to save: this is version {saved.version} of {persona.id}.")
        return (_ok(message), persona.id, gr.update(choices=version_choices(persona.id), value=saved.key),
                gr.update())

    def publish(text: str, current: str | None, request: gr.Request) -> tuple[Any, ...]:
        allow(request)
        try:
            persona, saved, previous = studio.publish(text or "", label(current))
        except PersonaError as exc:
            return (_fault("Not published: the draft has problems (listed below). The published persona is "
                           "unchanged."), problems_html(exc), gr.update(), gr.update(), gr.update(),
                    *[gr.update() for _ in refresh])
        except OSError as exc:
            return (_fault(f"Not published: {exc}"), gr.update(), gr.update(), gr.update(), gr.update(),
                    *[gr.update() for _ in refresh])
        replaced = f", replacing version {previous}" if previous and previous != saved.version else ""
        message = (f"Published {persona.id} (version {saved.version}{replaced}) to "
                   f"{studio.published_path(persona.id).name}. New practice calls use it now.")
        return (_ok(message), gr.update(), gr.update(choices=source_choices(), value=persona.id), persona.id,
                gr.update(choices=version_choices(persona.id), value=saved.key), *[fn() for _, fn in refresh])

    def try_it(text: str, current: str | None, scripts: list[str] | None, runs: float | None,
               request: gr.Request) -> Iterator[tuple]:
        allow(request)
        try:
            persona = studio.check(text or "", label(current))
        except PersonaError as exc:
            yield [], _fault(f"Fix the draft first: {len(exc.problems)} problem(s), listed under the editor.")
            return
        scripts = list(scripts or [])
        if not scripts:
            yield [], _fault("Pick at least one rep script to play.")
            return
        count = int(runs or 1)
        rows: list[dict[str, Any]] = []
        started = time.monotonic()
        try:
            for row in studio.try_draft(persona, scripts, count):
                rows.append(row)
                yield table_rows(rows), _ok(f"Played {len(rows)} of {len(scripts)} script(s)…")
        except StudioError as exc:
            yield table_rows(rows), _fault(str(exc))
            return
        yield table_rows(rows), _ok(
            f"Played {len(scripts)} script(s) × {count} run(s) against the draft of {persona.id} "
            f"(version {persona_version(persona)}, not published) in {time.monotonic() - started:.1f} s. "
            "Grading skipped.")

    prefill = guard is None
    initial_text = studio.published_text(first) if prefill else ""
    initial = check_draft(initial_text, first) if prefill else ("", "", "")
    scripts = studio.script_names()

    current = gr.State(first)
    gr.Markdown("Write a prospect without code: open a persona or start a new one from it, edit the YAML "
                "(see `personas/README.md` for every field), check it, try it against scripted reps, "
                "save versions and publish it to the Practice tab.")
    # In team mode the studio stays empty and hidden until the page's load event finds an
    # enablement account: a persona's hidden facts are what a rep is meant to discover.
    notice = gr.Markdown("The persona studio is for the enablement team.", visible=not prefill,
                         elem_id="studio-notice")
    with gr.Column(visible=prefill, elem_id="studio-body") as body:
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                # Choices go stale in open tabs when another one publishes; open_persona() checks the id.
                source = gr.Dropdown(choices=source_choices(), value=first, label="Persona", elem_id="studio-persona",
                                     allow_custom_value=True)
                open_btn = gr.Button("Edit this persona", elem_id="studio-open")
                new_id = gr.Textbox(label="New persona id", placeholder="e.g. gatekeeper_monday",
                                    elem_id="studio-new-id")
                new_btn = gr.Button("New from this persona", elem_id="studio-new")
                versions = gr.Dropdown(choices=version_choices(first), value=None, label="Saved versions",
                                       elem_id="studio-versions")
                version_btn = gr.Button("Open version", elem_id="studio-open-version")
                status = gr.HTML("", elem_id="studio-status")
            with gr.Column(scale=2, min_width=420):
                editor = gr.Code(initial_text, language="yaml", label="Persona YAML (draft)", lines=28, max_lines=60,
                                 interactive=True, elem_id="studio-yaml")
                with gr.Row():
                    check_btn = gr.Button("Check", elem_id="studio-check")
                    save_btn = gr.Button("Save as new version", elem_id="studio-save")
                    publish_btn = gr.Button("Publish", variant="primary", elem_id="studio-publish")
                problems = gr.HTML(initial[0], elem_id="studio-problems")
            with gr.Column(scale=1, min_width=300):
                gr.Markdown("### The brief the rep reads")
                brief = gr.Markdown(initial[1], elem_id="studio-brief")
                prompt = gr.Code(initial[2], language="markdown", interactive=False, lines=16, max_lines=40,
                                 label="What the prospect's model gets (prompts/prospect_system.md)",
                                 elem_id="studio-prompt")
        with gr.Accordion("Try it: scripted reps against this draft", open=True):
            with gr.Row():
                picked = gr.CheckboxGroup(choices=scripts, value=scripts, label="Rep scripts", elem_id="studio-scripts")
                runs = gr.Slider(1, MAX_RUNS, value=1, step=1, label="Runs per script", elem_id="studio-runs")
                try_btn = gr.Button("Try it", elem_id="studio-try")
            try_status = gr.HTML("", elem_id="studio-try-status")
            table = gr.Dataframe(headers=[head for _, head in TABLE_COLUMNS], value=[], interactive=False,
                                 wrap=True, elem_id="studio-table")


    buttons = [save_btn, try_btn, publish_btn]
    check_outputs = [problems, brief, prompt, *buttons]
    editor.change(check, [editor, current], check_outputs, api_name=False, trigger_mode="always_last",
                  show_progress="hidden")
    check_btn.click(check, [editor, current], check_outputs, api_name="studio_check")
    open_btn.click(open_persona, source, [editor, current, versions, status], api_name="studio_open")
    new_btn.click(new_persona, [source, new_id], [editor, current, versions, status], api_name="studio_new")
    version_btn.click(open_version, versions, [editor, current, status], api_name="studio_open_version")
    save_btn.click(save, [editor, current], [status, current, versions, problems], api_name="studio_save")
    publish_btn.click(publish, [editor, current],
                      [status, problems, source, current, versions, *[component for component, _ in refresh]],
                      api_name="studio_publish")
    try_btn.click(try_it, [editor, current, picked, runs], [table, try_status], api_name="studio_try",
                  concurrency_limit=1)

    def on_load(request: gr.Request) -> tuple[Any, ...]:
        common = (gr.update(choices=source_choices()), *[fn() for _, fn in refresh])
        if prefill:
            return (*common, gr.update(), gr.update(), gr.update(), *[gr.update()] * len(check_outputs))
        try:
            allow(request)
        except gr.Error:
            return (*common, gr.update(visible=True), gr.update(visible=False), gr.update(),
                    *[gr.update()] * len(check_outputs))
        text = studio.published_text(first)
        return (*common, gr.update(visible=False), gr.update(visible=True), text, *check_draft(text, first))

    demo.load(on_load, None, [source, *[component for component, _ in refresh], notice, body, editor,
                              *check_outputs], api_name=False)
    return studio
