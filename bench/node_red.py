"""Node-RED doing circlemade-edge's job, as a peer for the ingest benchmark.

A well-built flow, not a strawman: MQTT in (persistent session, the same QoS) -> JSON ->
a function mapping each payload to the same points circlemade-edge writes (telemetry,
machine_state and energy, same tags and fields; Node-RED computes no KPIs) -> a join
that batches up to 500 messages or 100 ms -> ``influxdb batch`` of
node-red-contrib-influxdb (InfluxDB 1.x API). Node-RED 4 (Node-RED 5 needs Node 22,
Debian has Node 20), installed into .cache/node-red by scripts/bench.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.workload import MARKER_TOPIC, Workshop

REPO = Path(__file__).resolve().parent.parent
NODE_RED_DIR = REPO / ".cache" / "node-red"
NODE_RED = NODE_RED_DIR / "node_modules" / "node-red" / "red.js"

MAP_PAYLOAD = r"""
const m = machines[msg.topic];
if (!m) return null;
const p = msg.payload, tags = {site: "bench", machine: m.id, kind: m.kind};
const now = Date.now();
const codes = {offline: 0, stopped: 1, idle: 2, running: 3, fault: 4, maintenance: 5};
const states = {IDLE: "idle", FINISH: "idle", PREPARE: "running", SLICING: "running",
                RUNNING: "running", PAUSE: "stopped", FAILED: "fault", OFFLINE: "offline",
                idle: "idle", printing: "running", heating: "running", cooling: "idle"};
const state = (s) => ({state: states[s], state_code: codes[states[s]]});
if (m.profile === "bambu") {
    const r = p.print || {};
    msg.payload = [
        {measurement: "telemetry", tags, timestamp: now, fields: {
            progress_pct: r.mc_percent, remaining_time_s: r.mc_remaining_time * 60,
            layer: r.layer_num, total_layers: r.total_layer_num,
            nozzle_temp_c: r.nozzle_temper, nozzle_target_c: r.nozzle_target_temper,
            bed_temp_c: r.bed_temper, bed_target_c: r.bed_target_temper,
            chamber_temp_c: r.chamber_temper}},
        {measurement: "machine_state", tags, timestamp: now, fields: state(r.gcode_state)}];
} else if (m.profile === "tasmota") {
    const e = p.ENERGY;
    if (!e) return null;
    msg.payload = [{measurement: "energy", tags: {...tags, meter: m.id}, timestamp: now,
        fields: {energy_kwh: e.Total, power_w: e.Power, voltage_v: e.Voltage,
                 current_a: e.Current}}];
} else if (m.profile === "shelly") {
    const s = (p.params || {})["switch:0"];
    if (!s) return null;
    msg.payload = [{measurement: "energy", tags: {...tags, meter: m.id},
        timestamp: Math.round(p.params.ts * 1000),
        fields: {power_w: s.apower, voltage_v: s.voltage, current_a: s.current,
                 energy_kwh: s.aenergy.total / 1000}}];
} else {
    const t = p.ts || now;
    msg.payload = [
        {measurement: "machine_state", tags, timestamp: t, fields: state(p.state)},
        {measurement: "telemetry", tags, timestamp: t, fields: {
            progress_pct: p.progress, layer: p.layer, nozzle_temp_c: p.temps.nozzle,
            bed_temp_c: p.temps.bed}}];
}
return msg;
"""


# Node-RED ids are 16 hex digits; a short word as an id can equal some property's value,
# which Node-RED then takes for a reference ("circular config node dependency").
TAB, BROKER, INFLUX, MQTT_IN, MAP, JOIN, FLATTEN, WRITE = (f"c1ec1e{i:010x}" for i in range(8))


def flow(workshop: Workshop, mqtt_port: int, influx_port: int, database: str,
         qos: int, client_id: str) -> list[dict[str, Any]]:
    machines = {m.data_topic: {"id": m.id, "kind": m.kind, "profile": m.profile}
                for m in workshop.machines}
    machines[MARKER_TOPIC] = {"id": "marker", "kind": "other", "profile": "json"}
    function = f"const machines = {json.dumps(machines)};\n{MAP_PAYLOAD}"
    return [
        {"id": TAB, "type": "tab", "label": "circlemade peer"},
        {"id": BROKER, "type": "mqtt-broker", "broker": "127.0.0.1", "port": str(mqtt_port),
         "clientid": client_id, "autoConnect": True, "usetls": False, "protocolVersion": "4",
         "keepalive": "60", "cleansession": False, "autoUnsubscribe": False},
        {"id": INFLUX, "type": "influxdb", "hostname": "127.0.0.1", "port": str(influx_port),
         "protocol": "http", "database": database, "name": "", "usetls": False,
         "tls": "", "influxdbVersion": "1.x"},
        {"id": MQTT_IN, "type": "mqtt in", "z": TAB, "topic": "#", "qos": str(qos),
         "datatype": "json", "broker": BROKER, "nl": False, "rap": False, "rh": 0,
         "inputs": 0, "wires": [[MAP]]},
        {"id": MAP, "type": "function", "z": TAB, "func": function, "outputs": 1,
         "wires": [[JOIN]]},
        {"id": JOIN, "type": "join", "z": TAB, "mode": "custom", "build": "array",
         "property": "payload", "propertyType": "msg", "count": "500", "timeout": "0.1",
         "joiner": "\\n", "joinerType": "str", "accumulate": False, "wires": [[FLATTEN]]},
        {"id": FLATTEN, "type": "function", "z": TAB,
         "func": "msg.payload = msg.payload.flat();\nreturn msg;", "outputs": 1,
         "wires": [[WRITE]]},
        {"id": WRITE, "type": "influxdb batch", "z": TAB, "influxdb": INFLUX,
         "precision": "ms", "retentionPolicy": "", "wires": []},
    ]


def prepare(work_dir: Path, flows: list[dict[str, Any]], port: int) -> list[str]:
    """Write the flow and settings into ``work_dir``; the command that runs them."""
    if not NODE_RED.exists():
        raise RuntimeError(f"{NODE_RED} missing: scripts/bench installs Node-RED")
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "flows.json").write_text(json.dumps(flows))
    (work_dir / "settings.js").write_text(
        "module.exports = {flowFile: 'flows.json', uiHost: '127.0.0.1', "
        f"uiPort: {port}, httpAdminRoot: false, httpNodeRoot: false, "
        "logging: {console: {level: 'info', metrics: false, audit: false}}, "
        "editorTheme: {tours: false}, telemetry: {enabled: false}, credentialSecret: false};\n")
    return ["node", str(NODE_RED), "--userDir", str(work_dir), "--settings",
            str(work_dir / "settings.js")]
