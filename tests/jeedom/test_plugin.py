"""The plugin in a real Jeedom 4.5.3: installed from its zip, configured through Jeedom's API, its daemon
started by Jeedom against the simulator. Tests share one Jeedom and run in this order."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jeedom_kit import PLUGIN, Jeedom, build_zip, install_from_zip, wait_for

from conftest import Simulators
from enphase_secure.outputs.figures import INVERTER_FIGURES, Device, SiteShape, site_points
from enphase_secure.outputs.jeedom import COMBINED, DEVICE_EQUIPMENT, LAYOUT_EQUIPMENT, ORIGINAL_INVERTER_IDS

SPLIT = {device: eq for device, (eq, _) in DEVICE_EQUIPMENT.items()}
P, BAT = Device.PRODUCTION, Device.STORAGE


def configure(jeedom: Jeedom, sim: dict[str, str], **keys: Any) -> None:
    settings = {"ctoken": "manu", "token": sim["token"], "ip": sim["host"], "serie": sim["serial"]}
    for key, value in {**settings, **keys}.items():
        jeedom.config(key, value)


def daemon_pid(jeedom: Jeedom) -> int:
    return int((jeedom.dir / "tmp" / PLUGIN / "deamon.pid").read_text())


def api(jeedom: Jeedom, path: str, port: int | None = None) -> Any:
    """GET the daemon's own API (on 127.0.0.1:socketport)."""
    port = port or int(jeedom.rpc("config::byKey", key="socketport", plugin=PLUGIN))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return json.loads(resp.read())


def started(jeedom: Jeedom) -> int:
    """Start the daemon as the plugin page's button does; its pid once Jeedom sees it running."""
    jeedom.rpc("plugin::deamonStart", plugin_id=PLUGIN, forceRestart=True)
    wait_for("the daemon", lambda: jeedom.daemon()["state"] == "ok", timeout=30)
    return daemon_pid(jeedom)


def running(jeedom: Jeedom) -> int:
    """The daemon's pid, started when an earlier test did not leave it running."""
    return daemon_pid(jeedom) if jeedom.daemon()["state"] == "ok" else started(jeedom)


def site_equipment(jeedom: Jeedom) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in jeedom.equipment().items() if k in LAYOUT_EQUIPMENT}


def serving(jeedom: Jeedom, serial: str) -> dict[str, Any]:
    """The daemon's snapshot once it reads the gateway `serial`, fully probed: the first snapshots
    come before the full probe (without the inverters, the battery...), the next fast read after it."""
    probed = wait_for(
        f"gateway {serial} probed (its slow loops running)",
        lambda: (
            (status := api(jeedom, "/api/status"))["gateway"]["serial"] == serial
            and "info" in status["loops"]
            and status
        ),
        timeout=30,
    )
    reads = probed["loops"]["fast"]["reads"]
    return wait_for(
        f"a snapshot of gateway {serial} after its probe",
        lambda: api(jeedom, "/api/status")["loops"]["fast"]["reads"] > reads and api(jeedom, "/api/snapshot"),
        timeout=30,
    )


def expected_site_ids(snapshot: dict[str, Any]) -> set[str]:
    return {p.jeedom_id for p in site_points(SiteShape.of(snapshot)) if p.jeedom_id}


def equal(jeedom_value: Any, value: Any) -> bool:
    if value is None:
        return jeedom_value == ""
    if isinstance(value, bool):
        return int(jeedom_value) == int(value)
    return abs(float(jeedom_value) - float(value)) <= max(1.0, abs(float(value)) * 0.001)


def check_values(jeedom: Jeedom, eq: dict[str, Any], snapshot: dict[str, Any]) -> None:
    by_id = {p.jeedom_id: p for p in site_points(SiteShape.of(snapshot))}
    cmds = {lid: c for lid, c in eq["cmds"].items() if lid in by_id}
    values = jeedom.values([int(c["id"]) for c in cmds.values()])
    document = {**snapshot, "voltage_v": None}
    wrong = {}
    for lid, cmd in cmds.items():
        point = by_id[lid]
        if lid == "tension" or point.path.startswith("health."):
            continue  # the voltage and the service's health are not in /api/snapshot
        if not equal(values[int(cmd["id"])], point.value(document)):
            wrong[lid] = (values[int(cmd["id"])], point.value(document))
    assert not wrong, f"Jeedom value != /api/snapshot: {wrong}"


def test_installed_from_the_zip_with_dependencies(jeedom: Jeedom) -> None:
    plugins = jeedom.jctl("plugin-list")
    assert f"{PLUGIN}\tactive=1" in plugins
    assert jeedom.jctl("deps", PLUGIN) == "1 ok"
    assert (jeedom.dir / "www" / "plugins" / PLUGIN / "resources" / "enphase-secure" / "src").is_dir()


def test_single_phase_site_appears_with_the_table_values_and_history(
    jeedom: Jeedom, sims: Simulators
) -> None:
    sim = sims.get("single-phase")
    configure(jeedom, sim, widget="1", typereseau="auto", delais="1")
    t0 = time.monotonic()
    started(jeedom)
    snapshot = serving(jeedom, sim["serial"])
    ids = expected_site_ids(snapshot)
    inverters = {i["serial"] for i in snapshot["inverters"]}
    inverter_ids = {  # the original's three, and the gateway's device_data figures where it gives them
        inverter["serial"]: {
            f.jeedom_id
            for f in INVERTER_FIGURES
            if f.jeedom_id in ORIGINAL_INVERTER_IDS
            or (f.jeedom_id is not None and inverter.get(f.path) is not None)
        }
        for inverter in snapshot["inverters"]
    }
    eqs = wait_for(
        "the combined equipment with the table's commands, one equipment per inverter",
        lambda: (
            (e := jeedom.equipment())
            and set(e) == {COMBINED, *inverters}
            and set(e[COMBINED]["cmds"]) == ids
            and all(set(e[i]["cmds"]) == inverter_ids[i] for i in inverters)
            and e
        ),
        timeout=30,
    )
    assert time.monotonic() - t0 < 30
    combined = eqs[COMBINED]
    assert combined["eqType_name"] == PLUGIN
    assert {c["unite"] for lid, c in combined["cmds"].items() if lid == "PwattsNow"} == {"W"}
    assert combined["cmds"]["PwattsNow"]["generic_type"] == "POWER"
    assert len(inverters) == 10
    time.sleep(2)
    check_values(jeedom, jeedom.equipment()[COMBINED], api(jeedom, "/api/snapshot"))
    now = datetime.now()
    history = jeedom.rpc(
        "cmd::getHistory",
        id=int(combined["cmds"]["PwattHoursLifetime"]["id"]),
        startTime=(now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        endTime=(now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
    )
    assert isinstance(history, list), f"no history row recorded: {history!r}"  # Jeedom says "ok" for []
    assert float(history[-1]["value"]) > 0


def test_three_phase_battery_site_has_per_phase_commands_after_a_live_config_change(
    jeedom: Jeedom, sims: Simulators
) -> None:
    configure(jeedom, sims.get("single-phase"), widget="1")
    pid = running(jeedom)
    sim = sims.get("three-phase-battery")
    configure(jeedom, sim, widget="1", typereseau="tri")
    snapshot = serving(jeedom, sim["serial"])
    assert daemon_pid(jeedom) == pid, "the config change restarted the daemon"
    ids = expected_site_ids(snapshot)
    assert {"PwattsNow1", "PwattsNow2", "PwattsNow3", "Import3", "batperc", "batnow"} <= ids
    inverters = {i["serial"] for i in snapshot["inverters"]}
    eq = wait_for(  # the inverters' equipment too: declared once the full probe found them
        "the per-phase commands and the inverters",
        lambda: (e := jeedom.equipment()) and ids <= set(e[COMBINED]["cmds"]) and inverters <= set(e) and e,
        timeout=30,
    )[COMBINED]
    time.sleep(2)
    check_values(jeedom, eq, api(jeedom, "/api/snapshot"))


def test_layout_single_split_single_leaves_no_orphan(jeedom: Jeedom, sims: Simulators) -> None:
    configure(jeedom, sims.get("three-phase-battery"), widget="1", typereseau="tri")
    pid = running(jeedom)
    jeedom.config("widget", "3")
    split = wait_for(  # three-phase with battery and CTs: all four, the combined one removed
        "the split equipment",
        lambda: (e := site_equipment(jeedom)) and set(e) == set(SPLIT.values()) and e,
        timeout=30,
    )
    assert {"batperc", "batnow"} <= set(split[SPLIT[BAT]]["cmds"])
    jeedom.config("widget", "1")
    single = wait_for("the combined equipment", lambda: (e := site_equipment(jeedom)) and COMBINED in e and e)
    assert set(single) == {COMBINED}  # the split ones are removed before the combined one is created
    assert daemon_pid(jeedom) == pid


def test_no_ct_site_has_only_production_equipment_in_split_then_single(
    jeedom: Jeedom, sims: Simulators
) -> None:
    sim = sims.get("no-ct")
    configure(jeedom, sim, widget="1", typereseau="auto")
    running(jeedom)
    snapshot = serving(jeedom, sim["serial"])
    ids = expected_site_ids(snapshot)
    assert "CwattsNow" not in ids
    assert "PwattsNow" in ids
    # the previous site's commands stay (never deleted): the user removes that equipment to start afresh
    for eq in site_equipment(jeedom).values():
        jeedom.ajax("eqLogic", action="remove", id=eq["id"])
    jeedom.config("widget", "3")
    wait_for(
        "the production equipment alone, with the table's commands",
        lambda: (e := site_equipment(jeedom)) and set(e) == {SPLIT[P]} and set(e[SPLIT[P]]["cmds"]) == ids,
    )
    jeedom.config("widget", "1")
    wait_for(
        "the combined equipment alone, with the table's commands",
        lambda: (e := site_equipment(jeedom)) and set(e) == {COMBINED} and set(e[COMBINED]["cmds"]) == ids,
    )
    time.sleep(2)
    check_values(jeedom, jeedom.equipment()[COMBINED], api(jeedom, "/api/snapshot"))


def virtual_switch(jeedom: Jeedom, name: str) -> dict[str, int]:
    """A virtual (plugin `virtual` of the kit) with a binary state and On/Off actions that set it."""
    eq = jeedom.rpc(
        "eqLogic::save", eqType_name="virtual", name=name, isEnable=1, isVisible=1,
        cmd=[{"name": "Etat", "logicalId": "etat", "type": "info", "subType": "binary"}],
    )  # fmt: skip
    cmds = jeedom.rpc("cmd::byEqLogicId", eqLogic_id=int(eq["id"]))
    state = next(c for c in cmds if c["logicalId"] == "etat")
    actions = [
        {"name": label, "logicalId": label.lower(), "type": "action", "subType": "other",
         "configuration": {"infoName": "Etat", "value": value}}
        for label, value in (("On", "1"), ("Off", "0"))
    ]  # fmt: skip
    jeedom.rpc(
        "eqLogic::save", id=eq["id"], eqType_name="virtual", name=name, isEnable=1,
        cmd=[{"id": state["id"], "name": "Etat", "logicalId": "etat", "type": "info", "subType": "binary"},
             *actions],
    )  # fmt: skip
    cmds = jeedom.rpc("cmd::byEqLogicId", eqLogic_id=int(eq["id"]))
    return {c["logicalId"]: int(c["id"]) for c in cmds}


def test_stage_switches_a_virtual_and_obeys_the_manual_commands(jeedom: Jeedom, sims: Simulators) -> None:
    switch = virtual_switch(jeedom, "Chauffe-eau")
    sim = sims.get("single-phase")  # importing about 500 W: a surplus of about -500 W
    configure(
        jeedom, sim, widget="1", autoconso="oui",
        wattsautoconso1on="-5000", wattsautoconso1off="-10000",
        cmdautoconso1on=f"#{switch['on']}#", cmdautoconso1off=f"#{switch['off']}#",
        delaiautoconso1on="0", delaiautoconso1off="0",
    )  # fmt: skip
    running(jeedom)

    def state() -> tuple[str, str] | None:
        eq = jeedom.equipment().get(COMBINED)
        if eq is None or "autoconso1_off" not in eq["cmds"]:
            return None
        values = jeedom.values([switch["etat"], int(eq["cmds"]["autoconso1"]["id"])])
        return str(values[switch["etat"]]), str(values[int(eq["cmds"]["autoconso1"]["id"])])

    def reaches(expected: tuple[str, str]) -> None:
        wait_for(f"virtual state and autoconso1 = {expected}", lambda: state() == expected, timeout=90)

    reaches(("1", "1"))
    manual = {
        m: int(jeedom.equipment()[COMBINED]["cmds"][f"autoconso1_{m}"]["id"]) for m in ("on", "off", "auto")
    }
    jeedom.rpc("cmd::execCmd", id=manual["off"])
    reaches(("0", "0"))
    assert api(jeedom, "/api/control")["stages"][0]["state"]["mode"] == "off"
    jeedom.rpc("cmd::execCmd", id=manual["on"])
    reaches(("1", "1"))
    jeedom.rpc("cmd::execCmd", id=manual["auto"])
    wait_for("auto mode", lambda: api(jeedom, "/api/control")["stages"][0]["state"]["mode"] == "auto")
    outcomes = api(jeedom, "/api/control")["stages"][0]["last_outcomes"]
    assert {o["kind"] for o in outcomes} == {"jeedom"}
    assert all(o["status"] == "ok" for o in outcomes)
    jeedom.config("autoconso", "non")


def test_wrong_password_reaches_the_daemon_view_in_french(jeedom: Jeedom, sims: Simulators) -> None:
    sim = sims.get("acb")  # a gateway the daemon has no token for yet
    configure(
        jeedom,
        sim,
        ctoken="auto",
        user="owner@example.com",
        password="not-the-password",
        enlighten_url=sim["cloud"],
        entrez_url=sim["cloud"],
        token="",
    )
    pid = running(jeedom)
    info = wait_for(
        "the daemon view message",
        lambda: (i := jeedom.daemon()) and "mot de passe" in i.get("launchable_message", "") and i,
        timeout=40,
    )
    assert info["state"] == "ok"
    assert daemon_pid(jeedom) == pid
    log = (jeedom.dir / "www" / "log" / "enphasesecur_daemon").read_text(errors="replace")
    assert "not-the-password" not in log
    assert "not-the-password" not in (jeedom.dir / "www" / "log" / PLUGIN).read_text(errors="replace")
    configure(jeedom, sim, ctoken="manu", user="", password="")
    wait_for("the message to clear", lambda: jeedom.daemon().get("launchable_message") == "", timeout=40)


ORIGINAL_COMMANDS = (  # as the original plugin creates them (../shared/jeedom-commands.md)
    ("PwattsNow", "Prod Inst", "W", 1),
    ("CwattsNowNet", "Conso Net Inst", "W", 1),
    ("Import", "Import Réseau", "W", 1),
    ("tension", "Tension", "V", 1),
    ("indexcumulimport", "indexcumulimport", "Wh", 0),
)


def test_installed_over_the_original_keeps_command_ids_and_scenarios(
    jeedom: Jeedom, sims: Simulators, workdir: Path
) -> None:
    jeedom.rpc("plugin::deamonStop", plugin_id=PLUGIN)
    for eq in site_equipment(jeedom).values():
        jeedom.ajax("eqLogic", action="remove", id=eq["id"])
    original = jeedom.rpc(
        "eqLogic::save", eqType_name=PLUGIN, name="Passerelle Enphase", logicalId=COMBINED, isEnable=1,
        isVisible=1,
        cmd=[{"name": name, "logicalId": lid, "type": "info", "subType": "numeric", "unite": unit,
              "isHistorized": 1, "isVisible": visible} for lid, name, unit, visible in ORIGINAL_COMMANDS],
    )  # fmt: skip
    ids = {
        c["logicalId"]: int(c["id"]) for c in jeedom.rpc("cmd::byEqLogicId", eqLogic_id=int(original["id"]))
    }
    scenario = jeedom.ajax(
        "scenario", action="save",
        scenario=json.dumps({"name": "Sur production", "mode": "provoke", "isActive": 1,
                             "trigger": [f"#{ids['PwattsNow']}#"]}),
    )  # fmt: skip
    install_from_zip(jeedom, build_zip(workdir / "zip" / f"{PLUGIN}.zip"))  # over it: url source again
    sim = sims.get("single-phase")
    configure(jeedom, sim, widget="1", typereseau="auto", autoconso="non")
    started(jeedom)
    eq = wait_for(
        "our commands on the original's equipment",
        lambda: (e := jeedom.equipment().get(COMBINED)) and expected_site_ids(api(jeedom, "/api/snapshot"))
        <= set(e["cmds"]) and e,
    )  # fmt: skip
    assert int(eq["id"]) == int(original["id"])
    assert {lid: int(eq["cmds"][lid]["id"]) for lid in ids} == ids  # same ids, index* kept
    time.sleep(2)
    check_values(jeedom, jeedom.equipment()[COMBINED], api(jeedom, "/api/snapshot"))
    wait_for(
        "the scenario bound to PwattsNow to run",
        lambda: jeedom.rpc("scenario::byId", id=int(scenario["id"])).get("lastLaunch"),
        timeout=30,
    )


def php_server_pids(jeedom: Jeedom) -> list[int]:
    """Jeedom's web server processes (php -S and its workers), not the daemon they started."""
    pids = []
    for pgid_file in (jeedom.dir / "run").glob("*.pgid"):
        group = int(pgid_file.read_text().split()[0])
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                stat = (proc / "stat").read_text()
                comm = (proc / "comm").read_text().strip()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) == group and comm.startswith("php"):
                cmdline = (proc / "cmdline").read_bytes()
                if b"-S" in cmdline.split(b"\0"):
                    pids.append(int(proc.name))
    return pids


def test_jeedom_stopped_then_back_the_daemon_survives_and_resumes(jeedom: Jeedom, sims: Simulators) -> None:
    configure(jeedom, sims.get("single-phase"), widget="1")
    pid = running(jeedom)
    wait_for("values flowing", lambda: api(jeedom, "/api/status")["outputs"]["jeedom"]["state"] == "ok")
    log = jeedom.dir / "www" / "log" / "enphasesecur_daemon"
    failing_before = log.read_text(errors="replace").count("output jeedom failing")
    port = int(jeedom.rpc("config::byKey", key="socketport", plugin=PLUGIN))
    servers = php_server_pids(jeedom)
    assert servers
    for server in servers:
        os.kill(server, signal.SIGSTOP)
    try:
        time.sleep(25)
        status = api(jeedom, "/api/status", port)  # the daemon still serves, reads the gateway
        assert status["stale"] is False
        assert status["outputs"]["jeedom"]["state"] == "failing"
        published = status["outputs"]["jeedom"]["published"]
    finally:
        for server in servers:
            os.kill(server, signal.SIGCONT)
    back = wait_for(
        "the Jeedom output to recover",
        lambda: (s := api(jeedom, "/api/status")["outputs"]["jeedom"]) and s["state"] == "ok" and s,
        timeout=40,
    )
    assert back["published"] - published <= 3  # the latest values, not 25 s of backlog
    assert back["dropped_busy"] > 0
    assert os.path.exists(f"/proc/{pid}")
    text = log.read_text(errors="replace")
    assert text.count("output jeedom failing") == failing_before + 1  # logged once, not per tick
    assert text.count("output jeedom recovered") >= 1


def test_killed_daemon_is_restarted_by_jeedoms_check(jeedom: Jeedom, sims: Simulators) -> None:
    configure(jeedom, sims.get("single-phase"), widget="1")
    pid = running(jeedom)
    last = datetime.strptime(jeedom.daemon()["last_launch"], "%Y-%m-%d %H:%M:%S")
    time.sleep(max(0.0, 46 - (datetime.now() - last).total_seconds()))  # Jeedom's 45 s guard
    os.kill(pid, signal.SIGKILL)
    wait_for("Jeedom to see the daemon dead", lambda: jeedom.daemon()["state"] == "nok", timeout=30)
    jeedom.jctl("call", "plugin::checkDeamon")  # what Jeedom's cron runs every 5 min
    wait_for("the daemon restarted", lambda: jeedom.daemon()["state"] == "ok", timeout=40)
    assert daemon_pid(jeedom) != pid
    serving(jeedom, sims.get("single-phase")["serial"])
