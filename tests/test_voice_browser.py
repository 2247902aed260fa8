"""The voice panel in a real browser, beyond the main voice call (``test_browser.py``): hands-free
speaking with Chromium's fake microphone fed from a file, and the prospect's voice starting over.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest

from roleplay.call import Gym

from .conftest import serve_app
from .test_browser import (
    CHROMEDRIVER,
    CHROMIUM,
    VOICE_LINE,
    WAIT_S,
    chromium,
    saved_on_failure,
    shown_text,
    words_heard,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason=f"needs Debian's Chromium at {CHROMIUM} and {CHROMEDRIVER}"),
]

#: The prospect's voice in the page: its stream, how long it is and how far it has played.
AUDIO_JS = ("const a = document.querySelector('#prospect-audio audio');"
            "return a ? [a.src, a.duration || 0, a.currentTime, a.paused, a.ended] : null;")


@pytest.fixture
def speech_then_silence(tmp_path: Path) -> Path:
    """``VOICE_LINE`` said by Piper (the same every run), then 4 s of silence: the fake microphone's file."""
    import numpy as np

    from roleplay.config import load_settings
    from roleplay.voice import Speaker, bundled_voice, write_wav

    speech = Speaker(bundled_voice(load_settings().model_cache_dir), varied=False).synthesize(VOICE_LINE)
    rate = speech.sample_rate
    path = tmp_path / "rep.wav"
    write_wav(path, rate, np.concatenate([np.zeros(int(0.3 * rate), np.int16), speech.samples,
                                          np.zeros(4 * rate, np.int16)]))
    return path


def fake_microphone(wav: Path) -> tuple[str, ...]:
    return ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required")


def test_hands_free_sends_the_reply_when_the_rep_stops_talking(gym: Gym, speech_then_silence: Path,
                                                              tmp_path: Path) -> None:
    """Hands-free ticked: the microphone opens by itself once the prospect's first words have
    played, the reply is sent after the rep falls quiet (nobody presses Stop), and the microphone
    opens again only when the answer has played."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    persona = next(iter(gym.personas.values()))
    with (chromium(*fake_microphone(speech_then_silence)) as driver, serve_app(gym) as url,
          saved_on_failure(driver, tmp_path)):
        wait = WebDriverWait(driver, WAIT_S)
        text_of = partial(shown_text, driver)

        def rep_lines() -> list[str]:
            return [m.text for m in driver.find_elements(By.CSS_SELECTOR, "#chat .message-row")
                    if "user" in (m.get_attribute("class") or "")]

        def recording() -> bool:  # Gradio keeps every button of the recorder in the page, showing some
            return any(b.is_displayed() for b in driver.find_elements(By.CSS_SELECTOR, "#mic button.stop-button"))

        def prospect_playing() -> bool:
            a = driver.execute_script(AUDIO_JS)
            return bool(a) and not a[3] and not a[4] and a[2] < a[1] - 0.05

        driver.get(url)
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start")))
        driver.find_element(By.XPATH, "//*[@id='mode']//label[contains(., 'Voice')]").click()
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#mic button.record-button")))
        driver.find_element(By.CSS_SELECTOR, "#hands-free input[type=checkbox]").click()
        driver.find_element(By.CSS_SELECTOR, "button#start").click()
        wait.until(lambda d: persona.opening_line in text_of("#chat"))

        # the microphone stays shut while the prospect's first words play, then opens by itself
        heard_prospect = False
        deadline = time.monotonic() + WAIT_S
        while not recording():
            assert time.monotonic() < deadline, "the microphone never opened"
            heard_prospect |= prospect_playing()
            time.sleep(0.05)
        assert heard_prospect and not prospect_playing()
        assert "Listening" in text_of("#hands-free-state")

        # the rep says the line and falls quiet: the reply goes without Stop being pressed
        wait.until(lambda d: len(rep_lines()) == 1)
        assert words_heard(VOICE_LINE, rep_lines()[0]) >= 0.7, rep_lines()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scores .rp-card .rp-delivery")) == 1)

        # the answer plays with the microphone shut; then it opens for the next reply
        wait.until(lambda d: prospect_playing())
        while prospect_playing():
            assert not recording(), "the microphone opened while the prospect was speaking"
            time.sleep(0.05)
        wait.until(lambda d: recording())
        driver.save_screenshot(str(tmp_path / "hands-free.png"))


def test_the_chosen_way_of_replying_keeps_its_dot_under_the_pointer(gym: Gym, tmp_path: Path) -> None:
    """Gradio's own stylesheet turned a chosen radio white under the pointer (its dot vanished)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    colour = "return getComputedStyle(document.querySelector('#mode input[value=Text]')).backgroundColor"
    with chromium() as driver, serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        driver.get(url)
        WebDriverWait(driver, WAIT_S).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start")))
        chosen = driver.find_element(By.CSS_SELECTOR, "#mode input[value=Text]")
        assert chosen.is_selected()
        away = driver.execute_script(colour)
        ActionChains(driver).move_to_element(chosen).perform()
        assert driver.execute_script("return document.querySelector('#mode input[value=Text]').matches(':hover')")
        assert driver.execute_script(colour) == away != "rgb(255, 255, 255)"


#: A prospect line that breaks character at its end: its first sentences are spoken as they are
#: written, then the call replaces the line with the persona's own (``Prospect.finish``).
BROKEN = ("Well, honestly, we have been with them for years and it works fine for us. "
          "As an AI language model, I cannot go on with this role-play.")


def test_a_replaced_line_skips_the_audio_queued_of_the_old_one(new_gym, speech_then_silence: Path,
                                                                tmp_path: Path) -> None:
    """The prospect's line is replaced after its words were spoken: the browser jumps over the old
    line's audio it had queued (a seek forward, to where the replacement begins) and does not hear it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from roleplay.backends.fakes import FakeChatModel

    gym = new_gym(prospect=FakeChatModel(responder=lambda messages: BROKEN, calls=[]))
    persona = next(iter(gym.personas.values()))
    # every seek of the prospect's voice, as [where it was playing, where it went]
    watch = """window.rpSeeks = []; let at = 0;
      const ours = (e) => e.target.closest && e.target.closest('#prospect-audio');
      document.addEventListener('timeupdate', (e) => { if (ours(e)) at = e.target.currentTime; }, true);
      document.addEventListener('seeking', (e) => { if (ours(e)) window.rpSeeks.push([at, e.target.currentTime]); },
                                true);"""

    def answered():  # the call once its reply is answered: its three lines (the first words, the
        # reply, the answer) and the turn's result (set just after the lines, in the call's thread)
        sessions = gym.store.list_sessions()
        call = gym.call(sessions[0]["id"]) if sessions else None
        return call if call is not None and len(call.lines) == 3 and call.last_turn is not None else None

    with (chromium(*fake_microphone(speech_then_silence)) as driver, serve_app(gym) as url,
          saved_on_failure(driver, tmp_path)):
        wait = WebDriverWait(driver, WAIT_S)
        text_of = partial(shown_text, driver)
        driver.get(url)
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start")))
        driver.execute_script(watch)
        driver.find_element(By.XPATH, "//*[@id='mode']//label[contains(., 'Voice')]").click()
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#mic button.record-button")))
        driver.find_element(By.CSS_SELECTOR, "#hands-free input[type=checkbox]").click()
        driver.find_element(By.CSS_SELECTOR, "button#start").click()
        wait.until(lambda d: persona.opening_line in text_of("#chat"))

        call = wait.until(lambda d: answered())
        kept = call.lines[-1].text
        assert kept != BROKEN and call.last_turn.fallback_reason == "broke character"
        wait.until(lambda d: kept[:30] in text_of("#chat"))
        wait.until(lambda d: (lambda a: a and a[4])(d.execute_script(AUDIO_JS)))  # the answer has played
        seeks = driver.execute_script("return window.rpSeeks")
        # the old line's sentences were queued (several seconds of them); the browser skipped to the new line
        assert any(to - at > 1.0 for at, to in seeks), seeks
