"""The dashboard's page in headless Chromium: charts drawn from the history (today against yesterday,
daily bars), a three-phase site with a battery in the split layout, French and English, a phone."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from browser_helpers import TIMEOUT_MS, chromium, daemon_running, sim_call, simulated, site_config
from playwright.async_api import Page

PARIS = ZoneInfo("Europe/Paris")
CONSUMPTION_RGB = (36, 89, 168)  # the consumption colour in app.js


async def _wait_live(page: Page) -> None:
    await page.wait_for_selector('#live[data-state="live"]', timeout=TIMEOUT_MS)


async def _coloured_pixels(page: Page, selector: str, rgb: tuple[int, int, int]) -> int:
    """How many pixels of the chart's canvas are drawn in ``rgb`` (the series is really drawn)."""
    return int(
        await page.evaluate(
            """([selector, [r, g, b]]) => {
                const canvas = document.querySelector(selector + ' canvas');
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let n = 0;
                for (let i = 0; i < data.length; i += 4)
                    if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 30
                        && data[i + 3] > 200) n++;
                return n;
            }""",
            [selector, list(rgb)],
        )
    )


async def test_charts_three_phases_battery_and_split_layout(tmp_path: Path) -> None:
    before_midnight = datetime(2024, 5, 15, 23, 0, tzinfo=PARIS)
    async with simulated("three-phase-battery", speed=600, start=before_midnight) as (sim, source):
        config = site_config(sim, source, tmp_path / "state", publish={"layout": "split"})
        async with daemon_running(config, source) as daemon:
            for _ in range(1200):  # the history holds an hour of yesterday and some of today
                latest = daemon.latest_snapshot()
                if latest is not None and latest.time >= datetime(2024, 5, 16, 0, 40, tzinfo=PARIS):
                    break
                await asyncio.sleep(0.1)
            await sim_call(sim, "POST", "/simulator/clock", {"pause": True})  # figures hold still
            async with chromium() as browser:
                page = await browser.new_page(locale="en-GB", viewport={"width": 1280, "height": 900})
                await page.goto(f"{daemon.web_url}/")
                await _wait_live(page)
                await page.wait_for_selector("#day-chart[data-yesterday] canvas", timeout=TIMEOUT_MS)
                await page.wait_for_selector("#month-chart[data-points] canvas", timeout=TIMEOUT_MS)
                day = page.locator("#day-chart")
                assert int(await day.get_attribute("data-yesterday") or 0) >= 3
                assert int(await day.get_attribute("data-today") or 0) >= 3
                assert await page.locator("#week-chart").get_attribute("data-points") == "2"
                assert await page.locator("#month-chart").get_attribute("data-points") == "2"
                # lines of the day, and the bars (today's still small, a few pixels high)
                for chart, least in (("#day-chart", 20), ("#week-chart", 10), ("#month-chart", 10)):
                    assert await _coloured_pixels(page, chart, CONSUMPTION_RGB) >= least, chart
                assert "Consumption (yesterday)" in await day.inner_text()

                rows = page.locator("#phases tbody tr")
                assert await page.locator("#phases").is_visible()
                assert await rows.count() == 3
                assert (await rows.nth(2).locator("th").text_content()) == "L3"
                await page.wait_for_timeout(2500)  # a tick of the paused simulator has reached the page
                snapshot = daemon.latest_snapshot()
                assert snapshot is not None
                assert snapshot.storage is not None
                battery = page.locator('#flow [data-node="battery"]')
                assert await battery.is_visible()
                soc = float(await battery.get_attribute("data-soc") or "nan")
                assert soc == snapshot.storage.soc_pct
                assert " %" in (await battery.locator(".sub").text_content() or "")

                assert await page.locator("#blocks").get_attribute("data-layout") == "split"
                devices = await page.locator("#blocks > .block").evaluate_all(
                    "blocks => blocks.map(b => b.dataset.device)"
                )
                assert devices == ["prod", "conso_total", "conso_net", "bat"]
                storage_block = page.locator('#blocks [data-device="bat"]')
                assert "Battery charge" in await storage_block.inner_text()
                assert await page.locator("#inverters .tile").count() == 16
                await page.screenshot(path=tmp_path / "three-phase-split.png", full_page=True)


async def test_french_and_english_pages(tmp_path: Path) -> None:
    async with simulated("single-phase", start=datetime(2024, 6, 21, 12, tzinfo=PARIS)) as (sim, source):
        config = site_config(sim, source, tmp_path / "state")
        async with daemon_running(config, source) as daemon, chromium() as browser:
            french = await browser.new_page(locale="fr-FR")
            await french.goto(f"{daemon.web_url}/")
            await _wait_live(french)
            assert await french.get_attribute("html", "lang") == "fr"
            assert await french.text_content("h1") == "Installation solaire"
            assert await french.text_content('#flow [data-node="solar"] .label') == "Solaire"
            assert (await french.text_content("#live") or "").startswith("En direct")
            assert await french.locator("#blocks").get_attribute("data-layout") == "single"
            block = await french.inner_text("#blocks")
            assert "Prod Inst" in block  # the figures table's French names
            assert "Import Jour Réseau" in block
            assert "," in (await french.text_content('#flow [data-node="solar"] .value') or "")  # 2,51 kW
            await french.screenshot(path=tmp_path / "fr.png", full_page=True)

            await french.select_option("#lang", "en")
            assert await french.text_content("h1") == "Solar installation"
            assert "Grid import today" in await french.inner_text("#blocks")
            await french.reload()
            await _wait_live(french)
            assert await french.text_content("h1") == "Solar installation"  # the choice is kept

            english = await browser.new_page(locale="en-US")
            await english.goto(f"{daemon.web_url}/")
            await _wait_live(english)
            assert await english.get_attribute("html", "lang") == "en"
            assert await english.text_content("#today-title") == "Today"
            assert "Production today" in await english.inner_text("#blocks")
            await english.screenshot(path=tmp_path / "en.png", full_page=True)


async def test_phone_sized_viewport(tmp_path: Path) -> None:
    async with simulated("single-phase", start=datetime(2024, 6, 21, 12, tzinfo=PARIS)) as (sim, source):
        config = site_config(sim, source, tmp_path / "state")
        async with daemon_running(config, source) as daemon, chromium() as browser:
            page = await browser.new_page(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
            )
            await page.goto(f"{daemon.web_url}/")
            await _wait_live(page)
            await page.wait_for_selector("#day-chart canvas", timeout=TIMEOUT_MS)
            widths = await page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1], f"the page scrolls sideways on a phone: {widths}"
            flow = await page.locator("#flow").bounding_box()
            assert flow is not None
            assert 250 <= flow["width"] <= 390
            for section in ("#flow-section", "#today-section", "#inverters-section", "#health-section"):
                box = await page.locator(section).bounding_box()
                assert box is not None, section
                assert 0 <= box["x"] <= box["x"] + box["width"] <= 390, section
            unnamed = await page.evaluate(
                """[...document.querySelectorAll('button, select, input, meter')]
                    .filter(e => !(e.labels && e.labels.length) && !e.textContent.trim()
                                 && !e.getAttribute('aria-label')).length"""
            )
            assert unnamed == 0, "every control has a name for screen readers"
            await page.screenshot(path=tmp_path / "phone.png", full_page=True)


SHADED_SITE = """
name = "shaded"
timezone = "Europe/Paris"
start = "2024-06-21T12:00:00"
phases = "single"
seed = 5
[gateway]
serial = "122238082799"
part_number = "800-00654-r08"
firmware = "7.6.175"
[cts]
production = true
consumption = "net"
[[inverters]]
count = 7
peak_w = 366
[[inverters]]
count = 1
peak_w = 90
[sun]
latitude = 48.85
longitude = 2.35
clouds = 0.0
[load]
base_w = [450]
noise = 0.1
"""


async def test_a_panel_far_below_the_others_is_highlighted(tmp_path: Path) -> None:
    scenario = tmp_path / "shaded.toml"
    scenario.write_text(SHADED_SITE)
    async with simulated(str(scenario)) as (sim, source):
        config = site_config(sim, source, tmp_path / "state")
        async with daemon_running(config, source) as daemon, chromium() as browser:
            page = await browser.new_page(locale="en-GB")
            await page.goto(f"{daemon.web_url}/")
            await _wait_live(page)
            tiles = page.locator("#inverters .tile")
            await page.wait_for_function("document.querySelectorAll('#inverters .tile').length === 8")
            flagged = page.locator("#inverters .tile.flagged")
            assert await flagged.count() == 1
            assert await flagged.get_attribute("data-flag") == "low"
            assert "far below the others" in await flagged.inner_text()
            snapshot = daemon.latest_snapshot()
            assert snapshot is not None
            weakest = min(snapshot.inverters, key=lambda i: i.power_w or 0)
            assert await flagged.get_attribute("data-serial") == weakest.serial
            colours = await tiles.evaluate_all("tiles => tiles.map(t => getComputedStyle(t).backgroundColor)")
            assert len(set(colours)) > 1  # coloured by output: the weak one differs
            await page.screenshot(path=tmp_path / "inverters.png", full_page=True)
