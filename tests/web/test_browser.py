"""The archive in a real browser: Debian's Chromium, headless, driven by Playwright.

Pages, search, pagination, a hostile title (no dialog, no script, the text shown as written),
phone-sized layout, contrast, keyboard use, and a screenshot of the front page written to
tests/artifacts/ (its path is printed at the end of the test run).

Playwright's own browser download is not used: the tests launch the Chromium the machine
has (`/usr/bin/chromium`, or `KOREAPAGE_TEST_CHROMIUM`), and skip with a message when there
is none. `.ci/run` installs Debian's `chromium` package when it is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from koreapage_bot.http import HttpServer
from tests.web.support import (
    ARTIFACTS,
    HOSTILE_SUMMARY,
    HOSTILE_TITLE,
    KOREAN_TITLE,
    Archive,
    record_artifact,
)

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")

from playwright.async_api import Browser, Dialog, Page, async_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    candidates = [os.environ.get("KOREAPAGE_TEST_CHROMIUM", ""), "/usr/bin/chromium"]
    candidates += [shutil.which(name) or "" for name in ("chromium", "chromium-browser")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip(
        "no Chromium found (/usr/bin/chromium or KOREAPAGE_TEST_CHROMIUM): install Debian's "
        "`chromium` package (`apt-get install -y chromium`; .ci/run does) to run the browser "
        "tests"
    )


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


def watch(page: Page) -> list[str]:
    """Everything that would mean a script ran or the page broke: dialogs, page errors,
    console errors (a CSP violation is one)."""
    seen: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        seen.append(f"dialog: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: seen.append(f"page error: {exc}"))
    page.on(
        "console", lambda msg: seen.append(f"console: {msg.text}") if msg.type == "error" else None
    )
    return seen


async def test_front_page_and_its_screenshot(
    page: Page, server: HttpServer, archive: Archive
) -> None:
    problems = watch(page)
    response = await page.goto(server.base_url + "/")
    assert response is not None and response.status == 200
    assert await page.title() == "Latest briefs · US–ROK alliance briefs"
    assert await page.locator("ol.briefs > li").count() == 5
    # Landmarks and the labelled search box, as assistive technology finds them.
    for role in ("banner", "main", "contentinfo"):
        assert await page.get_by_role(role).count() == 1, role  # type: ignore[arg-type]
    assert await page.get_by_role("navigation", name="Archive").count() == 1
    assert await page.get_by_role("search").count() == 1
    assert await page.get_by_role("searchbox", name="Search briefs").count() == 1
    # Our own stylesheet is allowed by the CSP and applied.
    max_width = await page.eval_on_selector("main", "el => getComputedStyle(el).maxWidth")
    assert max_width == "736px"
    korean = page.locator("article[lang=ko] h2")
    assert await korean.inner_text() == KOREAN_TITLE
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "front-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    record_artifact("front page screenshot", shot)
    assert problems == []


async def test_hostile_title_is_text_and_no_script_runs(
    page: Page, server: HttpServer, archive: Archive
) -> None:
    problems = watch(page)
    hostile = archive.briefs[-1]
    for path in ("/", f"/briefs/{hostile.id}", "/search?q=allies"):
        await page.goto(server.base_url + path)
        heading = page.locator(f"#brief-{hostile.id}, #brief-title").first
        assert await heading.inner_text() == HOSTILE_TITLE, path
        assert HOSTILE_SUMMARY in await page.locator("main").inner_text(), path
        assert await page.locator("script").count() == 0, path
        assert await page.locator("img").count() == 0, path
        assert "pwned" not in await page.title()
        assert await page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
    assert problems == []  # no alert() dialog, no error, no CSP report


async def test_search_from_the_form_and_page_through_results(
    page: Page, server: HttpServer, archive: Archive
) -> None:
    await page.goto(server.base_url + "/")
    await page.get_by_role("searchbox", name="Search briefs").fill("agenda item")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/search?q=agenda+item")
    assert await page.locator("h1").inner_text() == "Briefs matching “agenda item”"
    first = await page.locator("ol.briefs h2").all_inner_texts()
    assert len(first) == 5
    await page.get_by_role("link", name="More matches →").click()
    await page.wait_for_url("**/search?q=agenda+item&page=2")
    second = await page.locator("ol.briefs h2").all_inner_texts()
    assert len(second) == 5 and not set(first) & set(second)
    assert await page.get_by_role("searchbox").input_value() == "agenda item"
    await page.get_by_role("link", name="← Better matches").click()
    await page.wait_for_url("**/search?q=agenda+item")
    assert await page.locator("ol.briefs h2").all_inner_texts() == first


async def test_pagination_and_a_brief_page(
    page: Page, server: HttpServer, archive: Archive
) -> None:
    await page.goto(server.base_url + "/")
    titles: list[str] = []
    for number in (1, 2, 3):
        titles += await page.locator("ol.briefs h2").all_inner_texts()
        current = page.locator("nav.pager [aria-current=page]")
        assert await current.inner_text() == f"Page {number}"
        if number < 3:
            await page.get_by_role("link", name="Older →").click()
            await page.wait_for_url(f"**/?page={number + 1}")
    assert await page.get_by_role("link", name="Older →").count() == 0
    assert len(titles) == len(set(titles)) == len(archive.briefs)
    await page.get_by_role("link", name="← Newer").click()
    await page.wait_for_url("**/?page=2")

    await page.get_by_role("link", name="Alliance report number 04", exact=True).click()
    brief = next(b for b in archive.briefs if b.title == "Alliance report number 04")
    await page.wait_for_url(f"**/briefs/{brief.id}")
    facts = await page.locator("dl.facts").inner_text()
    for label in ("Source", "Author", "Published", "Key issues", "Original"):
        assert label in facts
    assert "Jane Doe" in facts and "Alliance Monitor" in facts
    original = page.get_by_role("link", name=brief.url or "")
    assert await original.get_attribute("rel") == "noopener noreferrer nofollow"
    await page.get_by_role("link", name="GSOMIA intelligence sharing").click()
    await page.wait_for_url("**/issues/gsomia")
    assert await page.locator("h1").inner_text() == "GSOMIA intelligence sharing"


async def test_readable_on_a_phone_and_with_the_keyboard(
    browser: Browser, server: HttpServer, archive: Archive
) -> None:
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True
    )
    try:
        phone = await context.new_page()
        for path in ("/", f"/briefs/{archive.briefs[-1].id}", "/issues"):
            await phone.goto(server.base_url + path)
            overflow = await phone.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
        # The first Tab reaches the skip link, which moves focus to the content.
        await phone.goto(server.base_url + "/")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "front-page-phone.png"
        await phone.screenshot(path=str(shot))
        record_artifact("front page on a phone", shot)
        font = await phone.eval_on_selector(".summary", "el => getComputedStyle(el).fontSize")
        assert float(font.removesuffix("px")) >= 16
        await phone.keyboard.press("Tab")
        focused = await phone.evaluate("() => document.activeElement.textContent")
        assert focused == "Skip to content"
        await phone.keyboard.press("Enter")
        assert await phone.evaluate("() => document.activeElement.id") == "main"
    finally:
        await context.close()


CONTRAST = """
(selectors) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bg = lum(rgb(getComputedStyle(document.body).backgroundColor));
  return selectors.map((s) => {
    const fg = lum(rgb(getComputedStyle(document.querySelector(s)).color));
    return [s, (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)];
  });
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_text_contrast_meets_wcag_aa(
    page: Page, server: HttpServer, archive: Archive, scheme: Any
) -> None:
    await page.emulate_media(color_scheme=scheme)
    await page.goto(server.base_url + "/")
    selectors = ["body", ".meta", ".summary", "ol.briefs h2 a", ".issues a", "footer.site"]
    ratios = await page.evaluate(CONTRAST, selectors)
    for selector, ratio in ratios:
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f} in the {scheme} scheme"


def test_artifacts_folder_is_ignored_by_git() -> None:
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text(encoding="utf-8")
    assert "tests/artifacts/" in ignored.splitlines()
