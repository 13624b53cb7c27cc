"""Instructions per fast tick of the whole daemon, counted by callgrind: load-independent CPU figures.

    valgrind must be installed (apt install valgrind)
    .venv/bin/python benchmarks/daemon_instructions.py [--seconds 60] [--scenario three-phase-battery]

On a shared or busy machine, CPU time per tick varies by a factor of two from run to run; the number of
instructions the process executes does not (to a few parts per thousand). The simulator serves with
`--latency real` in its own process; `enphase-secure run` (default configuration, 1 s polling, history
on) runs under `valgrind --tool=callgrind` with instrumentation off through its start-up, switched on
after a few fast reads for `seconds` of real time, then off. Printed: instructions per fast tick (all
loops, networking, TLS, the event loop and history included), split by the shared object they ran in.
"""

from __future__ import annotations

import asyncio
import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
from daemon_bench import (
    after_fast_read,
    client_context,
    daemon_running,
    fast_reads,
    get_json,
    loop_reads,
    per_loop,
    run_bench,
    simulator_running,
    write_config,
)

WARM_UP_READS = 5
SHOWN_OBJECTS = 8


def callgrind_control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True)


def instructions_by_object(profile: Path) -> tuple[int, collections.Counter[str]]:
    """All instructions of ``profile``'s dump, and the self instructions per shared object (the
    ``[object]`` of a function line; code inlined from headers has none)."""
    dump = next(profile.parent.glob(f"{profile.name}.*"))
    annotated = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(dump)], check=True, capture_output=True, text=True
    ).stdout
    total = int(re.search(r"([\d,]+) .*PROGRAM TOTALS", annotated)[1].replace(",", ""))  # type: ignore[index]
    by_object: collections.Counter[str] = collections.Counter()
    for line in annotated.splitlines():
        if match := re.match(r"\s*([\d,]+) .*\[(.+)\]$", line):
            by_object[Path(match[2]).name] += int(match[1].replace(",", ""))
    by_object["(inlined, no object named)"] = total - sum(by_object.values())
    return total, by_object


async def bench(seconds: float, scenario: str, work: Path) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt install valgrind)")
    profile = work / "callgrind.out"
    launcher = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={profile}")
    config = work / "config.toml"
    async with (
        simulator_running(work, scenario, "--latency", "real") as gateway,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_context())) as http,
    ):
        write_config(config, gateway_url=gateway, token_file=work / "token", state_dir=work / "state")
        async with daemon_running(work / "daemon.log", config, launcher) as (daemon, api):
            status_url = f"{api}/api/status"
            before = await after_fast_read(http, status_url, WARM_UP_READS)
            callgrind_control("--instr=on", daemon.pid)
            await asyncio.sleep(seconds)
            callgrind_control("--instr=off", daemon.pid)
            after = await get_json(http, status_url)
            callgrind_control("--dump", daemon.pid)
    ticks = fast_reads(after) - fast_reads(before)
    reads = {name: count - loop_reads(before).get(name, 0) for name, count in loop_reads(after).items()}
    total, by_object = instructions_by_object(profile)
    lines = [
        f"daemon instructions: scenario {scenario}, simulator --latency real, window {seconds:g} s",
        f"loop reads in window: {per_loop(reads)}",
        f"instructions per fast tick (whole daemon): {total / ticks / 1e6:.3f} M ({total / 1e6:.1f} M "
        f"for {ticks} fast ticks)",
        *(f"  {name}: {count / ticks / 1e6:.3f} M" for name, count in by_object.most_common(SHOWN_OBJECTS)),
    ]
    print("\n".join(lines))


def main() -> None:
    run_bench(__doc__.splitlines()[0], "measured window (real seconds)", bench, default_s=60.0)


if __name__ == "__main__":
    main()
