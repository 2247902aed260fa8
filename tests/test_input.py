"""Hostile and odd input: empty, huge, control characters, emoji, any script, markup, broken personas.

What a rep types is stored exactly (less control characters) and shown exactly, as text: in
the chat, the score cards and the report, HTML is escaped and Markdown's marks too, so no
message becomes a tag, a script, a link or an image. Persona files, however broken, give a
``PersonaError`` naming the file and the field, never another exception.
"""

from __future__ import annotations

import html
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from roleplay import content
from roleplay.call import Gym, InputError, clean_message
from roleplay.config import Settings
from roleplay.judge.coach import Moment, Report
from roleplay.judge.grading import Dimension, DimensionGrade, Grade
from roleplay.personas import Persona, PersonaError, load_persona, parse_persona, validate_paths
from roleplay.rendering import plain, report_markdown
from roleplay.transcript import Line
from roleplay.ui.views import brief_markdown, chat_messages, grade_card, scores_html

from .conftest import PROJECT_ROOT, App
from .test_app import PERSONA, call, lines, poll, send, start

QUESTION = "What made Fleetly the right fit?"

# --- Empty, huge and control characters -------------------------------------------------------

EMPTY = ["", " ", "\n\t \r\n", "\u00a0\u3000", "\u200b\u200d", "\x00\x1b\x07\x7f", "\u202e", None]


@pytest.mark.parametrize("text", EMPTY, ids=repr)
def test_empty_and_invisible_messages_are_refused(gym: Gym, text: str | None) -> None:
    call_ = gym.start(PERSONA)
    with pytest.raises(InputError, match="the message is empty"):
        call_.say(text)  # type: ignore[arg-type]
    assert len(gym.store.get_session(call_.id).turns) == 1
    assert call_.say(QUESTION).text  # the call goes on


def test_the_documented_limit_is_enforced_with_a_message(gym: Gym) -> None:
    limit = gym.settings.max_message_chars
    assert limit == 2000
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "max_message_chars" in readme and "2,000" in readme
    call_ = gym.start(PERSONA)
    with pytest.raises(InputError) as info:
        call_.say("x" * 50_000)
    assert str(info.value) == ("That message is 50,000 characters; the limit is 2,000. "
                               "On a call, say it in a few sentences.")
    with pytest.raises(InputError, match="2,001 characters"):
        call_.say("y" * (limit + 1))
    assert len(gym.store.get_session(call_.id).turns) == 1
    call_.say("z" * limit)  # exactly the limit is fine
    assert len(gym.store.get_session(call_.id).turns[1].text) == limit


def test_the_limit_is_a_setting(settings: Settings, new_gym: Callable[..., Gym]) -> None:
    gym = new_gym(settings.model_copy(update={"max_message_chars": 40}))
    call_ = gym.start(PERSONA)
    with pytest.raises(InputError, match="the limit is 40"):
        call_.say("Could you tell me more about how dispatch works today?")


def test_a_huge_message_in_the_app_is_refused_and_given_back(serve: Callable[..., App]) -> None:  # noqa: F811
    app = serve()
    client = app.client()
    started = start(client)
    huge = ("Let me explain." * 3334)[:50_000]
    out = send(client, huge)
    assert "That message is 50,000 characters; the limit is 2,000" in out["status"]
    assert out["chat"] == started["chat"] and out["msg"] == huge
    assert len(app.turns(app.session_id())) == 1
    out = send(client, QUESTION)
    assert lines(out["chat"])[-2] == ("user", QUESTION) and "limit" not in out["status"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Hi\x00 Dana,\x07 what\x1b[31m made\x7f you choose them?", "Hi Dana, what[31m made you choose them?"),
        ("First line\r\nsecond line\rthird\u2028fourth", "First line\nsecond line\nthird\nfourth"),
        ("\ufeffWhat \u202eevil\u202c made \u2066you\u2069 pick them?", "What evil made you pick them?"),
        ("Lone \ud800surrogate?", "Lone surrogate?"),
        ("\t  indented question?\t\n", "indented question?"),
    ],
    ids=["c0-controls", "newlines", "bom-and-bidi", "surrogate", "outer-space"],
)
def test_control_characters_are_removed_and_the_rest_is_kept(gym: Gym, typed: str, stored: str) -> None:
    call_ = gym.start(PERSONA)
    result = call_.say(typed)
    assert gym.store.get_session(call_.id).turns[1].text == stored
    assert result.text


# --- Emoji and any script are stored and shown intact -------------------------------------------

INTACT = [
    "Totally fair 👍🏽 — what made you pick them? 🤔",
    "👨‍👩‍👧‍👦 ❤️ 🫨 🇩🇪 1️⃣",  # joiners, variation selectors, flags, keycaps, a newer emoji
    "Verstehe. Was hat den Ausschlag für Fleetly gegeben? Äöüß",
    "なるほど。\u3000何が決め手でしたか？",  # with an ideographic space
    "明白了。是什么让你们选择了 Fleetly？",
    "Понятно. Почему вы выбрали Fleetly?",
    "مفهوم. ما الذي جعلكم تختارون Fleetly؟",
    "می\u200cخواهم بدانم چرا Fleetly را انتخاب کردید؟",  # Persian, with a zero-width non-joiner
    "समझ गया। आपने Fleetly क्यों चुना?",
    "Entendido. ¿Qué los llevó a elegir a Fleetly? Ça va ? Ñandú",
    "'; DROP TABLE turns; -- and 1=1 OR \"x\"=\"x\"",
]


@pytest.mark.parametrize("text", INTACT)
def test_any_script_and_emoji_are_stored_exactly(gym: Gym, text: str) -> None:
    call_ = gym.start(PERSONA)
    call_.say(text)
    record = gym.store.get_session(call_.id)
    assert record.turns[1].text == text
    (grade,) = call_.grades(wait=10).values()
    assert grade is not None
    report = call_.end(grade_timeout=10)
    assert gym.store.get_session(call_.id).report["replies"] == 1
    assert text in rendered_text(report_markdown(report, call_.persona.name)) or not report.strongest


def test_any_script_and_emoji_are_shown_exactly_in_the_app(serve: Callable[..., App]) -> None:  # noqa: F811
    app = serve()
    client = app.client()
    start(client)
    sent = INTACT[:4]
    for text in sent:
        out = send(client, text)
        assert lines(out["chat"])[-2] == ("user", text)
    scores = poll(lambda: send(client, "")["scores"], lambda h: "Grading…" not in h)
    for text in sent:
        assert html.escape(text) in scores
    assert [t.text for t in app.turns(app.session_id()) if t.speaker == "rep"] == sent


# --- Markup is shown as text and never run ------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "<a href='javascript:alert(1)'>click</a>",
    "<iframe src=//127.0.0.1/evil></iframe>",
    "[click me](javascript:alert(1))",
    "![tracker](https://127.0.0.1/pixel.png)",
    "<https://127.0.0.1/autolink>",
    "**bold** _em_ `code` ~~gone~~ # heading",
    "| a | b |\n|---|---|\n| c | d |",
    "1. first\n- second\n---",
    "&lt;script&gt; &#60;b&#62; \\[escaped\\]",
    "{{ 7*7 }} {% raw %} ${7*7}",
]

#: Markdown rendered as the most permissive renderer would (raw HTML allowed, GFM tables).
MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
#: The only tags a rendered view may contain: structure, no attributes, nothing active.
SAFE_TAG = re.compile(r"</?(?:p|strong|em|h2|br|div|span)(?: class=\"rp-[a-z0-9 -]+\")?(?: title=\"\w+\")?\s*/?>")


def rendered_text(markdown: str) -> str:
    """What a reader sees of ``markdown``; fails if rendering it made anything but plain structure."""
    rendered = MARKDOWN.render(markdown)
    return visible_text(rendered)


def visible_text(markup: str) -> str:
    tags = re.findall(r"<[^>]*>", markup)
    unsafe = [t for t in tags if not SAFE_TAG.fullmatch(t)]
    assert not unsafe, f"active or unexpected markup {unsafe} in {markup!r}"
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


@pytest.mark.parametrize("text", HOSTILE)
def test_markup_is_stored_as_typed_and_every_view_shows_it_as_text(gym: Gym, text: str) -> None:
    call_ = gym.start(PERSONA)
    call_.say(text)
    assert gym.store.get_session(call_.id).turns[1].text == text  # stored exactly; escaped when shown

    (message,) = chat_messages([Line(speaker="rep", text=text)])
    assert rendered_text(message["content"]).strip() == text.strip()
    assert rendered_text(plain(text)).strip() == text.strip()

    hostile = DimensionGrade(score=3, model_score=3, evidence=text, note=text)
    card = grade_card(1, text, Grade(scored=True, dimensions=dict.fromkeys(Dimension, hostile)))
    assert text[:40] in visible_text(card)
    assert text in visible_text(scores_html([(text, Grade.unscored(text))], hidden=False))

    moment = Moment(turn=1, rep=text, scores={"curiosity": 1}, note=text)
    report = Report(persona_id=PERSONA, ended_by="rep", door="not_now", door_when=text, replies=2, graded=2,
                    unscored=0, averages={"curiosity": 1.0}, weakest_dimension="curiosity", strongest=moment,
                    weakest=moment.model_copy(update={"turn": 2}), summary=text, drill=text, follow_up=text,
                    coach_error=text)
    seen = rendered_text(report_markdown(report, text))
    assert seen.count(text.strip()) >= 7, seen

    persona = call_.persona.model_copy(update={"name": text, "brief": text, "rep_offer": text})
    assert visible_text(MARKDOWN.render(brief_markdown(persona)))


def test_markup_in_the_app_never_becomes_markup(serve: Callable[..., App]) -> None:  # noqa: F811
    app = serve()
    client = app.client()
    start(client)
    outputs: list[Any] = []
    for text in HOSTILE[:8]:
        out = send(client, text)
        outputs.append(out)
        if "hung up" in out["status"]:  # hostile lines end the call: what was shown is checked below
            break
        (_, shown), _ = lines(out["chat"])[-2:]
        assert rendered_text(shown).strip() == text.strip()
    outputs.append(poll(lambda: send(client, "")["scores"], lambda h: "Grading…" not in h))
    report = call(client, "/end")["report"]["value"]
    rendered_text(report)
    for output in [*outputs, report]:
        flat = str(output).lower()
        assert "<script" not in flat and "<img" not in flat and "<svg" not in flat and "<iframe" not in flat


# --- Persona files, however broken ----------------------------------------------------------

GOOD = yaml.safe_load((content.PERSONAS_DIR / "happy_incumbent.yaml").read_text(encoding="utf-8"))
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
           | st.dates() | st.datetimes())
keys = st.text(max_size=12) | st.integers() | st.booleans() | st.none()
documents = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=5),
                         max_leaves=20)
#: Pieces of YAML syntax, glued at random: tags, anchors, odd dates and numbers, nesting.
yaml_bits = st.lists(st.sampled_from([
    ":", ": ", "- ", "\n", "  ", "[", "]", "{", "}", ",", "&a ", "*a", "? ", "|", ">", "#", "'", '"', "~", "=",
    "<<: ", "---\n", "...\n", "%YAML 1.1\n", "!!int ", "!!float ", "!!binary ", "!!timestamp ", "!!set ",
    "!!python/object/apply:os.system ", "2001-13-01", "2001-02-30 10:00:00", "1e999", "0x", "\t", "\x00", "\x85",
    "schema_version: 1\n", "id: happy_incumbent\n", "patience:\n  start: ", "name", "é", "👍",
]), max_size=40).map("".join)


@pytest.fixture(scope="module")
def persona_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="personas-") as directory:
        yield Path(directory)


def check_persona_file(directory: Path, content: str | bytes) -> PersonaError | None:
    """Write ``content`` as a persona file and load it: a Persona, or a PersonaError naming file and field."""
    path = directory / "happy_incumbent.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    try:
        persona = load_persona(path)
    except PersonaError as exc:
        assert exc.path == str(path) and str(exc).startswith(f"{path}: ")
        assert exc.problems and all(field and message and fix for field, message, fix in exc.problems)
        assert [str(e) for e in validate_paths([path])] == [str(exc)]
        return exc
    assert isinstance(persona, Persona)
    return None


@FUZZ
@given(text=yaml_bits)
def test_yaml_gibberish_is_a_persona_error(persona_dir: Path, text: str) -> None:
    assert check_persona_file(persona_dir, text) is not None


@FUZZ
@given(data=st.binary(max_size=200))
def test_binary_garbage_is_a_persona_error(persona_dir: Path, data: bytes) -> None:
    assert check_persona_file(persona_dir, data) is not None


@FUZZ
@given(document=documents)
def test_random_yaml_documents_are_persona_errors(persona_dir: Path, document: Any) -> None:
    assert check_persona_file(persona_dir, yaml.safe_dump(document, allow_unicode=True)) is not None


@st.composite
def mutated_personas(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The shipped persona with one field (at any depth) removed, replaced, or one added."""
    persona = yaml.safe_load(yaml.safe_dump(GOOD))
    node, path = persona, ()
    while True:
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else list(range(len(node)))))
        if isinstance(node[key], dict | list) and node[key] and draw(st.booleans()):
            node, path = node[key], (*path, key)
            continue
        break
    action = draw(st.sampled_from(["remove", "replace", "add"]))
    if action == "remove":
        del node[key]
    elif action == "replace":
        node[key] = draw(documents)
    elif isinstance(node, dict):
        key = draw(keys.filter(lambda k: k not in node))
        node[key] = draw(documents)
    else:
        node.append(draw(documents))
    return persona, (*path, key)


@FUZZ
@given(mutated=mutated_personas())
@example(mutated=({**GOOD, "\x85": None}, ("\x85",)))  # a key PyYAML reads back as " "
def test_mutated_personas_are_valid_or_name_the_broken_field(persona_dir: Path, mutated: tuple) -> None:
    persona, path = mutated
    error = check_persona_file(persona_dir, yaml.safe_dump(persona, allow_unicode=True))
    if error is not None:
        fields = [field for field, _, _ in error.problems]
        # the key as the file says it: PyYAML writes some keys it cannot read back as they were
        # (a "\x85", a Unicode line break, is read back as a space)
        said = next(iter(yaml.safe_load(yaml.safe_dump({path[0]: None}, allow_unicode=True))))
        top = said if isinstance(said, str) and said else yaml.safe_dump(said).splitlines()[0]
        assert any(f == top or f.startswith(f"{top}.") or f in ("(top level)", "id") or f.startswith("line ")
                   for f in fields), (path, fields)


@pytest.mark.parametrize(
    "text",
    ["a: 2001-13-01", "name: !!timestamp 'soon'", "[" * 3000 + "]" * 3000, "id: !!int 'x'", "\x00: null",
     "- ", "schema_version: !!python/object/apply:os.system ['true']"],
    ids=["bad-date", "bad-timestamp", "deep-nesting", "bad-int", "nul", "a-list", "unsafe-tag"],
)
def test_yaml_that_broke_the_parser_is_a_persona_error(text: str) -> None:
    with pytest.raises(PersonaError) as info:
        parse_persona(text, "personas/odd.yaml")
    assert str(info.value).startswith("personas/odd.yaml: ")


def test_control_characters_are_stripped_everywhere_but_newlines_and_tabs() -> None:
    every = "".join(chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in ("Cc", "Cs"))
    cleaned = clean_message(every + "ok", limit=10_000)
    assert cleaned == "ok"


# --- In a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_markup_shows_as_typed_and_never_runs_in_a_real_browser(gym: Gym, tmp_path: Path) -> None:
    from .test_browser import CHROMEDRIVER, CHROMIUM

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} and {CHROMEDRIVER}")
    _browser_check(gym, tmp_path)


def _browser_check(gym: Gym, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from roleplay.measure.browser_bench import chromium, shown_text

    from .conftest import serve_app
    from .test_browser import WAIT_S

    evil = ('Hi <img src=x onerror="window.pwned=1"> [click me](javascript:window.pwned=2) **not bold** '
            "_not em_ # not a heading なるほど")
    with chromium() as browser, serve_app(gym) as url:
        wait = WebDriverWait(browser, WAIT_S)

        def text_of(selector: str) -> str:
            return shown_text(browser, selector)

        try:
            browser.get(url)
            wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start"))).click()
            box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#msg textarea")))
            box.send_keys(evil, Keys.ENTER)
            wait.until(lambda d: "なるほど" in text_of("#chat") and len(text_of("#chat").split("なるほど", 1)[1]) > 2)
            assert evil in text_of("#chat")  # every mark shows, none is rendered
            active = "#chat img[src='x'], #chat a[href*='javascript'], #chat strong, #chat em, #chat h1"
            assert not browser.find_elements(By.CSS_SELECTOR, active)
            wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#end"))).click()
            wait.until(lambda d: "Coaching report" in text_of("#report"))
            wait.until(lambda d: "still writing" not in text_of("#report"))
            assert f"“{evil}”" in text_of("#report")  # the report quotes the rep's words as typed
            assert not browser.find_elements(By.CSS_SELECTOR, "#report img[src='x'], #report a[href*='javascript']")
            assert browser.execute_script("return window.pwned") is None
        except Exception:
            browser.save_screenshot(str(tmp_path / "failure.png"))
            (tmp_path / "failure.html").write_text(browser.page_source)
            print(f"screenshot and page source saved in {tmp_path}")
            raise
