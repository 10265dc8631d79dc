// wstag serve: the page. Vanilla JS and inline SVG, nothing fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#4e79a7", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"];
const state = { info: null, recording: null, result: null, clips: [], playUntil: null, playheadX: null };

// ---------------------------------------------------------------------------- the rule
// Segments at a threshold: exactly Scores.detect (wstag/serve/answers.py says it in words).
// A frame is active when its median-filtered probability is strictly above the threshold;
// a run of active frames a..b-1 spans a*hop_samples/sample_rate to b*hop_samples/sample_rate,
// is dropped if it starts at or past the end, and its offset is clipped to the end; its peak
// is the raw curve's maximum over round(onset/hop) .. max(ceil(offset/hop - 1e-6), first+1).
function segmentsAt(phrase, threshold, result) {
  const values = phrase.filtered || phrase.curve;
  const hopSamples = result.hop_samples, rate = result.sample_rate, duration = result.duration;
  const hop = hopSamples / rate;
  const out = [];
  let k = 0;
  while (k < values.length) {
    if (!(values[k] > threshold)) { k++; continue; }
    const a = k;
    while (k < values.length && values[k] > threshold) k++;
    const onset = a * hopSamples / rate;
    if (onset >= duration) continue;
    const offset = Math.min(k * hopSamples / rate, duration);
    const first = Math.round(onset / hop);
    const stop = Math.max(Math.ceil(offset / hop - 1e-6), first + 1);
    let peak = -Infinity;
    for (let j = first; j < stop && j < phrase.curve.length; j++) peak = Math.max(peak, phrase.curve[j]);
    out.push({ onset, offset, peak });
  }
  return out;
}

// ---------------------------------------------------------------------------- the API
async function api(path, options) {
  // the header proves the request comes from this page: the server refuses /api requests without it
  const opts = Object.assign({}, options || {});
  opts.headers = Object.assign({ "X-Wstag": "1" }, opts.headers || {});
  const response = await fetch(path, opts);
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new Error((body && body.detail) || `${response.status} ${response.statusText}`);
  return body;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
  if (message) { clearTimeout(showError.timer); showError.timer = setTimeout(() => { box.hidden = true; }, 8000); }
}

async function guarded(work) {
  try { showError(""); return await work(); } catch (e) { showError(e.message); return null; }
}

// ---------------------------------------------------------------------------- start
async function start() {
  const info = await api("/api/info");
  state.info = info;
  const mb = Math.round(info.limits.max_upload_bytes / 1e6);
  $("model-line").textContent = `model ${info.model} (${info.vocabulary_size} words)` +
    (info.corpus ? ` · corpus ${info.corpus}` : "") + (info.index ? ` · index ${info.index}` : "");
  $("upload-note").textContent = `${info.limits.formats.join(", ")}; at most ${mb} MB and ` +
    `${Math.round(info.limits.max_upload_seconds)} s`;
  $("phrases").maxLength = info.limits.max_phrase_chars * info.limits.max_phrases;
  if (info.splits.length) {
    $("corpus-picker").hidden = false;
    for (const split of info.splits) $("split").append(new Option(split, split));
    await loadClips(info.splits[0]);
  }
  if (info.index) {
    $("search").hidden = false;
    $("search-status").textContent = `${info.index_files} files, ${info.index_hours.toFixed(2)} h`;
  }
}

async function loadClips(split) {
  const list = await api(`/api/clips?split=${encodeURIComponent(split)}`);
  state.clips = list.clips;
  const select = $("clip");
  select.length = 1;
  for (const clip of list.clips) select.append(new Option(`${clip.name}: ${clip.caption}`.slice(0, 110), clip.id));
}

function chooseRecording(recording, note) {
  if (!state.recording || state.recording.id !== recording.id) {
    state.recording = recording;
    state.result = null;
    $("player").src = recording.audio_url;
    new Image().src = recording.spectrogram_url;  // drawn while the model answers: cached by then
    clearPlot();
  }
  const seconds = recording.duration ? ` (${recording.duration.toFixed(1)} s)` : "";
  $("recording-status").textContent = `${note || recording.kind}: ${recording.name}${seconds}`;
}

// ---------------------------------------------------------------------------- grounding
function phrasesTyped() {
  const lines = $("phrases").value.split("\n").map((p) => p.trim()).filter((p) => p);
  return [...new Set(lines)];
}

async function ground() {
  if (!state.recording) throw new Error("choose a corpus clip or upload a file first");
  const phrases = phrasesTyped();
  if (!phrases.length) throw new Error("type one or more phrases, one per line");
  const t0 = performance.now();
  $("ground").disabled = true;
  $("plot").dataset.state = "loading";
  try {
    const result = await api("/api/ground", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ recording: state.recording.id, phrases, threshold: threshold(),
                             median: parseInt($("median").value, 10) || 1 }),
    });
    state.result = result;
    await drawPlot(result);
    const ms = Math.round(performance.now() - t0);
    $("timing").dataset.ms = String(ms);
    $("timing").textContent = `answered in ${ms} ms (server ${Math.round(result.seconds * 1000)} ms, ` +
      `${result.encoded ? "the audio encoder ran" : "cached embeddings"})`;
  } catch (e) {
    $("plot").dataset.state = state.result ? "ready" : "empty";
    throw e;
  } finally {
    $("ground").disabled = false;
  }
}

function threshold() { return parseFloat($("threshold").value); }

// ---------------------------------------------------------------------------- drawing
const LAYOUT = { left: 8, right: 18, top: 6, spec: 150, panel: 84, gap: 8, axis: 26 };

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

function clearPlot() {
  const svg = $("plot");
  svg.replaceChildren();
  svg.removeAttribute("viewBox");
  svg.style.height = "0px";
  svg.dataset.state = "empty";
  $("segments").tBodies[0].replaceChildren();
  $("warnings").replaceChildren();
}

function geometry(result) {
  const width = Math.max(480, $("plot-box").clientWidth || 900);
  const plotWidth = width - LAYOUT.left - LAYOUT.right;
  const x = (t) => LAYOUT.left + (t / result.duration) * plotWidth;
  const panelTop = (k) => LAYOUT.top + LAYOUT.spec + LAYOUT.gap + k * (LAYOUT.panel + LAYOUT.gap);
  const height = panelTop(result.phrases.length) + LAYOUT.axis;
  return { width, height, plotWidth, x, panelTop };
}

async function drawPlot(result) {
  const svg = $("plot");
  svg.replaceChildren();
  const g = geometry(result);
  svg.setAttribute("viewBox", `0 0 ${g.width} ${g.height}`);
  svg.style.height = `${g.height}px`;
  svg.dataset.state = "loading";
  const image = el("image", { x: LAYOUT.left, y: LAYOUT.top, width: g.plotWidth, height: LAYOUT.spec,
                              preserveAspectRatio: "none" }, svg);
  const loaded = new Promise((resolve) => {
    image.addEventListener("load", () => resolve(true));
    image.addEventListener("error", () => resolve(false));
    setTimeout(() => resolve(false), 10000);
  });
  image.setAttribute("href", result.recording.spectrogram_url);
  result.phrases.forEach((phrase, k) => drawPanel(svg, g, result, phrase, k));
  drawAxis(svg, g, result);
  state.playheadX = el("line", { class: "playhead", y1: LAYOUT.top, y2: g.height - LAYOUT.axis,
                                 x1: -10, x2: -10 }, svg);
  drawSegments();
  const warnings = $("warnings");
  warnings.replaceChildren(...result.warnings.map((w) => Object.assign(document.createElement("li"), { textContent: w })));
  if (!(await loaded)) {
    el("text", { x: LAYOUT.left + 8, y: LAYOUT.top + 20, class: "label" }, svg).textContent =
      "no spectrogram for this recording (too long, or unreadable)";
  }
  svg.dataset.state = "ready";
}

function drawPanel(svg, g, result, phrase, k) {
  const top = g.panelTop(k), h = LAYOUT.panel;
  const y = (p) => top + h - p * h;
  const hop = result.hop_samples / result.sample_rate;
  const group = el("g", { class: "phrase-panel", "data-phrase": phrase.phrase }, svg);
  el("rect", { class: "panel", x: LAYOUT.left, y: top, width: g.plotWidth, height: h }, group);
  for (const s of phrase.reference || []) {
    el("rect", { class: "reference", x: g.x(s.onset), y: top, width: Math.max(1, g.x(s.offset) - g.x(s.onset)),
                 height: 6 }, group).append(Object.assign(document.createElementNS(SVG, "title"),
                   { textContent: `label: ${s.onset.toFixed(2)}-${s.offset.toFixed(2)} s` }));
  }
  const points = phrase.curve.map((p, i) => `${g.x((i + 0.5) * hop).toFixed(1)},${y(p).toFixed(1)}`).join(" ");
  el("polyline", { class: "curve", points, stroke: COLORS[k % COLORS.length] }, group);
  el("line", { class: "threshold-line", x1: LAYOUT.left, x2: LAYOUT.left + g.plotWidth }, group);
  el("g", { class: "segments" }, group);
  const words = phrase.ignored_words.length ? `  (ignored: ${phrase.ignored_words.join(", ")})` : "";
  el("text", { class: "label", x: LAYOUT.left + 6, y: top + 16 }, group).textContent = phrase.phrase + words;
}

function drawAxis(svg, g, result) {
  const y = g.height - LAYOUT.axis + 16;
  const step = niceStep(result.duration / 10);
  for (let t = 0; t <= result.duration + 1e-9; t += step) {
    el("line", { x1: g.x(t), x2: g.x(t), y1: g.height - LAYOUT.axis, y2: g.height - LAYOUT.axis + 4,
                 stroke: "#888" }, svg);
    el("text", { class: "axis", x: g.x(t), y, "text-anchor": "middle" }, svg).textContent = `${+t.toFixed(2)} s`;
  }
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3))));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

// Re-cut the segments at the slider's threshold (no request), on the plot and in the table.
function drawSegments() {
  const result = state.result;
  const t = threshold();
  $("threshold-value").textContent = t.toFixed(2);
  if (!result) return;
  const g = geometry(result);
  const rows = [];
  document.querySelectorAll("#plot .phrase-panel").forEach((group, k) => {
    const phrase = result.phrases[k];
    const top = g.panelTop(k), h = LAYOUT.panel;
    const line = group.querySelector(".threshold-line");
    line.setAttribute("y1", top + h - t * h);
    line.setAttribute("y2", top + h - t * h);
    const holder = group.querySelector(".segments");
    holder.replaceChildren();
    for (const s of segmentsAt(phrase, t, result)) {
      const rect = el("rect", { class: "segment", x: g.x(s.onset), y: top + h - 10,
                                width: Math.max(2, g.x(s.offset) - g.x(s.onset)), height: 10 }, holder);
      setSegmentData(rect, phrase.phrase, s);
      rect.append(Object.assign(document.createElementNS(SVG, "title"),
        { textContent: `${phrase.phrase}: ${s.onset.toFixed(2)}-${s.offset.toFixed(2)} s (peak ${s.peak.toFixed(3)})` }));
      rect.addEventListener("click", () => play(result.recording.audio_url, s.onset, s.offset));
      rows.push(segmentRow(phrase.phrase, s, result.recording.audio_url));
    }
  });
  $("segments").tBodies[0].replaceChildren(...rows);
  $("plot").dataset.threshold = String(t);
}

function setSegmentData(node, phrase, s) {
  node.dataset.phrase = phrase;
  node.dataset.onset = String(s.onset);
  node.dataset.offset = String(s.offset);
  node.dataset.peak = String(s.peak);
}

function segmentRow(phrase, s, audioUrl) {
  const row = document.createElement("tr");
  row.className = "segment-row";
  setSegmentData(row, phrase, s);
  for (const text of [phrase, s.onset.toFixed(2), s.offset.toFixed(2), s.peak.toFixed(3)]) {
    row.append(Object.assign(document.createElement("td"), { textContent: text }));
  }
  row.title = "play this segment";
  row.addEventListener("click", () => play(audioUrl, s.onset, s.offset));
  return row;
}

// ---------------------------------------------------------------------------- playing
function play(url, onset, offset) {
  const player = $("player");
  const go = () => { player.currentTime = onset; state.playUntil = offset; player.play().catch(() => {}); };
  if (!player.src.endsWith(url)) player.src = url;
  if (player.readyState >= 1) go(); else player.addEventListener("loadedmetadata", go, { once: true });
}

$("player").addEventListener("timeupdate", () => {
  const player = $("player");
  if (state.playUntil !== null && player.currentTime >= state.playUntil) { player.pause(); state.playUntil = null; }
  movePlayhead();
});
$("player").addEventListener("seeked", movePlayhead);

function movePlayhead() {
  const line = state.playheadX, result = state.result, player = $("player");
  if (!line || !result || !player.src.endsWith(result.recording.audio_url)) return;
  const x = geometry(result).x(Math.min(player.currentTime, result.duration));
  line.setAttribute("x1", x);
  line.setAttribute("x2", x);
}

// ---------------------------------------------------------------------------- search
async function search(event) {
  event.preventDefault();
  const phrase = $("search-phrase").value.trim();
  if (!phrase) throw new Error("type a phrase to search for");
  const top = parseInt($("search-top").value, 10) || 20;
  const q = new URLSearchParams({ phrase, top, threshold: threshold(), median: parseInt($("median").value, 10) || 1 });
  const result = await api(`/api/search?${q}`);
  $("search-status").textContent = `${result.moments.length} moments in ${result.files} files ` +
    `(${Math.round(result.seconds * 1000)} ms)` + (result.moments.length || !result.best ? "" :
    `; none above the threshold, the best frame scored ${result.best.score.toFixed(3)} in ${result.best.file}`);
  $("moments").replaceChildren(...result.moments.map((m) => momentItem(m, phrase)));
}

function momentItem(m, phrase) {
  const item = document.createElement("li");
  item.className = "moment";
  item.dataset.recording = m.recording;
  item.dataset.onset = String(m.onset);
  item.dataset.offset = String(m.offset);
  const link = Object.assign(document.createElement("span"), {
    className: "play", textContent: `▶ ${m.file}  ${m.onset.toFixed(2)}-${m.offset.toFixed(2)} s`, title: "play it" });
  link.addEventListener("click", () => play(m.audio_url, m.onset, m.offset));
  const open = Object.assign(document.createElement("button"), { type: "button", textContent: "open" });
  open.title = "ground the phrase in this whole recording";
  open.addEventListener("click", () => guarded(async () => {
    chooseRecording({ id: m.recording, kind: "index", name: m.file, duration: null, audio_url: m.audio_url,
                      spectrogram_url: `/api/spectrogram?recording=${encodeURIComponent(m.recording)}` }, "indexed file");
    $("phrases").value = phrase;
    await ground();
  }));
  item.append(link, `  score ${m.score.toFixed(3)}  `, open);
  return item;
}

// ---------------------------------------------------------------------------- wiring
$("split").addEventListener("change", (e) => guarded(() => loadClips(e.target.value)));
$("clip").addEventListener("change", (e) => {
  const clip = state.clips.find((c) => c.id === e.target.value);
  if (!clip) return;
  chooseRecording(clip, "corpus clip");
  $("caption").textContent = clip.caption ? `caption: ${clip.caption}` : "";
  if (clip.phrases.length && !$("phrases").value.trim()) $("phrases").value = clip.phrases.join("\n");
});
$("upload").addEventListener("change", (e) => guarded(async () => {
  const file = e.target.files[0];
  if (!file) return;
  $("recording-status").textContent = `uploading ${file.name}...`;
  const form = new FormData();
  form.append("file", file);
  try {
    const recording = await api("/api/uploads", { method: "POST", body: form });
    chooseRecording(recording, "uploaded");
    $("clip").value = "";
  } catch (err) {
    $("recording-status").textContent = `upload refused: ${err.message}`;
    throw err;
  }
}));
$("ground").addEventListener("click", () => guarded(ground));
$("threshold").addEventListener("input", drawSegments);
$("median").addEventListener("change", () => { if (state.result) guarded(ground); });
$("search-form").addEventListener("submit", (e) => guarded(() => search(e)));
window.addEventListener("resize", () => { if (state.result) drawPlot(state.result); });

guarded(start);
