"""Touching the terminal's real UI from a script: headless Chromium through Playwright in a touch context,
with the gestures a person makes (tap a button by its label, tap digits on the on-screen keypad, tap
letters on the on-screen keyboard, wait for a text) and numbered screenshots of each screen. Taps only:
no clicks, no typing into fields, no key presses."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
VIEWPORT: ViewportSize = {"width": 1920, "height": 1080}  # a landscape touchscreen
ACTION_TIMEOUT_MS = 20_000
HOME_HEADING = "您好！请问要办什么事？"


@contextmanager
def open_browser(executable: str = CHROMIUM) -> Iterator[Any]:
    """A headless Chromium page (Playwright's sync API). Raises RuntimeError when Playwright is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise RuntimeError("the headless morning needs Playwright (pip install playwright)") from exc
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", has_touch=True)
            page = context.new_page()
            page.set_default_timeout(ACTION_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


class Screen:
    """One page of the terminal UI with the gestures of the scripted morning."""

    def __init__(self, page: Any, url: str, shots_dir: Path) -> None:
        self.page = page
        self.url = url
        self.shots_dir = shots_dir
        self.shots: list[Path] = []
        shots_dir.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> Path:
        """Screenshot of the whole screen as ``NN-name.png``, and the text a person sees on it as
        ``NN-name.txt`` (so that the proof of privacy can search what every screen showed)."""
        path = self.shots_dir / f"{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        path.with_suffix(".txt").write_text(self.page.inner_text("body"), "utf-8")
        self.shots.append(path)
        return path

    def home(self) -> None:
        """Fresh page on the home screen (a reload also drops any page state of an earlier visitor).
        A navigation the page started itself (its reset after a session) may abort ours: then wait for
        it to finish and go again."""
        from playwright.sync_api import Error as PlaywrightError

        for attempt in range(3):
            try:
                self.page.goto(self.url)
                break
            except PlaywrightError as exc:
                if not ("ERR_ABORTED" in str(exc) or "interrupted by another navigation" in str(exc)) \
                        or attempt == 2:
                    raise
                self.page.wait_for_load_state()
        self.see_heading(HOME_HEADING)

    def reset_between_visitors(self) -> None:
        """Ends whatever session the terminal still holds, as its inactivity timeout would, so that one
        scene's visitor (say, an agent left logged in by a failed scene) never leaks into the next."""
        self.page.goto("about:blank")  # no page listening: no reset reload racing the next navigation
        token = self.page.request.get(self.url + "api/token").json()["token"]
        self.page.request.post(self.url + "api/session/end", data={}, headers={"X-Kiosk-Token": token})

    def end_session(self, label: str, tile: bool = False) -> None:
        """Taps the button (or tile) that ends the visit and waits for the page's reset to show home."""
        if tile:
            self.tap_tile(label)
        else:
            self.tap(label)
        self.see_heading(HOME_HEADING)

    def tap(self, label: str, exact: bool = True, within: Any = None) -> None:
        """Taps the first visible button whose accessible name is ``label`` (or contains it)."""
        scope = within if within is not None else self.page
        name = label if exact else re.compile(re.escape(label))
        scope.get_by_role("button", name=name, exact=exact).first.tap()

    def tap_tile(self, text: str) -> None:
        self.page.locator("button.tile", has_text=text).first.tap()

    def tap_item(self, text: str) -> None:
        """A row of a list screen (search results, situations)."""
        self.page.locator("button.item-link", has_text=text).first.tap()

    def keypad(self, digits: str, index: int = 0) -> None:
        """Types ``digits`` on the ``index``-th on-screen keypad of the screen."""
        pad = self.page.locator(".keypad").nth(index)
        for digit in digits:
            pad.get_by_role("button", name=digit, exact=True).tap()

    def search(self, query: str) -> None:
        """From the home screen: 搜索事项, the letters of ``query`` on the on-screen keyboard, then 搜索."""
        self.tap_tile("搜索事项")
        for letter in query:
            self.page.locator(f".kbd button[data-key='{letter}']").first.tap()
        self.page.locator(".kbd button[data-key='搜索']").first.tap()
        self.page.get_by_text("的搜索结果").first.wait_for(state="visible")

    def see(self, text: str, timeout_ms: int = ACTION_TIMEOUT_MS) -> None:
        """Waits until ``text`` is visible somewhere on the page. Raises Playwright's TimeoutError."""
        self.page.get_by_text(text).first.wait_for(state="visible", timeout=timeout_ms)

    def see_heading(self, text: str, timeout_ms: int = ACTION_TIMEOUT_MS) -> None:
        self.page.get_by_role("heading", name=text).first.wait_for(state="visible", timeout=timeout_ms)

    def text_of(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()
