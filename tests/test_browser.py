"""The app's main flow in a real browser: Debian's headless Chromium driven by Selenium 4.

Gradio puts ``elem_id`` on a wrapper ``div`` for most components (the textarea is
``#msg textarea``) and on the ``button`` itself for buttons.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from roleplay.calls import Gym

from .conftest import serve_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
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


@pytest.fixture
def driver() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}"):
            options.add_argument(arg)
        browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield browser
        finally:
            browser.quit()


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

    def text_of(selector: str) -> str:
        found = driver.find_elements(By.CSS_SELECTOR, selector)
        return found[0].text if found else ""

    with serve_app(gym) as url:
        try:
            driver.get(url)
            wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start")))
            assert css("#persona").is_displayed()
            assert persona.name in css("#brief").text

            css("button#start").click()
            wait.until(lambda d: persona.opening_line in text_of("#chat"))
            box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#msg textarea")))

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
        except Exception:
            driver.save_screenshot(str(tmp_path / "failure.png"))
            (tmp_path / "failure.html").write_text(driver.page_source)
            print(f"screenshot and page source saved in {tmp_path}")
            raise
