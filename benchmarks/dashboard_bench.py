"""Dashboard benchmark: what the page costs. First load (bytes transferred, time to first paint and to
the first live figures, on loopback) and the daemon CPU that one open tab adds.

    .venv/bin/python benchmarks/dashboard_bench.py [--minutes 10] [--scenario three-phase-battery]

`enphase-secure demo` runs in its own process (its simulator inside); only that process is measured,
from /proc: first a window of `minutes` with no page open, then the same window with one headless
Chromium tab on the dashboard (live updates every second). The difference is the tab's cost. Targets
(issue 12): first load < 300 KB, first paint < 1 s, added daemon CPU < 1 % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from daemon_bench import sample_process, subprocess_logged, wait_for_line

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # for daemon_helpers
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "web"))
from browser_helpers import TIMEOUT_MS, chromium

SETTLE_S = 3.0  # after the load event: the stream's first event and the charts' history requests


async def cpu_over(pid: int, seconds: float) -> float:
    """CPU seconds the process used over the next ``seconds``."""
    before = sample_process(pid).cpu_s
    await asyncio.sleep(seconds)
    return sample_process(pid).cpu_s - before


async def first_load(url: str, page: Any) -> dict[str, float]:
    """Bytes on the wire for the page and everything it loads, and its paint timings (ms)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    finished: dict[str, float] = {}
    streamed: dict[str, float] = {}
    cdp.on("Network.loadingFinished", lambda e: finished.__setitem__(e["requestId"], e["encodedDataLength"]))
    cdp.on(
        "Network.dataReceived",
        lambda e: streamed.__setitem__(
            e["requestId"], streamed.get(e["requestId"], 0) + e["encodedDataLength"]
        ),
    )
    await page.goto(f"{url}/", wait_until="load")
    await page.wait_for_selector('#live[data-state="live"]', timeout=TIMEOUT_MS)
    await asyncio.sleep(SETTLE_S)
    timings = await page.evaluate(
        """() => {
            const paints = performance.getEntriesByType('paint');
            const paint = Object.fromEntries(paints.map(p => [p.name, p.startTime]));
            const nav = performance.getEntriesByType('navigation')[0];
            return {first_paint_ms: paint['first-paint'],
                    first_contentful_paint_ms: paint['first-contentful-paint'],
                    load_ms: nav.loadEventEnd};
        }"""
    )
    still_open = {rid: n for rid, n in streamed.items() if rid not in finished}  # the event stream
    return {
        "first_load_bytes": sum(finished.values()) + sum(still_open.values()),
        "requests": len(finished) + len(still_open),
        **timings,
    }


async def live_figures_ms(url: str, page: Any) -> float:
    """From navigation start to the first live figures shown (the stream's first event rendered)."""
    await page.goto(f"{url}/", wait_until="commit")
    await page.wait_for_selector('#live[data-state="live"]', timeout=TIMEOUT_MS)
    return float(await page.evaluate("performance.now()"))


async def bench(minutes: float, scenario: str, work: Path) -> None:
    window_s = minutes * 60
    async with subprocess_logged(
        work / "demo.log", "demo", "--listen", "127.0.0.1:0", "--scenario", scenario
    ) as proc:
        url = (await wait_for_line(work / "demo.log", r"dashboard (http://127\.0\.0\.1:\d+)/", proc)).group(1)
        await asyncio.sleep(5)  # past the start-up reads
        print(f"window: {window_s:.0f} s without a page, then {window_s:.0f} s with one tab", flush=True)
        idle_cpu = await cpu_over(proc.pid, window_s)
        async with chromium() as browser:
            load = await first_load(url, await browser.new_page())
            live_ms = await live_figures_ms(url, await browser.new_page())
            page = await browser.new_page()
            await page.goto(f"{url}/")
            await page.wait_for_selector('#live[data-state="live"]', timeout=TIMEOUT_MS)
            await asyncio.sleep(2)
            started = time.monotonic()
            tab_cpu = await cpu_over(proc.pid, window_s)
            shown = await page.get_attribute("#live", "data-state")
            elapsed = time.monotonic() - started
    idle_pct, tab_pct = 100 * idle_cpu / window_s, 100 * tab_cpu / elapsed
    print(
        f"first load: {load['first_load_bytes'] / 1024:.1f} KiB in {load['requests']} requests"
        " (target < 300 KB)"
    )
    print(
        f"first paint: {load['first_paint_ms']:.0f} ms, "
        f"first contentful paint {load['first_contentful_paint_ms']:.0f} ms, "
        f"load event {load['load_ms']:.0f} ms (target < 1000 ms); first live figures {live_ms:.0f} ms"
    )
    print(f"daemon CPU: {idle_pct:.2f} % without a page, {tab_pct:.2f} % with one tab (page still {shown})")
    print(f"added by the tab: {tab_pct - idle_pct:.2f} % of one core (target < 1 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="each CPU window (default 10)")
    parser.add_argument("--scenario", default="three-phase-battery")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as work:
        asyncio.run(bench(args.minutes, args.scenario, Path(work)))


if __name__ == "__main__":
    main()
