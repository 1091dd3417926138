// HipSense live dashboard: subscribes over MQTT-over-websockets to the topics documented in docs/mqtt.md
// (hipsense/<sensor_id>/{status,state,step,rep,set,alert,session,tilt}) and draws them. No build step.
// Configuration: config.json served beside this page by the gateway ({ws_url, topic_prefix,
// drop_threshold_deg, and auth_required + username when the broker wants a password, which the page then asks
// for), overridden by query parameters ?ws=ws://host:port/&prefix=hipsense&threshold=8&user=NAME.
"use strict";

const TILT_WINDOW_S = 20;      // seconds of obliquity shown in the trace
const MAX_STEP_BARS = 40;      // steps shown in the drop chart
const MAX_SETS = 20;
const MAX_ALERTS = 30;

const state = {
  sensors: new Map(),          // sensor_id -> per-sensor view state
  current: null,               // selected sensor_id
  threshold: 8.0,
  messages: 0,
};

function sensorState(id) {
  if (!state.sensors.has(id)) {
    state.sensors.set(id, { tilt: [], steps: [], sets: [], alerts: [], status: "unknown", stepCount: 0,
      summary: null, state: null, exercise: null, reps: 0, lastRep: null, lastStep: null });
    const sel = document.getElementById("sensor-select");
    const opt = document.createElement("option");
    opt.value = id; opt.textContent = id; sel.appendChild(opt);
    if (state.current === null) { state.current = id; sel.value = id; }
  }
  return state.sensors.get(id);
}

const fmt = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toFixed(d);
const setText = (id, text) => { document.getElementById(id).textContent = text; };
// Event times are in the source's time base: host (Unix) time for live sensors, seconds from the start for files.
const fmtTime = (t) => (t > 1e9) ? new Date(t * 1000).toLocaleTimeString() : `${fmt(t, 0)} s`;
// Payloads wrap the pipeline event with delivery metadata; accept both the wrapper and a bare event.
const unwrap = (p) => (p && typeof p === "object" && p.event && typeof p.event === "object") ? p.event : p;

function onMessage(topic, raw) {
  state.messages += 1;
  const parts = topic.split("/");
  if (parts.length < 3) return;
  const kind = parts[parts.length - 1];
  const id = parts[parts.length - 2];
  const s = sensorState(id);
  let payload;
  const text = new TextDecoder().decode(raw);
  if (kind === "status") { s.status = text.trim(); render(); return; }
  try { payload = JSON.parse(text); } catch (e) { return; }
  const ev = unwrap(payload);
  switch (kind) {
    case "tilt": addTilt(s, ev); break;
    case "step": addStep(s, ev); break;
    case "state":  // StateMessage: activity, rolling (RollingSummary), exercise, reps_in_set, battery, link
      s.state = payload; s.summary = payload.rolling || null;
      if (payload.exercise) s.exercise = payload.exercise;
      if (typeof payload.reps_in_set === "number") s.reps = payload.reps_in_set;
      break;
    case "rep":
      s.exercise = ev.exercise; s.reps = ev.index_in_set; s.lastRep = ev; break;
    case "set":
      s.sets.unshift(ev); s.sets.length = Math.min(s.sets.length, MAX_SETS); s.reps = 0; break;
    case "alert":
      s.alerts.unshift(ev); s.alerts.length = Math.min(s.alerts.length, MAX_ALERTS); break;
    default: break;
  }
  scheduleRender();
}

function addTilt(s, ev) {
  // TiltMessage: bin centres t_s and obliquity_deg (null where unknown), decimated and batched
  const t = Array.isArray(ev.t_s) ? ev.t_s : [ev.t_s];
  const r = Array.isArray(ev.obliquity_deg) ? ev.obliquity_deg : [ev.obliquity_deg];
  for (let i = 0; i < t.length; i++) if (r[i] !== null && r[i] !== undefined) s.tilt.push([t[i], r[i]]);
  const tEnd = s.tilt.length ? s.tilt[s.tilt.length - 1][0] : 0;
  while (s.tilt.length && s.tilt[0][0] < tEnd - TILT_WINDOW_S) s.tilt.shift();
}

function addStep(s, ev) {
  s.stepCount += 1; s.lastStep = ev;
  s.steps.push(ev); if (s.steps.length > MAX_STEP_BARS) s.steps.shift();
}

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; render(); });
}

function render() {
  setText("msg-count", String(state.messages));
  const s = state.current ? state.sensors.get(state.current) : null;
  if (!s) return;
  const link = document.getElementById("link-status");
  link.textContent = `sensor ${state.current}: ${s.status}`;
  link.className = "pill " + (s.status === "online" ? "on" : "off");
  const sum = s.summary || {};
  const st = s.state || {};
  setText("activity", st.activity ?? sum.activity ?? "–");
  setText("cadence", fmt(sum.cadence_spm, 0));
  setText("drop-left", fmt(sum.median_drop_left_deg));
  setText("drop-right", fmt(sum.median_drop_right_deg));
  setText("asymmetry", fmt(sum.asymmetry_index_pct));
  setText("step-count", String(s.stepCount));
  setText("tilt-now", s.tilt.length ? fmt(s.tilt[s.tilt.length - 1][1]) : "–");
  setText("last-step", s.lastStep ? `${s.lastStep.side} stance, drop ${fmt(s.lastStep.pelvic_drop_deg)} deg, `
    + `${fmt(s.lastStep.cadence_spm, 0)} spm` : "–");
  setText("exercise", s.exercise ?? "–");
  setText("rep-count", String(s.reps));
  setText("last-rep", s.lastRep ? `#${s.lastRep.index_in_set} ${s.lastRep.side ?? ""} ${fmt(s.lastRep.duration_s)} s`
    + (s.lastRep.quality !== null && s.lastRep.quality !== undefined ? `, quality ${fmt(s.lastRep.quality * 100, 0)} %` : "") : "–");
  const tbody = document.querySelector("#set-table tbody");
  tbody.replaceChildren(...s.sets.map((x) => {
    const tr = document.createElement("tr");
    const isHold = x.kind === "hold";
    const cells = [fmtTime(x.t_start_s), (x.exercise || "").replace(/_/g, " "), x.side ?? "both",
      isHold ? `hold ${fmt(x.duration_s)} s` : x.reps, isHold ? "–" : fmt(x.mean_rep_s), fmt(x.mean_lateral_tilt_deg)];
    for (const v of cells) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    return tr;
  }));
  const ul = document.getElementById("alerts");
  ul.replaceChildren(...s.alerts.map((a) => {
    const li = document.createElement("li"); li.textContent = `${fmtTime(a.t_s)} · ${a.message}`; return li;
  }));
  drawTilt(s); drawDrops(s);
}

function drawTilt(s) {
  const c = document.getElementById("tilt-canvas"); const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const range = 15; const y = (v) => c.height / 2 - (v / range) * (c.height / 2 - 8);
  g.strokeStyle = "#2a333d"; g.beginPath(); g.moveTo(0, y(0)); g.lineTo(c.width, y(0)); g.stroke();
  if (s.tilt.length < 2) return;
  const t1 = s.tilt[s.tilt.length - 1][0]; const t0 = t1 - TILT_WINDOW_S;
  g.strokeStyle = "#e6e9ee"; g.lineWidth = 1.5; g.beginPath();
  s.tilt.forEach(([t, r], i) => { const x = ((t - t0) / TILT_WINDOW_S) * c.width; i ? g.lineTo(x, y(r)) : g.moveTo(x, y(r)); });
  g.stroke();
}

function drawDrops(s) {
  const c = document.getElementById("drop-canvas"); const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const maxDeg = Math.max(15, state.threshold * 1.5);
  const y = (v) => c.height - 10 - (Math.max(v, 0) / maxDeg) * (c.height - 20);
  const w = c.width / MAX_STEP_BARS;
  s.steps.forEach((st, i) => {
    if (st.pelvic_drop_deg === null || st.pelvic_drop_deg === undefined) return;
    g.fillStyle = st.side === "left" ? "#4fa3ff" : "#ff8a4f";
    g.fillRect(i * w + 1, y(st.pelvic_drop_deg), w - 2, c.height - 10 - y(st.pelvic_drop_deg));
  });
  g.strokeStyle = "#ff5d5d"; g.setLineDash([6, 4]); g.beginPath();
  g.moveTo(0, y(state.threshold)); g.lineTo(c.width, y(state.threshold)); g.stroke(); g.setLineDash([]);
}

async function loadConfig() {
  let cfg = {};
  try { const r = await fetch("config.json", { cache: "no-store" }); if (r.ok) cfg = await r.json(); } catch (e) { /* static use */ }
  const q = new URLSearchParams(location.search);
  return {
    ws_url: q.get("ws") || cfg.ws_url || `ws://${location.hostname || "127.0.0.1"}:8080/mqtt`,
    topic_prefix: q.get("prefix") || cfg.topic_prefix || "hipsense",
    drop_threshold_deg: Number(q.get("threshold") || cfg.drop_threshold_deg || 8.0),
    username: q.get("user") || cfg.username, password: cfg.password,
    auth_required: Boolean(cfg.auth_required),
  };
}

async function main() {
  const cfg = await loadConfig();
  if (cfg.auth_required && !cfg.password) {
    // The gateway never puts the broker password into config.json (any local user could read it): ask for it.
    cfg.username = cfg.username || window.prompt("MQTT user name") || undefined;
    cfg.password = window.prompt(`MQTT password for ${cfg.username}`) || undefined;
  }
  state.threshold = cfg.drop_threshold_deg;
  setText("conn-info", `${cfg.ws_url} · ${cfg.topic_prefix}/#`);
  document.getElementById("sensor-select").addEventListener("change", (e) => { state.current = e.target.value; render(); });
  const client = mqtt.connect(cfg.ws_url, { protocolVersion: 4, reconnectPeriod: 2000, clean: true,
    username: cfg.username, password: cfg.password });
  const b = document.getElementById("broker-status");
  client.on("connect", () => {
    b.textContent = "broker: connected"; b.className = "pill on";
    client.subscribe(`${cfg.topic_prefix}/+/#`, { qos: 0 });
  });
  client.on("close", () => { b.textContent = "broker: disconnected"; b.className = "pill off"; });
  client.on("message", onMessage);
  window.hipsenseDashboard = { state, client };
}

main();
