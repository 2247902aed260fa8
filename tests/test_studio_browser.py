"""The persona studio's voice preview in a real browser (Debian's headless Chromium, as in
``test_browser.py``): edit the draft's rate, press *Preview voice*, and a player appears with the
opening line's audio, while a broken voice shows its field and fix.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

from roleplay import content
from roleplay.config import Settings

from .conftest import serve_app
from .test_browser import WAIT_S, driver, saved_on_failure, shown_text  # noqa: F401 - driver is a fixture
from .test_browser import pytestmark as browser_marks

pytestmark = browser_marks


def test_preview_voice_in_the_browser(settings: Settings, new_gym, driver, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    personas_dir = tmp_path / "published"
    shutil.copytree(content.PERSONAS_DIR, personas_dir, ignore=shutil.ignore_patterns("*.md"))
    first = personas_dir / "battle_of_wills.yaml"  # the studio opens the first persona; give it no voice yet
    first.write_text(first.read_text().split("voice:")[0])
    gym = new_gym(settings.model_copy(update={"personas_dir": personas_dir}))
    wait = WebDriverWait(driver, WAIT_S)
    text_of = partial(shown_text, driver)

    def type_first(line: str) -> None:
        """Type ``line`` as the draft's first line (at the end, the editor would indent it)."""
        editor = driver.find_element(By.CSS_SELECTOR, "#studio-yaml .cm-content")
        editor.click()
        editor.send_keys(Keys.CONTROL, Keys.HOME)
        editor.send_keys(line, Keys.ENTER)

    with serve_app(gym) as url, saved_on_failure(driver, tmp_path):
        driver.get(url)
        wait.until(lambda d: d.find_elements(By.XPATH, "//button[@role='tab'][contains(., 'Persona studio')]"))
        driver.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Persona studio')]").click()
        wait.until(lambda d: "Valid: version" in text_of("#studio-problems"))

        type_first("voice: {rate: 1.3}")
        driver.find_element(By.CSS_SELECTOR, "button#studio-preview-voice").click()
        wait.until(lambda d: "Nothing was saved" in text_of("#studio-voice-status"))
        assert "rate 1.3 (30% faster)" in text_of("#studio-voice-status")
        # Gradio's waveform player: a download link to the WAV file, and the clip's length once loaded.
        link = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#studio-voice-audio a[download]"))
        assert link[0].get_attribute("href").endswith("/audio.wav")
        wait.until(lambda d: text_of("#studio-voice-audio #duration") not in ("", "0:00"))

        type_first("voice_extra: 1")
        driver.find_element(By.CSS_SELECTOR, "button#studio-preview-voice").click()
        wait.until(lambda d: "Not spoken" in text_of("#studio-voice-status"))
        assert "voice_extra" in text_of("#studio-problems") and "allowed here" in text_of("#studio-problems")
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#studio-voice-audio a[download]"))  # no stale clip
    assert not (settings.data_dir / "personas").exists()
