"""The app's main flow in a real browser: Debian's headless Chromium driven by Selenium 4.

Gradio puts ``elem_id`` on a wrapper ``div`` for most components (the textarea is
``#msg textarea``) and on the ``button`` itself for buttons.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from roleplay.call import Gym
from roleplay.measure.browser_bench import CHROMEDRIVER, CHROMIUM, chromium, shown_text
from roleplay.ui.views import SAME_LINE

from .conftest import serve_app

WAIT_S = 30

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"needs Debian's Chromium at {CHROMIUM} and {CHROMEDRIVER} "
               "(apt-get install -y chromium chromium-driver)",
    ),
]


def shown(driver, selector: str) -> bool:
    """Whether an element ``selector`` finds is displayed (Gradio leaves hidden ones out of the page)."""
    from selenium.webdriver.common.by import By

    return any(e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, selector))


@contextmanager
def saved_on_failure(driver, folder: Path) -> Iterator[None]:
    """On a failure, keep a screenshot and the page source in ``folder`` and say where."""
    try:
        yield
    except Exception:
        driver.save_screenshot(str(folder / "failure.png"))
        (folder / "failure.html").write_text(driver.page_source)
        print(f"screenshot and page source saved in {folder}")
        raise


@pytest.fixture
def driver() -> Iterator[object]:
    with chromium() as browser:
        yield browser


def test_main_flow_in_the_browser(gym: Gym, driver, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    persona = next(iter(gym.personas.values()))  # the dropdown's default
    said = "Hi, could we book 20 minutes next week to compare notes?"
    wait = WebDriverWait(driver, WAIT_S)

    def css(selector: str):
        return driver.find_element(By.CSS_SELECTOR, selector)

    text_of = partial(shown_text, driver)

    with serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        driver.get(url)
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start")))
        assert css("#persona").is_displayed()
        assert persona.name in css("#brief").text

        call_back = partial(shown, driver, "button#call-back")
        assert not call_back()  # no call to call back yet
        css("button#start").click()
        wait.until(lambda d: persona.opening_line in text_of("#chat"))
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#msg textarea")))
        assert not call_back()  # mid-call: nothing to call back

        box.send_keys(said, Keys.ENTER)
        # The rep's line, then the prospect's reply below it.
        wait.until(lambda d: said in text_of("#chat")
                   and text_of("#chat").split(said, 1)[1].strip() != "")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scores .rp-pill")) == 3)
        titles = [p.get_attribute("title") for p in driver.find_elements(By.CSS_SELECTOR, "#scores .rp-pill")]
        assert titles == ["curiosity", "composure", "restraint"]
        assert box.get_attribute("value") == ""

        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#end"))).click()
        wait.until(lambda d: "Coaching report" in text_of("#report"))
        assert "Door" in text_of("#report")
        assert "Call ended" in text_of("#status")
        wait.until(lambda d: call_back())  # the call has ended: a follow-up call makes sense

        # The Progress tab, loaded with the page before the call, shows the call when opened.
        driver.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Progress')]").click()
        wait.until(lambda d: "**" not in text_of("#progress-summary") and "1 call," in text_of("#progress-summary"))


def test_a_whole_calls_notes_and_report_read_in_the_browser_have_no_defects(gym: Gym, driver, tmp_path: Path) -> None:
    """Read every note and the report as the rep sees them, and run the coaching checks on them."""
    import re

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from roleplay.judge.coaching.quality import note_defects, report_defects

    persona = next(iter(gym.personas.values()))
    replies = ["Fair enough. What made you choose them in the first place?",
               "Could we still book twenty minutes on Thursday?",
               "Come on, just fifteen minutes then, Friday at ten?"]
    wait = WebDriverWait(driver, WAIT_S)

    text_of = partial(shown_text, driver)

    with serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        driver.get(url)
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start"))).click()
        wait.until(lambda d: persona.opening_line in text_of("#chat"))
        for n, reply in enumerate(replies, start=1):
            if "hung up" in text_of("#status"):
                break
            box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#msg textarea")))
            box.send_keys(reply, Keys.ENTER)
            wait.until(lambda d, n=n: len(d.find_elements(By.CSS_SELECTOR, "#scores .rp-card")) == n
                       and "Notes coming" not in text_of("#scores") and "Grading" not in text_of("#scores"))
        cards = driver.find_elements(By.CSS_SELECTOR, "#scores .rp-card")
        assert cards
        for card, reply in zip(cards, replies, strict=False):
            pills = {p.get_attribute("title"): int(p.text.split()[-1])
                     for p in card.find_elements(By.CSS_SELECTOR, ".rp-pill")}
            earlier = ""
            for shown in card.find_elements(By.CSS_SELECTOR, ".rp-note"):
                dim, _, rest = shown.text.partition(": ")
                quote = re.match(r"“(.*?)” — ", rest)
                note, _, line = rest[quote.end() if quote else 0:].partition("Try instead: ")
                if "Try instead: " + line.strip() == SAME_LINE:  # the line written out under a dimension above
                    line = earlier
                earlier = line
                found = note_defects(dim, pills[dim], note.strip(), quote.group(1) if quote else None,
                                     line.strip().strip("“”") or None, reply, f"card {dim}",
                                     names=[persona.name], facts=[f.fact for f in persona.hidden_facts])
                assert found == [], found
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#end"))).click()
        wait.until(lambda d: "Coaching report" in text_of("#report") and "still writing" not in text_of("#report"))
        report = text_of("#report")
        parts = dict(re.findall(r"^(Summary|Follow-up plan|Drill for next time): (.*)$", report, re.MULTILINE))
        assert parts.keys() == {"Summary", "Follow-up plan", "Drill for next time"}
        door = "closed" if "Door: closed" in report else "not_now" if "Door: not now" in report else "open"
        when = persona.not_now.when if door != "closed" else None
        ended_by = "prospect" if "hung up" in report.split("Summary:")[0] else "rep"
        found = report_defects(parts["Summary"], parts["Follow-up plan"], parts["Drill for next time"], door,
                               when, replies, facts=[f.fact for f in persona.hidden_facts], ended_by=ended_by)
        assert found == [], found
        assert "the rep" not in (text_of("#scores") + report).lower()


def test_team_mode_in_the_browser_sign_in_and_no_way_into_another_reps_call(settings, driver, new_gym,
                                                                            tmp_path: Path) -> None:
    """Ben signs in; Ana's call is not among his sessions, and typing its id into the box opens nothing."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    gym = new_gym(settings.model_copy(update={"team_mode": True}))
    gym.accounts.scrypt_n = 2**10
    for name in ("ana", "ben"):
        gym.accounts.add(name, "correct horse battery", "rep", "east")
    anas = gym.start("happy_incumbent", owner="ana")
    anas.say("Ana's private words: what made you pick Fleetly?")
    wait = WebDriverWait(driver, WAIT_S)

    text_of = partial(shown_text, driver)

    with serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        driver.get(url)
        user = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[data-testid=textbox]")))
        user.send_keys("ben")
        driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys("wrong password", Keys.ENTER)
        wait.until(lambda d: "Incorrect" in d.page_source or "incorrect" in d.page_source)
        assert "button#start" not in driver.page_source

        driver.get(url)
        user = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[data-testid=textbox]")))
        user.send_keys("ben")
        driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys("correct horse battery",
                                                                             Keys.ENTER)
        wait.until(lambda d: "Signed in as ben" in text_of("#account"))
        # The studio holds every persona's hidden facts: a rep gets a notice, not the editor.
        driver.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Persona studio')]").click()
        wait.until(lambda d: "for the enablement team" in text_of("#studio-notice"))
        assert not driver.find_elements(By.CSS_SELECTOR, "#studio-yaml .cm-content")
        assert "Fleetly contract comes up for renewal" not in driver.page_source
        driver.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Practice')]").click()

        driver.find_element(By.XPATH, "//button[contains(., 'Past sessions')]").click()
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#past input")))
        box.click()
        assert "happy_incumbent" not in text_of("#past") + text_of("ul[role=listbox]")
        box.send_keys(anas.id, Keys.ENTER)
        driver.find_element(By.CSS_SELECTOR, "button#open").click()
        wait.until(lambda d: "There is no such session" in d.page_source)
        assert "Ana's private words" not in driver.page_source


def test_the_sign_in_page_says_why_an_account_is_refused(settings, driver, new_gym, tmp_path: Path) -> None:
    """Ben's account is locked after five wrong passwords and Cy's is disabled: each sees why on the
    sign-in page, not "Incorrect credentials", and is not signed in; a reload shows the plain page."""
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    gym = new_gym(settings.model_copy(update={"team_mode": True}))
    gym.accounts.scrypt_n = 2**10
    for name in ("ben", "cy"):
        gym.accounts.add(name, "correct horse battery", "rep", "east")
    gym.accounts.set_disabled("cy", True, actor="test")
    wait = WebDriverWait(driver, WAIT_S)

    def sign_in(url: str, name: str) -> None:
        driver.get(url)
        user = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[data-testid=textbox]")))
        user.send_keys(name)
        driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys("correct horse battery", Keys.ENTER)

    with serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        for _ in range(5):
            httpx.post(f"{url.rstrip('/')}/login/", data={"username": "ben", "password": "wrong password"})
        sign_in(url, "ben")
        wait.until(lambda d: "Too many failed sign-ins for this account; try again in 15 minutes." in d.page_source)
        sign_in(url, "cy")
        wait.until(lambda d: "This account is disabled; ask your admin to enable it." in d.page_source)
        shown = driver.page_source
        assert "ncorrect credentials" not in shown and "Too many failed" not in shown  # Cy's reason only
        assert not driver.find_elements(By.CSS_SELECTOR, "#account")  # nobody signed in

        driver.refresh()
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[data-testid=textbox]")))
        assert "Pushback Gym: sign in with the account your team gave you" in driver.page_source
        assert "This account is disabled" not in driver.page_source


def test_taking_a_reply_again_in_the_browser_keeps_both_branches(gym: Gym, driver, tmp_path: Path) -> None:
    """Reply 2 of a call is taken again: the new call starts just before it and shows the first
    answer beside the new one; the original call, opened again, is as it was."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    persona = next(iter(gym.personas.values()))
    first = ["Could we book 20 minutes next Tuesday?", "Just fifteen minutes, Thursday?"]
    retry = "Fair enough. What made you choose them in the first place?"
    wait = WebDriverWait(driver, WAIT_S)
    text_of = partial(shown_text, driver)

    def say(line: str, cards: int) -> None:
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#msg textarea")))
        box.send_keys(line, Keys.ENTER)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scores .rp-card")) == cards
                   and "Notes coming" not in text_of("#scores") and "Grading" not in text_of("#scores"))

    with serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        driver.get(url)
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start"))).click()
        wait.until(lambda d: persona.opening_line in text_of("#chat"))
        for n, line in enumerate(first, start=1):
            say(line, n)
        (original,) = gym.store.list_sessions()

        number = driver.find_element(By.CSS_SELECTOR, "#again-reply input")
        number.clear()
        number.send_keys("2")
        driver.find_element(By.CSS_SELECTOR, "button#again").click()
        wait.until(lambda d: "Taking reply 2 again" in text_of("#status"))
        chat = text_of("#chat")
        assert first[0] in chat and first[1] not in chat  # the call as it was just before reply 2
        assert "#2 the first time" in text_of("#scores") and first[1][:40] in text_of("#scores")

        say(retry, 3)  # reply 1, the first answer to reply 2, and the new one
        cards = driver.find_elements(By.CSS_SELECTOR, "#scores .rp-card")
        assert "the first time" in cards[1].text and retry[:40] in cards[2].text
        before, after = ({p.get_attribute("title"): int(p.text.split()[-1])
                          for p in card.find_elements(By.CSS_SELECTOR, ".rp-pill")} for card in cards[1:])
        assert after["restraint"] > before["restraint"]

        # the original, opened from past sessions, is intact
        driver.find_element(By.XPATH, "//button[contains(., 'Past sessions')]").click()
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#past input")))
        box.send_keys(original["id"], Keys.ENTER)
        driver.find_element(By.CSS_SELECTOR, "button#open").click()
        wait.until(lambda d: first[1] in text_of("#chat") and retry not in text_of("#chat"))
    assert len(gym.store.list_sessions()) == 2


def test_a_drill_played_in_the_browser_passes_then_fails_and_is_played_again(gym: Gym, driver,
                                                                             tmp_path: Path) -> None:
    """The first drill (curiosity) starts at its moment; three open questions pass it; played
    again, a pitch fails it, and the rep is told to try again."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    drill = gym.playable_drills()[0]
    questions = ["Fair enough. What made Fleetly the right fit for you back then?",
                 "How do your dispatchers handle it when a customer moves a pickup?",
                 "What would have to change for you to look at anything else?"]
    wait = WebDriverWait(driver, WAIT_S)
    text_of = partial(shown_text, driver)

    def play() -> None:
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#drill-play"))).click()
        wait.until(lambda d: f"Drill: {drill.title}" in text_of("#status") and "Reply 1 of" in text_of("#status"))

    def say(line: str) -> None:
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#msg textarea")))
        box.send_keys(line, Keys.ENTER)
        wait.until(lambda d: line in text_of("#chat") and text_of("#chat").split(line, 1)[1].strip())

    with serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        driver.get(url)
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start")))
        driver.find_element(By.XPATH, "//button[contains(., 'Drills')]").click()  # open the accordion
        play()
        assert all(line.text in text_of("#chat") for line in drill.moment)  # it starts at its moment
        for line in questions:
            say(line)
        wait.until(lambda d: "Passed" in text_of("#status"))
        assert not driver.find_element(By.CSS_SELECTOR, "#msg textarea").is_enabled()  # the drill is over

        play()  # again: a new call at the same moment
        say("We're much cheaper than Fleetly and we could show you on Tuesday at ten.")
        wait.until(lambda d: "Not passed" in text_of("#status") and "try again" in text_of("#status"))
    sessions = gym.store.list_sessions()
    assert len(sessions) == 2 and all(gym.store.get_session(s["id"]).drill_id == drill.id for s in sessions)


# --- a voice call, the microphone fed from a file ---------------------------------------------------

VOICE_LINE = "What made Fleetly the right choice for you?"


def words_heard(reference: str, heard: str) -> float:
    """The share of ``reference``'s words heard in order in ``heard`` (their longest common
    subsequence): words heard around them, from the looping microphone, do not count against it."""
    from roleplay.measure.voice_bench import normalise

    ref, hyp = normalise(reference), normalise(heard)
    longest = [0] * (len(hyp) + 1)
    for r in ref:
        previous = longest[:]
        for j, h in enumerate(hyp, 1):
            longest[j] = previous[j - 1] + 1 if r == h else max(previous[j], longest[j - 1])
    return longest[-1] / len(ref)


@pytest.fixture
def microphone(tmp_path: Path) -> tuple[Path, float, float]:
    """``VOICE_LINE`` said by Piper (the same every run) as the fake microphone's WAV file, and how
    long to record to hear it once. Chromium plays the file in a loop from the first recording on,
    so a later recording is started when the loop comes round (see the test)."""
    import numpy as np

    from roleplay.config import load_settings
    from roleplay.voice import Speaker, bundled_voice, write_wav

    speech = Speaker(bundled_voice(load_settings().model_cache_dir), varied=False).synthesize(VOICE_LINE)
    rate = speech.sample_rate
    samples = np.concatenate([np.zeros(int(0.3 * rate), np.int16), speech.samples, np.zeros(3 * rate, np.int16)])
    path = tmp_path / "rep.wav"
    write_wav(path, rate, samples)
    return path, len(samples) / rate, 0.3 + speech.duration_s + 0.8


def test_a_voice_call_in_the_browser(gym: Gym, microphone: tuple[Path, float, float], tmp_path: Path) -> None:
    """Voice chosen and the game film box ticked, a call started (its first words heard), two
    replies spoken into the fake microphone: each is written down as the rep's line, the prospect
    answers in the chat and out loud, and the scores come with the reply's delivery. Opened from
    Past sessions, the call plays back line by line; deleted, it is gone with its audio."""
    import time

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wav, loop_s, record_s = microphone
    persona = next(iter(gym.personas.values()))
    flags = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required")
    audio_js = ("const a = document.querySelector('#prospect-audio audio');"
                "return a ? [a.src, a.duration || 0, a.currentTime] : null;")

    with chromium(*flags) as driver, serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        wait = WebDriverWait(driver, WAIT_S)
        text_of = partial(shown_text, driver)

        def chat_lines() -> list[tuple[str, str]]:
            return [("rep" if "user" in (m.get_attribute("class") or "") else "prospect", m.text)
                    for m in driver.find_elements(By.CSS_SELECTOR, "#chat .message-row")]

        def played(before: str | None) -> bool:
            """A new stream of the prospect's voice came, and has been playing."""
            now = driver.execute_script(audio_js)
            return bool(now) and now[0] != before and now[1] > 0 and now[2] > 0

        driver.get(url)
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start")))
        assert driver.find_element(By.CSS_SELECTOR, "#msg textarea").is_displayed()  # text is the default
        driver.find_element(By.XPATH, "//*[@id='mode']//label[contains(., 'Voice')]").click()
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#mic button.record-button")))
        assert not driver.find_elements(By.CSS_SELECTOR, "#msg textarea")  # the text box gives way
        consent = driver.find_element(By.CSS_SELECTOR, "#keep-film input[type=checkbox]")
        assert not consent.is_selected() and "game film" in text_of("#keep-film")  # off unless ticked
        consent.click()
        driver.find_element(By.CSS_SELECTOR, "button#start").click()
        wait.until(lambda d: persona.opening_line in text_of("#chat"))
        wait.until(lambda d: played(None))  # the prospect's first words, out loud
        # Chromium's fake microphone drops audio while the CPU is busy: the voice models finish
        # loading and the first words finish playing before the rep speaks.
        wait.until(lambda d: (lambda a: a[2] >= a[1] > 0)(d.execute_script(audio_js)))
        time.sleep(1.0)

        first_recording = None
        for n in (1, 2):
            before = driver.execute_script(audio_js)[0]
            record = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#mic button.record-button")))
            if first_recording is not None:  # wait for the microphone's file to come round to its start
                time.sleep(loop_s - (time.monotonic() - first_recording) % loop_s)
            record.click()
            first_recording = first_recording or time.monotonic()
            time.sleep(record_s)
            driver.find_element(By.CSS_SELECTOR, "#mic button.stop-button").click()
            wait.until(lambda d, n=n: len([s for s, _ in chat_lines() if s == "rep"]) == n
                       and chat_lines()[-1][0] == "prospect" and chat_lines()[-1][1].strip())
            rep = [text for speaker, text in chat_lines() if speaker == "rep"][-1]
            assert words_heard(VOICE_LINE, rep) >= 0.7, rep
            wait.until(lambda d, before=before: played(before))
            wait.until(lambda d, n=n: len(d.find_elements(By.CSS_SELECTOR, "#scores .rp-card")) == n
                       and len(d.find_elements(By.CSS_SELECTOR, "#scores .rp-card:last-child .rp-pill")) == 3)
            delivery = driver.find_elements(By.CSS_SELECTOR, "#scores .rp-card .rp-delivery")
            assert len(delivery) == n and "words a minute" in delivery[-1].text, text_of("#scores")
            # the rep hears the answer out and reads the notes (and the CPU is free for the microphone)
            wait.until(lambda d: "Notes coming" not in text_of("#scores") and "Grading" not in text_of("#scores"))
            wait.until(lambda d: (lambda a: a[2] >= a[1] > 0)(d.execute_script(audio_js)))
            driver.save_screenshot(str(tmp_path / f"voice-{n}.png"))

        # back to typing, mid-call
        driver.find_element(By.XPATH, "//*[@id='mode']//label[contains(., 'Text')]").click()
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#msg textarea")))
        assert not driver.find_elements(By.CSS_SELECTOR, "#mic button.record-button")  # the microphone gives way
        box.send_keys("How do your dispatchers handle late changes?", Keys.ENTER)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scores .rp-card")) == 3)
        assert len(driver.find_elements(By.CSS_SELECTOR, "#scores .rp-delivery")) == 2  # typed: no delivery

        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#end"))).click()
        wait.until(lambda d: "Delivery (2 spoken replies)" in text_of("#report"))
        driver.execute_script("document.querySelector('#report').scrollIntoView()")
        driver.save_screenshot(str(tmp_path / "voice-report.png"))
        (session,) = gym.store.list_sessions()
        assert len(gym.store.deliveries_for(session["id"])) == 2
        # the first words and each spoken reply with its answer; the typed reply and its answer have no audio
        assert len(gym.store.recordings_for(session["id"])) == 5

        # the game film: opened from past sessions, a player per recorded line, played one after another
        driver.find_element(By.XPATH, "//button[contains(., 'Past sessions')]").click()
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#past input")))
        box.send_keys(session["id"], Keys.ENTER)
        driver.find_element(By.CSS_SELECTOR, "button#open").click()
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#film audio")))
        sources = [a.get_attribute("src") for a in driver.find_elements(By.CSS_SELECTOR, "#film audio")]
        assert len(sources) == 5 and all(s.startswith("data:audio/ogg;base64,") and len(s) > 1000 for s in sources)
        assert "Delivery" in text_of("#film") and len(driver.find_elements(By.CSS_SELECTOR, "#film .rp-pill")) == 9
        driver.find_element(By.CSS_SELECTOR, "#film button[data-film=play]").click()
        film_js = ("return [...document.querySelectorAll('#film audio')].map(a => [a.currentTime, a.duration, "
                   "a.paused, a.closest('.rp-film-line').classList.contains('rp-film-now')]);")
        wait.until(lambda d: (lambda a: a[0][0] > 0 and not a[0][2] and a[0][3])(d.execute_script(film_js)))
        wait.until(lambda d: d.execute_script(film_js)[1][0] > 0)  # the next line follows on its own
        driver.save_screenshot(str(tmp_path / "voice-film.png"))
        driver.find_element(By.CSS_SELECTOR, "#film button[data-film=stop]").click()

        # deleted, after a confirmation: the call and its audio are gone
        driver.find_element(By.CSS_SELECTOR, "button#delete").click()
        wait.until(lambda d: "for good" in text_of("#delete-confirm"))
        assert gym.store.get_session(session["id"]) is not None
        driver.find_element(By.CSS_SELECTOR, "button#delete-yes").click()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#film audio")
                   and not d.find_elements(By.CSS_SELECTOR, "#chat .message-row"))
    assert gym.store.list_sessions() == [] and gym.store.recordings_for(session["id"]) == {}


def test_the_browser_bench_times_each_reply_from_enter_to_the_first_word(settings, capsys) -> None:
    """``roleplay bench --browser`` on the fakes: each turn's times and their percentiles, all
    present and positive, the parts of the browser path adding up (figures, never limits)."""
    import json

    from roleplay.cli import main

    assert main(["bench", "--browser", "--backend", "fake", "--latency", "0.05", "--turns", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["browser"]
    assert (result["backend"], result["latency_s"], result["turns"], result["model"]) == ("fake", 0.05, 3,
                                                                                          "fake-prospect")
    turns = result["per_turn"]
    assert [(t["turn"], t["call_turn"]) for t in turns] == [(1, 1), (2, 2), (3, 3)]
    for t in turns:
        assert all(t[k] > 0 for k in ("first_word_s", "dom_s", "own_line_s", "model_ttft_s", "to_app_s",
                                      "reading_s", "to_screen_s")), t
        assert t["dom_s"] <= t["first_word_s"]
        parts = t["to_app_s"] + t["reading_s"] + t["model_ttft_s"] + t["to_screen_s"]
        assert parts == pytest.approx(t["first_word_s"], abs=0.005)
    for name in ("first_word", "own_line", "model_ttft", "browser_path", "to_app", "reading", "to_screen"):
        assert 0 < result[f"{name}_p50"] <= result[f"{name}_p95"], name
