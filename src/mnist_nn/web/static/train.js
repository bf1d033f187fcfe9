// The Train panel: settings, the run's buttons, and live pictures fed by Server-Sent Events.
// The server trains (the library's own loop); this page only asks and draws.
"use strict";

const form = document.getElementById("train-form");
const trainStatus = document.getElementById("train-status");
const buttons = Object.fromEntries(
  ["start", "pause", "resume", "step", "stop", "apply", "use"].map((id) => [id, document.getElementById(id)])
);
const download = document.getElementById("download");

let declared = []; // the settings as the server declares them (config.py): the form is built from them
let presets = {};
let trainSize = 60000;
let run = { state: "none" }; // the last summary the server sent
let points = []; // {batch, epoch, loss, accuracy, learning_rate}
let norms = []; // one array of per-layer gradient norms per point
let history = []; // one record per epoch
let events = null;
let used = false; // "Use this model" pressed for the current run

// --- settings --------------------------------------------------------------------------------
async function loadPresets() {
  const [answer, model] = await Promise.all([
    fetch("/api/presets").then((response) => response.json()),
    fetch("/api/model"),
  ]);
  presets = answer.presets;
  declared = answer.settings;
  trainSize = answer.dataset.train_size;
  document.getElementById("train-data").textContent =
    `${answer.dataset.name} (${answer.dataset.train_size.toLocaleString("en")} training images)`;
  for (const name of Object.keys(presets)) form.elements.preset.add(new Option(name, name));
  buildForm();
  form.elements.preset.value = model.ok ? "seed" : "quick"; // no model yet: a good one, fast
  fillFromPreset();
  buttons.start.disabled = false; // not before: there is nothing to send until now
}

// One input per declared setting, with its limits and help; those that change mid-run get a
// second input beside the Change button.
function buildForm() {
  const box = document.getElementById("settings");
  const live = document.querySelector(".live-settings");
  for (const setting of declared) {
    box.append(labelled(setting.label, inputFor(setting, setting.name), setting));
    if (setting.live) {
      const input = inputFor(setting);
      input.id = `live-${setting.name}`;
      live.insertBefore(labelled(`${setting.label} now`, input, setting), buttons.apply);
    }
  }
}

function labelled(text, input, setting) {
  const label = document.createElement("label");
  label.append(`${text} `, input);
  label.title = `${setting.help}; ${setting.limits || `one of ${setting.choices.join(", ")}`}`;
  return label;
}

function inputFor(setting, name) {
  if (setting.choices) {
    const select = document.createElement("select");
    for (const value of setting.choices) select.add(new Option(value, value));
    if (name) select.name = name;
    return select;
  }
  const input = document.createElement("input");
  if (name) input.name = name;
  if (setting.type === "str") { // text the server checks, e.g. image layers "conv8x5 pool"
    input.type = "text";
    input.placeholder = "none";
    return input;
  }
  if (setting.max_count) { // several numbers, e.g. hidden layers "512 256"
    input.inputMode = "numeric";
    input.pattern = "[0-9 ]+";
    return input;
  }
  input.type = "number";
  input.step = setting.type === "int" ? "1" : "any";
  input.min = setting.low;
  if (!setting.open_high) input.max = setting.high; // an open end is checked by the server
  return input;
}

function valueOf(setting, input) {
  if (setting.choices || setting.type === "str") return input.value.trim();
  if (setting.max_count) return input.value.trim().split(/\s+/).map(Number);
  return Number(input.value);
}

function fillFromPreset() {
  const config = presets[form.elements.preset.value];
  for (const setting of declared) {
    const value = config[setting.name];
    form.elements[setting.name].value = Array.isArray(value) ? value.join(" ") : value;
  }
  // Watch held-out data, not the test set: 5,000 images of MNIST's 60,000, a tenth of less.
  form.elements.val_size.value = config.val_size || Math.min(5000, Math.round(trainSize / 10));
}
form.elements.preset.addEventListener("change", fillFromPreset);

function settings() {
  const chosen = { preset: form.elements.preset.value };
  for (const setting of declared) chosen[setting.name] = valueOf(setting, form.elements[setting.name]);
  return chosen;
}

// --- commands ----------------------------------------------------------------------------------
async function command(method, path, body) {
  const options = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) options.body = JSON.stringify(body);
  const response = await fetch(path, options);
  const answer = await response.json();
  if (!response.ok) {
    trainStatus.textContent = `Could not do that: ${answer.error}`;
    return null;
  }
  return answer;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  trainStatus.textContent = "Starting (loading the data)…";
  const answer = await command("POST", "/api/train", settings());
  if (!answer) return;
  points = [];
  norms = [];
  history = [];
  used = false;
  document.getElementById("live-confusion").innerHTML = "";
  show(answer);
  listen();
});
for (const name of ["pause", "resume", "step", "stop"]) {
  buttons[name].addEventListener("click", async () => {
    const answer = await command("POST", `/api/train/${name}`);
    if (answer) show(answer);
  });
}
buttons.apply.addEventListener("click", async () => {
  const change = {};
  for (const setting of declared.filter((each) => each.live)) {
    const input = document.getElementById(`live-${setting.name}`);
    if (input.value !== "") change[setting.name] = valueOf(setting, input);
  }
  const answer = await command("PATCH", "/api/train", change);
  if (answer) {
    const said = Object.entries(change).map(([name, value]) => `${name} ${value}`).join(", ");
    trainStatus.textContent = `The next mini-batches use ${said}.`;
  }
});
buttons.use.addEventListener("click", async () => {
  const answer = await command("POST", "/api/train/use");
  if (!answer) return;
  used = true;
  trainStatus.textContent = "This model is now the one the page serves (the panels below).";
  window.mnistPage.reloadModel();
  show(run);
});

// --- live updates --------------------------------------------------------------------------------
function listen() {
  if (events) events.close();
  events = new EventSource("/api/train/events");
  events.addEventListener("progress", (event) => {
    const data = JSON.parse(event.data);
    for (const point of data.points || []) {
      points.push(point);
      norms.push(point.gradient_norms);
    }
    show(data);
    drawCurve();
    drawNorms();
    if (["finished", "stopped", "failed", "none"].includes(data.state)) {
      events.close(); // nothing more will come; Start opens a new stream
      events = null;
    }
  });
  events.addEventListener("epoch", (event) => {
    const data = JSON.parse(event.data);
    history = data.history;
    if (data.confusion) {
      document.getElementById("live-confusion").innerHTML = window.mnistPage.confusionHtml(data.confusion, false);
    }
    drawCurve();
  });
  events.addEventListener("weights", (event) => drawWeights(JSON.parse(event.data)));
}

let lastRepredict = 0;
function show(summary) {
  // A button's answer can arrive after a newer event of the same run: keep the newer one.
  const sameRun = summary.run_id !== undefined && summary.run_id === run.run_id;
  if (sameRun && summary.updates < run.updates) return;
  run = summary;
  const state = summary.state;
  const active = state === "running" || state === "paused";
  const ended = state === "finished" || state === "stopped";
  buttons.start.disabled = active;
  buttons.pause.disabled = state !== "running";
  buttons.resume.disabled = state !== "paused";
  buttons.step.disabled = !active;
  buttons.stop.disabled = !active;
  buttons.apply.disabled = !active;
  buttons.use.disabled = !ended || used;
  download.classList.toggle("disabled", !ended);
  download.setAttribute("aria-disabled", String(!ended));
  if (ended) {
    download.href = "/api/train/model.npz";
    download.setAttribute("download", "model.npz");
  } else {
    download.removeAttribute("href");
  }
  for (const setting of declared.filter((each) => each.live)) {
    const input = document.getElementById(`live-${setting.name}`);
    if (active && document.activeElement !== input && summary[setting.name] != null) {
      input.value = summary[setting.name];
    }
  }
  trainStatus.textContent = describe(summary);
  // The drawing pad answers with the weights as they are now: ask again now and then.
  const now = Date.now();
  if (active && window.mnistPage.hasDrawing() && now - lastRepredict > 1000) {
    lastRepredict = now;
    window.mnistPage.repredict();
  }
}

function describe(summary) {
  const where = `epoch ${summary.epoch} of ${summary.epochs}, ` +
    `batch ${summary.batch} (${summary.batches_per_epoch} per epoch)`;
  switch (summary.state) {
    case "none": return "Not training.";
    case "running": {
      const left = summary.seconds_left == null ? "" : `, about ${Math.ceil(summary.seconds_left)} s left`;
      return `Training: ${where}, ${Math.round(summary.images_per_second)} images/s${left}.`;
    }
    case "paused": return `Paused at ${where}.`;
    case "failed": return `The run failed: ${summary.error}`;
    default: {
      const accuracy = summary.test_accuracy == null ? "" : `; test accuracy ${(100 * summary.test_accuracy).toFixed(2)}%`;
      return `${summary.state === "finished" ? "Finished" : "Stopped"} at ${where}${accuracy}.`;
    }
  }
}

// --- pictures ---------------------------------------------------------------------------------
function axes(canvas) {
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.font = "11px system-ui, sans-serif";
  context.fillStyle = "#374151";
  context.strokeStyle = "#9ca3af";
  context.lineWidth = 1;
  return context;
}

function drawCurve() {
  const canvas = document.getElementById("curve");
  const context = axes(canvas);
  const left = 44, right = canvas.width - 44, top = 10, bottom = canvas.height - 24;
  context.strokeRect(left, top, right - left, bottom - top);
  const epochs = Math.max(run.epochs || 1, 1);
  const x = (epoch) => left + (right - left) * Math.min(epoch / epochs, 1);
  const losses = points.map((p) => p.loss).filter(Number.isFinite);
  const highest = Math.max(...losses, 1e-9);
  const yLoss = (loss) => bottom - (bottom - top) * (loss / highest);
  const yAccuracy = (accuracy) => bottom - (bottom - top) * accuracy;
  context.fillText(`loss ${highest.toPrecision(2)}`, 2, top + 8);
  context.fillText("0", left - 12, bottom);
  context.fillText("100%", right + 4, top + 8);
  context.fillText("0%", right + 4, bottom);
  context.fillText("epochs →", (left + right) / 2 - 20, canvas.height - 6);
  const line = (colour, y) => {
    context.beginPath();
    context.strokeStyle = colour;
    context.lineWidth = 1.5;
    points.forEach((point, i) => {
      const at = [x(point.epoch), y(point)];
      if (i === 0) context.moveTo(...at);
      else context.lineTo(...at);
    });
    context.stroke();
  };
  line("#b45309", (p) => yLoss(p.loss));
  line("#2563eb", (p) => yAccuracy(p.accuracy));
  context.fillStyle = "#15803d";
  for (const record of history) {
    const accuracy = record.val_accuracy ?? record.test_accuracy;
    if (accuracy == null) continue;
    context.beginPath();
    context.arc(x(record.epoch), yAccuracy(accuracy), 4, 0, 2 * Math.PI);
    context.fill();
  }
  const last = history[history.length - 1];
  if (last) {
    const accuracy = last.val_accuracy ?? last.test_accuracy;
    context.fillText(`${(100 * accuracy).toFixed(2)}%`, Math.min(x(last.epoch) - 40, right - 50), yAccuracy(accuracy) + 16);
  }
}

const LAYER_COLOURS = ["#7c3aed", "#be185d", "#0e7490", "#4d7c0f", "#c2410c"]; // 4.5:1 on white, as text
function drawNorms() {
  const canvas = document.getElementById("norms");
  const context = axes(canvas);
  const left = 40, right = canvas.width - 8, top = 10, bottom = canvas.height - 24;
  context.strokeRect(left, top, right - left, bottom - top);
  const values = norms.flat().filter((v) => v > 0);
  if (!values.length) return;
  const low = Math.log10(Math.min(...values)), high = Math.log10(Math.max(...values)) + 1e-9;
  const span = Math.max(high - low, 1);
  const y = (v) => bottom - (bottom - top) * ((Math.log10(Math.max(v, 1e-12)) - low) / span);
  context.fillText(`1e${Math.round(high)}`, 2, top + 8);
  context.fillText(`1e${Math.round(low)}`, 2, bottom);
  context.fillText("mini-batches →", (left + right) / 2 - 30, canvas.height - 6);
  const layers = norms[0].length;
  for (let layer = 0; layer < layers; layer++) {
    context.beginPath();
    context.strokeStyle = LAYER_COLOURS[layer % LAYER_COLOURS.length];
    norms.forEach((row, i) => {
      const at = [left + ((right - left) * i) / Math.max(norms.length - 1, 1), y(row[layer])];
      if (i === 0) context.moveTo(...at);
      else context.lineTo(...at);
    });
    context.stroke();
  }
  const names = Array.from({ length: layers }, (_, i) => `W${i + 1}`);
  document.getElementById("norms-key").innerHTML = "Gradient norm of each layer (log scale): " +
    names.map((name, i) => `<span style="color:${LAYER_COLOURS[i % LAYER_COLOURS.length]};font-weight:700">${name}</span>`).join(" ");
}

// 16 units' weights (bytes, 128 = zero) as side x side tiles in a 4x4 grid: red +, blue −.
// A dense first layer's units are 28x28 images; a convolution's filters are k x k.
function drawWeights(data) {
  const side = data.side || 28;
  drawTiles(document.getElementById("weights"), data.pixels, data.units, side, side, 4);
  const filters = side !== 28;
  document.getElementById("weights-caption").textContent = filters
    ? `The first convolution's ${side}x${side} filters (red: excites, blue: inhibits)`
    : "First-layer weights of 16 units (red: excites, blue: inhibits)";
  document.getElementById("weights").setAttribute("aria-label", filters
    ? `the first convolution's filters, as ${side} by ${side} images`
    : "incoming weights of 16 first-layer units, as 28 by 28 images");
}

// The first convolution's feature maps of the digit on the pad (the answer of /api/predict):
// one tile per filter, in the filters' order, red where the filter finds what it looks for.
function drawFeatureMaps(maps) {
  const figure = document.getElementById("maps-figure");
  figure.hidden = !maps;
  if (!maps) return;
  const columns = Math.ceil(Math.sqrt(maps.count));
  drawTiles(document.getElementById("feature-maps"), maps.pixels, maps.count, maps.width,
    maps.height, columns);
}

// `count` width x height tiles of base64 bytes (128 = zero) in a grid of `columns`, 1 px apart.
function drawTiles(canvas, base64, count, width, height, columns) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const gap = 1, rows = Math.ceil(count / columns);
  const small = document.createElement("canvas");
  small.width = columns * width + (columns - 1) * gap;
  small.height = rows * height + (rows - 1) * gap;
  const image = small.getContext("2d").createImageData(small.width, small.height);
  const tiles = Math.min(count, Math.floor(bytes.length / (width * height)));
  for (let tile = 0; tile < tiles; tile++) {
    const ox = (tile % columns) * (width + gap), oy = Math.floor(tile / columns) * (height + gap);
    for (let i = 0; i < width * height; i++) {
      const w = (bytes[tile * width * height + i] - 127.5) / 127.5;
      const at = 4 * ((oy + Math.floor(i / width)) * small.width + ox + (i % width));
      const strength = Math.round(255 * (1 - Math.abs(w)));
      image.data.set(w >= 0 ? [255, strength, strength, 255] : [strength, strength, 255, 255], at);
    }
  }
  small.getContext("2d").putImageData(image, 0, 0);
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.imageSmoothingEnabled = false;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
}

// --- start-up: pick up a run that is already going (a reload, another tab) -----------------------
window.mnistTrain = {
  readsDrawings: () => run.state !== "none" && run.state !== "failed" && !used,
  showFeatureMaps: drawFeatureMaps,
};
// For tests and the curious (the browser console): where the run is, as the page knows it.
window.mnistTrainRun = () => run;
window.mnistTrainBatches = () => run.batch || 0;
window.mnistTrainPoints = () => points.length;

async function resume() {
  await loadPresets();
  const current = await (await fetch("/api/train")).json();
  if (current.state === "none") return;
  history = current.history || [];
  show(current);
  listen();
}
resume();
