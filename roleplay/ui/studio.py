"""The persona studio's tab: a YAML editor with live checks, versions, trials and publishing.

What each button does is ``roleplay.studio.Studio``'s; this module lays it out and escapes
every user text it shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from html import escape
from typing import Any

import gradio as gr

from roleplay import prompts
from roleplay.call import Gym
from roleplay.measure.simulation import row_cells
from roleplay.personas import Persona, PersonaError, persona_version
from roleplay.rendering import counted
from roleplay.studio import MAX_RUNS, TABLE_COLUMNS, Studio, StudioError
from roleplay.ui.views import brief_markdown

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


def voice_words(persona: Persona) -> str:
    """Which voice a persona speaks with and how fast, in words (for the preview's status)."""
    voice = persona.voice
    who = (f"the bundled voice {voice.name}" if voice.name else f"the voice {voice.path}" if voice.path
           else "the app's default voice")
    pace = "its own pace" if voice.rate == 1 else f"rate {voice.rate:g} ({abs(voice.rate - 1):.0%} " \
        f"{'faster' if voice.rate > 1 else 'slower'})"
    return f"{who} at {pace}"


def table_rows(rows: list[dict[str, Any]]) -> list[list[str | int]]:
    """Outcome rows as the cells of the studio's table (see ``TABLE_COLUMNS``)."""
    keys = [key for key, _ in TABLE_COLUMNS]
    return [row_cells(row, keys) for row in rows]


# --- The tab ------------------------------------------------------------------------------------

#: A component that shows the published personas, and the update that refreshes it.
Refresh = tuple[gr.components.Component, Callable[[], Any]]


def build_studio(demo: gr.Blocks, gym: Gym, refresh: list[Refresh] | None = None,
                 guard: Callable[[gr.Request], None] | None = None) -> Studio:
    """Build the persona studio's components in the current Blocks context (a tab of ``demo``).

    ``refresh`` lists components elsewhere in the app that show the published personas (the
    practice picker), each with the update that refreshes it; they are refreshed after every
    publish and when a page loads. ``guard`` runs first in every studio action and raises
    ``gr.Error`` for someone who may not use the studio (team mode: only enablement).
    """
    studio = Studio(gym)
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

    def preview_voice(text: str, current: str | None, request: gr.Request) -> tuple[Any, ...]:
        allow(request)
        try:
            persona, speech = studio.preview_voice(text or "", label(current))
        except PersonaError as exc:
            return None, _fault("Not spoken: the draft has problems (listed below)."), problems_html(exc)
        except StudioError as exc:
            return None, _fault(str(exc)), gr.update()
        return speech.pcm, _ok(f"{persona.name}'s opening line in {voice_words(persona)}: {speech.duration_s:.1f} s "
                               f"of audio, made in {speech.seconds:.1f} s. Nothing was saved."), gr.update()

    def try_it(text: str, current: str | None, scripts: list[str] | None, runs: float | None,
               request: gr.Request) -> Iterator[tuple]:
        allow(request)
        try:
            persona = studio.check(text or "", label(current))
        except PersonaError as exc:
            yield [], _fault(f"Fix the draft first: {counted(len(exc.problems), 'problem')}, listed under the editor.")
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
                yield table_rows(rows), _ok(f"Played {len(rows)} of {counted(len(scripts), 'script')}…")
        except StudioError as exc:
            yield table_rows(rows), _fault(str(exc))
            return
        yield table_rows(rows), _ok(
            f"Played {counted(len(scripts), 'script')} × {counted(count, 'run')} against the draft of {persona.id} "
            f"(version {persona_version(persona)}, not published) in {time.monotonic() - started:.1f} s. "
            "Grading skipped.")

    prefill = guard is None
    initial_text = studio.published_text(first) if prefill else ""
    initial = check_draft(initial_text, first) if prefill else ("", "", "")
    scripts = studio.script_names()

    current = gr.State(first)
    gr.Markdown("Write a prospect without code: open a persona or start a new one from it, edit the YAML "
                "(see `roleplay/content/personas/README.md` for every field), check it, try it against scripted reps, "
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
                with gr.Row():
                    voice_btn = gr.Button("Preview voice", elem_id="studio-preview-voice", scale=0, min_width=160)
                    voice_status = gr.HTML("", elem_id="studio-voice-status")
                voice_audio = gr.Audio(None, type="numpy", interactive=False, autoplay=True,
                                       label="The opening line in this draft's voice", elem_id="studio-voice-audio")
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
    # One preview at a time: Piper takes both cores for the half second it speaks.
    voice_btn.click(preview_voice, [editor, current], [voice_audio, voice_status, problems],
                    api_name="studio_preview_voice", concurrency_limit=1)
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
