"""``roleplay bench --browser``: how long a rep waits in a real browser, from pressing Enter to
the prospect's first word on the screen.

The app is served on loopback as ``roleplay serve`` serves it (the caller says how: ``serve``);
Debian's headless Chromium opens it under Selenium, starts a call with the default prospect, and
for each turn types a line and presses Enter. A script in the page keeps the times: the Enter
key (keydown), the rep's line appearing in the chat, the prospect's new message first holding
text (a MutationObserver on the chat, ``dom_s``) and the next animation frame after that, when
it is painted (``first_word_s``). Before the next line the bench waits as a rep reading the
scores would: until the reply's card is complete and the server's background work (grading,
preparing the next turn) is done. Turn 1 of a call is left out of the percentiles.

``model_ttft_s`` is the prospect model's own time to its first token on the same turn (the
embedded model's statistics; a fake model's fixed latency), so ``browser_path_s`` (first word
minus it) is what the app, the queue, the network and the page add.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from roleplay.backends import model_label
from roleplay.call import Gym, TurnTimes
from roleplay.config import Role, Settings
from roleplay.errors import RoleplayError
from roleplay.measure.bench import OPEN_QUESTIONS, _progress, _round, fake_models, percentile

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Seconds to wait for anything the page should show.
WAIT_S = 60.0

# Keeps the times of one turn in ``window.rpBench``, from ``performance.now()``: ``enter`` (the
# keydown of Enter in the message box), ``own`` (the rep's line in the chat), ``dom`` (the
# prospect's new message holds text) and ``painted`` (the frame after that).
_PAGE_SCRIPT = """
if (!window.rpBench) {
  const count = (who) => document.querySelectorAll(`#chat [data-testid="${who}"]`).length;
  const b = window.rpBench = {enter: null, own: null, dom: null, painted: null, users: 0, bots: 0};
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.shiftKey || !e.target.closest('#msg')) return;
    Object.assign(b, {enter: performance.now(), own: null, dom: null, painted: null,
                      users: count('user'), bots: count('bot')});
  }, true);
  new MutationObserver(() => {
    if (b.enter === null) return;
    const now = performance.now();
    if (b.own === null && count('user') > b.users) b.own = now;
    if (b.dom !== null) return;
    const bots = document.querySelectorAll('#chat [data-testid="bot"]');
    if (bots.length > b.bots && bots[bots.length - 1].textContent.trim()) {
      b.dom = now;
      requestAnimationFrame(() => { b.painted = performance.now(); });
    }
  }).observe(document.querySelector('#chat'), {childList: true, subtree: true, characterData: true});
}
"""


# Hands the turn's times back once the prospect's first word is painted (Selenium's async script).
_TIMES_WHEN_PAINTED = """
const done = arguments[arguments.length - 1], b = window.rpBench;
(function check() {
  if (b.painted !== null && b.own !== null) done({...b, origin: performance.timeOrigin});
  else setTimeout(check, 10);
})();
"""


class BrowserMissing(RoleplayError):
    """Chromium, its driver or Selenium is not installed; the message says how to install them."""


def browser_missing() -> str | None:
    """Why the browser cannot be driven here (``None`` when it can)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        return (f"needs Debian's Chromium at {CHROMIUM} and {CHROMEDRIVER} "
                "(apt-get install -y chromium chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs Selenium (pip install 'roleplay[bench]')"
    return None


@contextlib.contextmanager
def chromium(*extra: str) -> Iterator[Any]:
    """Headless Chromium under Selenium, with a fresh profile and ``extra`` command-line flags."""
    if reason := browser_missing():
        raise BrowserMissing(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}", *extra):
            options.add_argument(arg)
        browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield browser
        finally:
            browser.quit()


def shown_text(driver: Any, selector: str) -> str:
    """The text of the first element ``selector`` finds, or "" when there is none."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text if found else ""


class _Page:
    """The app open in the browser, driven as a rep does."""

    def __init__(self, driver: Any):
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.driver.set_script_timeout(WAIT_S)
        self.wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.05)

    def start_call(self) -> None:
        """Press Start call and wait for the prospect's opening line alone in the chat."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        def count(who: str) -> int:
            return len(self.driver.find_elements(By.CSS_SELECTOR, f"#chat [data-testid='{who}']"))

        self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button#start"))).click()
        self.wait.until(lambda d: "On a call" in shown_text(d, "#status") and count("user") == 0 and count("bot") == 1)
        self.driver.execute_script(_PAGE_SCRIPT)

    def say(self, line: str, replies: int, typing_cps: float = 0.0) -> dict[str, float | None]:
        """Type ``line`` (``typing_cps`` characters a second, as a rep types; 0: all at once, as
        pasted), press Enter and wait for the reply and its scores (the call's ``replies``-th);
        the page's times, in seconds from the Enter key."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support import expected_conditions as ec

        box = self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#msg textarea")))
        for part in ([line] if typing_cps <= 0 else line):
            box.send_keys(part)
            if typing_cps > 0:
                time.sleep(1 / typing_cps)
        box.send_keys(Keys.ENTER)
        # waits in the page, not by asking it over and over: each question to the driver costs
        # both of them CPU, which the server's model (on the same machine here) would lose
        times = self.driver.execute_async_script(_TIMES_WHEN_PAINTED)
        self.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scores .rp-card")) == replies
                        and not any(w in shown_text(d, "#scores") for w in ("Notes coming", "Grading")))
        seen = {k: (times[k] - times["enter"]) / 1000 for k in ("own", "dom", "painted")}
        return {**seen, "enter_at": (times["origin"] + times["enter"]) / 1000}

    @property
    def hung_up(self) -> bool:
        return "hung up" in shown_text(self.driver, "#status")


def bench_gym(settings: Settings, latency_s: float | None = None) -> Gym:
    """The gym to measure: the fakes (the prospect's first word after ``latency_s``) when
    ``latency_s`` is given, else the settings' models, warmed up as ``roleplay serve`` does."""
    gym = Gym(settings, models=fake_models(latency_s) if latency_s is not None else None)
    gym.warm_up()  # the reader's encoder too, whatever the models
    return gym


def bench_browser(gym: Gym, serve: Callable[[Gym], AbstractContextManager[str]], turns: int = 10,
                  typing_cps: float = 0.0) -> dict[str, Any]:
    """Play ``turns`` typed replies in headless Chromium against the app ``serve`` serves over
    ``gym``, and time each from Enter to the prospect's first word (see the module docstring).
    Each reply is typed at ``typing_cps`` characters a second (0: all at once, as pasted).

    Raises:
        BrowserMissing: Chromium, its driver or Selenium is not installed.
    """
    per_turn: list[dict[str, Any]] = []
    with serve(gym) as url, chromium() as driver:
        page = _Page(driver)
        driver.get(url)
        page.start_call()
        replies = 0
        for n in range(1, turns + 1):
            if page.hung_up:  # a new call: its first turn is left out again
                page.start_call()
                replies = 0
            replies += 1
            seen = page.say(OPEN_QUESTIONS[(n - 1) % len(OPEN_QUESTIONS)], replies, typing_cps)
            gym.settle(timeout=WAIT_S)
            per_turn.append({"turn": n, "call_turn": replies, **_split(seen, _last_turn_times(gym)),
                             **_model_side(gym)})
            _progress("browser", per_turn[-1])
    return {"model": model_label(gym.models[Role.PROSPECT]), "turns": turns, "typing_cps": typing_cps,
            **browser_summary(per_turn),
            "per_turn": per_turn}


def _last_turn_times(gym: Gym) -> TurnTimes:
    (latest,) = gym.store.list_sessions(limit=1)
    return gym.call(latest["id"]).last_turn.times


def _model_side(gym: Gym) -> dict[str, Any]:
    """What the prospect's model had left to process when the turn came, and how long it waited
    for its slot (embedded model only: others say nothing)."""
    last_stats = getattr(gym.models[Role.PROSPECT], "last_stats", None)
    if last_stats is None:
        return {}
    stats = last_stats()
    return {"new_tokens": stats.new_tokens, "slot_wait_s": _round(stats.waited_s, 3)}


def _split(seen: dict[str, float], app: TurnTimes) -> dict[str, float | None]:
    """One turn's times from the Enter key: as the page saw them, and where the app's part went."""
    enter = seen["enter_at"]
    first_word = seen["painted"]

    def since(at: float | None) -> float | None:
        return None if at is None else at - enter

    ttft = app.first_words - app.asked if app.first_words and app.asked else None
    split = {
        "first_word_s": first_word, "dom_s": seen["dom"], "own_line_s": seen["own"],
        "model_ttft_s": ttft, "browser_path_s": first_word - ttft if ttft is not None else None,
        # the browser path in three parts: to the app taking the message, storing and reading it,
        # and from the model's first words to the screen
        "to_app_s": since(app.taken), "reading_s": app.asked - app.taken if app.asked else None,
        "to_screen_s": first_word - since(app.first_words) if app.first_words else None,
    }
    return {k: _round(v, 3) for k, v in split.items()}


def browser_summary(per_turn: list[dict[str, Any]]) -> dict[str, float | None]:
    """p50 and p95 of each time over the turns from a call's second on."""
    later = [t for t in per_turn if t["call_turn"] >= 2]
    out: dict[str, float | None] = {}
    for key in ("first_word_s", "own_line_s", "model_ttft_s", "browser_path_s", "to_app_s", "reading_s",
                "to_screen_s"):
        values = [t[key] for t in later if t[key] is not None]
        name = key.removesuffix("_s")
        out[f"{name}_p50"], out[f"{name}_p95"] = _round(percentile(values, 0.5), 3), _round(percentile(values, 0.95), 3)
    return out
