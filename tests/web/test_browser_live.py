"""The live part of the dashboard in headless Chromium: the flow shows the simulator's figures and
follows a load switched on within 2 s, the stream comes back by itself after a daemon restart, and an
override button switches a stage whose action switches the simulator's load."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from browser_helpers import TIMEOUT_MS, chromium, daemon_running, sim_call, simulated, site_config
from playwright.async_api import Page

from enphase_secure.web.security import API_TOKEN_FILE
from loopback import free_port

PARIS = ZoneInfo("Europe/Paris")
NOON = datetime(2024, 6, 21, 12, 0, tzinfo=PARIS)
HOUSE = '#flow [data-node="house"] .value'
SOLAR = '#flow [data-node="solar"] .value'


async def _shown_w(page: Page, selector: str) -> int:
    return int(await page.get_attribute(selector, "data-w") or "nan")


async def _wait_live(page: Page) -> None:
    await page.wait_for_selector('#live[data-state="live"]', timeout=TIMEOUT_MS)


async def test_flow_shows_the_simulator_and_follows_a_load_within_2_s(tmp_path: Path) -> None:
    async with simulated("single-phase", start=NOON) as (sim, source):
        await sim_call(sim, "POST", "/simulator/clock", {"pause": True})  # figures hold still
        config = site_config(sim, source, tmp_path / "state")
        async with daemon_running(config, source) as daemon, chromium() as browser:
            page = await browser.new_page(locale="en-GB")
            await page.goto(f"{daemon.web_url}/")
            await _wait_live(page)
            truth = (await sim_call(sim, "GET", "/simulator/truth"))["power_w"]
            assert abs(await _shown_w(page, SOLAR) - truth["production"][0]) <= 1
            house_before = await _shown_w(page, HOUSE)
            assert abs(house_before - truth["consumption"][0]) <= 1
            assert await page.text_content(HOUSE) == (
                f"{house_before / 1000:.2f} kW" if house_before >= 1000 else f"{house_before} W"
            )
            await page.screenshot(path=tmp_path / "flow-before.png", full_page=True)

            switched = time.monotonic()
            await sim_call(sim, "POST", "/simulator/loads/water-heater/on")
            await page.wait_for_function(
                f"Number(document.querySelector('{HOUSE}').dataset.w) >= {house_before + 1990}",
                timeout=TIMEOUT_MS,
            )
            elapsed = time.monotonic() - switched
            assert elapsed < 2.0, f"the flow took {elapsed:.2f} s to show the load"
            truth = (await sim_call(sim, "GET", "/simulator/truth"))["power_w"]
            assert abs(await _shown_w(page, HOUSE) - truth["consumption"][0]) <= 1
            await page.screenshot(path=tmp_path / "flow-after.png", full_page=True)


async def test_stream_reconnects_after_a_daemon_restart(tmp_path: Path) -> None:
    async with simulated("single-phase", start=NOON) as (sim, source):
        config = site_config(sim, source, tmp_path / "state")
        async with chromium() as browser:
            page = await browser.new_page()
            async with daemon_running(config, source) as daemon:
                url = daemon.web_url
                assert url is not None
                await page.goto(f"{url}/")
                await _wait_live(page)
            # the daemon is gone: the page says so instead of showing old figures as live
            await page.wait_for_selector('#live[data-state="stale"]', timeout=TIMEOUT_MS)
            assert await page.evaluate("document.body.classList.contains('stale')")
            seen = await page.text_content("#live")
            again = site_config(sim, source, tmp_path / "state", web={"listen": url.removeprefix("http://")})
            async with daemon_running(again, source):
                await _wait_live(page)  # no reload: EventSource came back by itself
                await page.wait_for_function(
                    f"document.querySelector('#live').textContent !== {seen!r}", timeout=TIMEOUT_MS
                )
                assert not await page.evaluate("document.body.classList.contains('stale')")
                await page.screenshot(path=tmp_path / "reconnected.png")


def _stage(sim_url: str) -> dict[str, object]:
    def action(switch: str) -> dict[str, object]:
        return {"http": {"url": f"{sim_url}/simulator/loads/water-heater/{switch}", "verify_tls": False}}

    return {
        "name": "water heater",
        "load_w": 2000,
        "start_above_w": 50_000,  # never by itself: only the buttons switch it
        "stop_below_w": 40_000,
        "start_delay_s": 60,
        "stop_delay_s": 60,
        "min_on_s": 0,
        "min_off_s": 0,
        "on": action("on"),
        "off": action("off"),
    }


async def test_override_buttons_switch_the_stage_and_the_load(tmp_path: Path) -> None:
    async with simulated("single-phase", start=NOON) as (sim, source):
        config = site_config(sim, source, tmp_path / "state", control={"stages": [_stage(sim.gateway_url)]})
        async with daemon_running(config, source) as daemon, chromium() as browser:
            page = await browser.new_page(locale="en-GB")
            await page.goto(f"{daemon.web_url}/")
            await _wait_live(page)
            stage = page.locator('#stages [data-stage="water heater"]')
            await stage.wait_for(timeout=TIMEOUT_MS)
            assert await stage.get_attribute("data-on") == "false"
            assert await stage.locator('button[data-mode="auto"]').get_attribute("aria-pressed") == "true"

            await stage.locator('button[data-mode="on"]').click()
            # writes need the API token (generated into the state dir): the page asks for it once
            await page.wait_for_selector("#token-dialog[open]", timeout=TIMEOUT_MS)
            token = (tmp_path / "state" / API_TOKEN_FILE).read_text().strip()
            await page.fill("#token-input", token)
            await page.click('#token-dialog button[value="ok"]')
            await page.wait_for_selector(
                '#stages [data-stage="water heater"][data-on="true"][data-mode="on"]', timeout=TIMEOUT_MS
            )
            outcome = stage.locator(".outcome")
            await page.wait_for_selector('#stages .outcome[data-status="ok"]', timeout=TIMEOUT_MS)
            assert "On (http) succeeded" in (await outcome.text_content() or "")
            assert (await sim_call(sim, "GET", "/simulator/loads"))["water-heater"] is True
            assert await stage.locator('button[data-mode="on"]').get_attribute("aria-pressed") == "true"
            assert (await stage.locator(".timers").text_content() or "").startswith("today ")  # runtime
            await page.screenshot(path=tmp_path / "stage-on.png", full_page=True)

            await stage.locator('button[data-mode="off"]').click()
            assert not await page.locator("#token-dialog[open]").count()  # asked once, then remembered
            await page.wait_for_selector(
                '#stages [data-stage="water heater"][data-on="false"][data-mode="off"]', timeout=TIMEOUT_MS
            )
            for _ in range(100):
                if not (await sim_call(sim, "GET", "/simulator/loads"))["water-heater"]:
                    break
                await page.wait_for_timeout(100)
            assert (await sim_call(sim, "GET", "/simulator/loads"))["water-heater"] is False


async def test_a_silent_gateway_is_shown_stale_never_as_zero(tmp_path: Path) -> None:
    async with simulated("single-phase", start=NOON) as (sim, source):
        config = site_config(sim, source, tmp_path / "state")
        async with daemon_running(config, source) as daemon, chromium() as browser:
            page = await browser.new_page(locale="en-GB")
            await page.goto(f"{daemon.web_url}/")
            await _wait_live(page)
            assert await _shown_w(page, SOLAR) > 0
            await sim_call(sim, "POST", "/simulator/faults", {"kind": "status", "status": 503})
            await page.wait_for_selector('#live[data-state="stale"]', timeout=TIMEOUT_MS)
            assert await page.text_content("#live-state") == "Stale: /ivp/meters/readings: HTTP 503"
            assert (await page.text_content("#live-detail") or "").startswith("for ")
            for node in ("solar", "house", "grid"):
                value = page.locator(f'#flow [data-node="{node}"] .value')
                assert await value.text_content() == "—", node
                assert await value.get_attribute("data-w") == "", node
            assert await page.text_content('#health dd[data-key="gateway_online"]') == "no"
            await page.screenshot(path=tmp_path / "stale.png", full_page=True)
            await sim_call(sim, "DELETE", "/simulator/faults")
            await _wait_live(page)
            assert await _shown_w(page, SOLAR) > 0


async def test_a_switching_that_fails_is_shown_with_its_error(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # a loopback port nobody listens on
    async with simulated("single-phase", start=NOON) as (sim, source):
        config = site_config(sim, source, tmp_path / "state", control={"stages": [_stage(dead)]})
        async with daemon_running(config, source) as daemon, chromium() as browser:
            page = await browser.new_page(locale="fr-FR")
            await page.goto(f"{daemon.web_url}/")
            await _wait_live(page)
            token = (tmp_path / "state" / API_TOKEN_FILE).read_text().strip()
            await page.evaluate("t => localStorage.setItem('enphase-secure.api-token', t)", token)
            stage = page.locator('#stages [data-stage="water heater"]')
            await stage.locator('button[data-mode="on"]').click()
            await page.wait_for_selector('#stages [data-delivery="failed"]', timeout=TIMEOUT_MS)
            timers = await stage.locator(".timers").text_content() or ""
            assert "commutation échouée" in timers
            assert "nouvel essai dans" in timers
            assert await stage.locator(".outcome").get_attribute("data-status") == "failed"
            await page.screenshot(path=tmp_path / "stage-failed.png", full_page=True)
