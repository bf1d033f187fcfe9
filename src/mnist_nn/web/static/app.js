// The draw-a-digit page: draw on the canvas, send it to /api/predict, show what comes back.
// No framework and no build step; everything the page needs is served by mnist-nn itself.
"use strict";

const pad = document.getElementById("pad");
const context = pad.getContext("2d");
const statusLine = document.getElementById("status");
const digitShown = document.getElementById("digit");
const bars = document.getElementById("bars");
const verdictLine = document.getElementById("verdict");
const numberFigure = document.getElementById("number-figure");
const digitFrames = document.getElementById("digit-frames");
const DEBOUNCE_MS = 150; // predict while drawing, at most this often

// --- drawing -------------------------------------------------------------------------------
// White ink on black, like MNIST; a stroke about 1/14 of the pad's height, like MNIST's 2-3 px
// in 28. The pad is twice as wide as tall: room for a number.
function resetPad() {
  context.fillStyle = "#000";
  context.fillRect(0, 0, pad.width, pad.height);
  context.strokeStyle = "#fff";
  context.lineWidth = pad.height / 14;
  context.lineCap = "round";
  context.lineJoin = "round";
}
resetPad();

let drawing = false;
let hasInk = false;
let last = null;

function point(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) / box.width) * pad.width,
    y: ((event.clientY - box.top) / box.height) * pad.height,
  };
}

pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  pad.setPointerCapture(event.pointerId);
  last = point(event);
  context.beginPath();
  context.arc(last.x, last.y, context.lineWidth / 2, 0, 2 * Math.PI);
  context.fillStyle = "#fff";
  context.fill();
  hasInk = true;
  schedulePrediction();
});

pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const next = point(event);
  context.beginPath();
  context.moveTo(last.x, last.y);
  context.lineTo(next.x, next.y);
  context.stroke();
  last = next;
  schedulePrediction();
});

function endStroke() {
  if (!drawing) return;
  drawing = false;
  predictDrawing();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("clear").addEventListener("click", () => {
  resetPad();
  hasInk = false;
  showEmpty("Draw a digit, or a number, in the black area.");
});

// --- asking the server ------------------------------------------------------------------------
let timer = null;
let requestNumber = 0; // answers may arrive out of order: only the newest is shown

function schedulePrediction() {
  clearTimeout(timer);
  timer = setTimeout(predictDrawing, DEBOUNCE_MS);
}

let picture = null; // what was sent (the pad, or an uploaded image): the boxes are drawn over it

function predictDrawing() {
  clearTimeout(timer);
  if (!hasInk) return;
  const snapshot = document.createElement("canvas");
  snapshot.width = pad.width;
  snapshot.height = pad.height;
  snapshot.getContext("2d").drawImage(pad, 0, 0);
  pad.toBlob((blob) => send(blob, "your drawing", snapshot), "image/png");
}

document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) {
    const image = new Image();
    image.src = URL.createObjectURL(file);
    send(file, file.name, image);
  }
  event.target.value = ""; // choosing the same file again still uploads it
});

async function send(blob, what, source) {
  const number = ++requestNumber;
  const form = new FormData();
  form.append("file", blob, "digit.png");
  // While a run trains on this page (and until its model is used), it is the one that reads.
  const training = window.mnistTrain && window.mnistTrain.readsDrawings();
  try {
    const url = training ? "/api/predict?model=training" : "/api/predict";
    const response = await fetch(url, { method: "POST", body: form });
    const answer = await response.json();
    if (number !== requestNumber) return;
    if (!response.ok) {
      showEmpty(`Could not read ${what}: ${answer.error}`);
      return;
    }
    picture = source;
    showAnswer(answer, what);
  } catch (error) {
    if (number === requestNumber) showEmpty("The server did not answer. Is mnist-nn serve running?");
  }
}

// --- showing the answer -------------------------------------------------------------------------
for (let digit = 0; digit < 10; digit++) {
  const row = document.createElement("li");
  row.innerHTML = `<span>${digit}</span><span class="track"><span class="fill"></span></span>` +
    `<span class="value">–</span>`;
  bars.appendChild(row);
}

function percent(p) {
  return `${(100 * p).toFixed(1)}%`;
}

function guesses(answer) {
  return answer.top.slice(0, 2).map((t) => `${t.digit} (${percent(t.probability)})`).join(" or ");
}

// One digit: the verdict first (digit, unsure, not a digit), then the ten calibrated
// probabilities, greyed when the answer is not to be trusted. Several digits: the number, and
// the picture with a box around each digit.
function showAnswer(answer, what) {
  const reader = window.mnistTrain && window.mnistTrain.readsDrawings() ? " by the model in training" : "";
  // A number or one digit: the server's answer says (the rule is the reader's, in Python).
  const isNumber = Boolean(answer.is_number);
  const sure = answer.verdict === "digit";
  answer.probabilities.forEach((p, digit) => {
    const row = bars.children[digit];
    row.classList.toggle("top", digit === answer.digit && sure);
    row.querySelector(".fill").style.width = percent(p);
    row.querySelector(".value").textContent = percent(p);
  });
  bars.classList.toggle("greyed", !sure);
  bars.hidden = isNumber; // one digit's probabilities say nothing about a number
  verdictLine.classList.remove("refused");
  if (isNumber) {
    digitShown.textContent = answer.number;
    const marks = answer.digits.filter((d) => d.verdict === "not a digit").length;
    verdictLine.textContent = `A number of ${answer.digits.length} digits` +
      (marks ? ` (${marks} mark${marks > 1 ? "s" : ""} not read as a digit: ?)` : "");
    const by = answer.reader ? ` (read by ${answer.reader})` : "";
    statusLine.textContent = `Read ${what}${reader} as the number ${answer.number}${by}.`;
  } else if (answer.verdict === "not a digit") {
    digitShown.textContent = "✗";
    verdictLine.textContent = `This doesn't look like a digit (if it were one: ${guesses(answer)}).`;
    verdictLine.classList.add("refused");
    statusLine.textContent = `Read ${what}${reader}: not a digit.`;
  } else if (answer.verdict === "unsure") {
    digitShown.textContent = `${answer.top[0].digit}?`;
    verdictLine.textContent = `Unsure: maybe ${guesses(answer)}.`;
    statusLine.textContent = `Read ${what}${reader}: unsure, maybe ${guesses(answer)}.`;
  } else {
    digitShown.textContent = answer.digit;
    verdictLine.textContent = "";
    statusLine.textContent = `Read ${what}${reader} as ${answer.digit} (${percent(answer.probability)} sure).`;
  }
  showNumber(isNumber ? answer.digits : []);
  if (isNumber && answer.digits.some((d) => d.input)) {
    showSeen(answer.digits, 0); // a number is read digit by digit: show what each digit gave
  } else {
    document.getElementById("input-caption").textContent = "What it received (28×28, framed like MNIST)";
    drawGrey(document.getElementById("input"), answer.input, 28, 28);
    drawHidden(answer.hidden);
  }
  if (window.mnistTrain) window.mnistTrain.showFeatureMaps(answer.feature_maps);
}

// How a digit of a number was read, in words short enough to sit under its frame.
function digitReading(digit) {
  if (digit.verdict === "not a digit") return "? not a digit";
  const sure = digit.verdict === "digit" ? "" : "?";
  return `${digit.top[0].digit}${sure} · ${percent(digit.top[0].probability)}`;
}

// The 28x28 input and the hidden activations of digit `index` of a number.
function showSeen(digits, index) {
  const digit = digits[index];
  if (!digit || !digit.input) return;
  const input = document.getElementById("input");
  document.getElementById("input-caption").textContent =
    `Digit ${index + 1} of ${digits.length}, as the network received it (28×28)`;
  drawGrey(input, digit.input, 28, 28);
  input.dataset.digit = String(index + 1);
  drawHidden(digit.hidden || []);
  for (const [i, frame] of [...digitFrames.children].entries()) {
    frame.querySelector("button").setAttribute("aria-pressed", String(i === index));
  }
}

// Each digit of a number in its own frame, its reading and confidence under it; pointing at
// one (or focusing it) shows its input and hidden activations below.
function showFrames(digits) {
  digitFrames.replaceChildren();
  digits.forEach((digit, index) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "frame";
    const reading = digitReading(digit);
    button.setAttribute("aria-label", `digit ${index + 1}: ${reading}`);
    const canvas = document.createElement("canvas");
    canvas.width = 56;
    canvas.height = 56;
    if (digit.input) drawGrey(canvas, digit.input, 28, 28);
    const label = document.createElement("span");
    label.className = "reading" + (digit.verdict === "digit" ? "" : " doubtful");
    label.textContent = reading;
    button.append(canvas, label);
    for (const event of ["mouseenter", "focus", "click"]) {
      button.addEventListener(event, () => showSeen(digits, index));
    }
    item.append(button);
    digitFrames.append(item);
  });
}

// The picture sent, with each digit's box and reading drawn over it.
function showNumber(digits) {
  numberFigure.hidden = digits.length === 0 || !picture;
  if (numberFigure.hidden) return;
  showFrames(digits);
  const view = document.getElementById("number-view");
  const draw = () => {
    const width = picture.naturalWidth || picture.width;
    const height = picture.naturalHeight || picture.height;
    const scale = Math.min(view.width / width, view.height / height);
    const target = view.getContext("2d");
    target.fillStyle = "#000";
    target.fillRect(0, 0, view.width, view.height);
    target.drawImage(picture, 0, 0, width * scale, height * scale);
    target.lineWidth = 2;
    target.font = "bold 24px system-ui, sans-serif";
    for (const digit of digits) {
      const [left, top, right, bottom] = digit.box.map((v) => v * scale);
      target.strokeStyle = digit.verdict === "digit" ? "#f59e0b" : "#ef4444";
      target.strokeRect(left, top, right - left, bottom - top);
      // the reading on a dark tab above its box, large enough to read at a glance
      const label = digit.verdict === "not a digit" ? "?" : String(digit.top[0].digit);
      const y = Math.max(26, top - 2);
      target.fillStyle = "rgba(0, 0, 0, .75)";
      target.fillRect(left, y - 24, target.measureText(label).width + 8, 26);
      target.fillStyle = target.strokeStyle;
      target.fillText(label, left + 4, y - 2);
    }
    view.setAttribute("aria-label", `your picture with ${digits.length} boxes: ` +
      digits.map((d) => (d.verdict === "not a digit" ? "?" : d.top[0].digit)).join(" "));
    view.dataset.boxes = String(digits.length);
  };
  if (picture.complete === false) picture.onload = draw;
  else draw();
}

function showEmpty(message) {
  digitShown.textContent = "?";
  verdictLine.textContent = "";
  verdictLine.classList.remove("refused");
  bars.classList.remove("greyed");
  bars.hidden = false;
  numberFigure.hidden = true;
  for (const row of bars.children) {
    row.classList.remove("top");
    row.querySelector(".fill").style.width = "0";
    row.querySelector(".value").textContent = "–";
  }
  statusLine.textContent = message;
}

// Draw `values` (0..1, row by row) as a grey image of width x height cells on `canvas`.
function drawGrey(canvas, values, width, height) {
  const small = document.createElement("canvas");
  small.width = width;
  small.height = height;
  const image = small.getContext("2d").createImageData(width, height);
  values.forEach((value, i) => {
    const grey = Math.round(255 * Math.min(1, Math.max(0, value)));
    image.data.set([grey, grey, grey, 255], 4 * i);
  });
  small.getContext("2d").putImageData(image, 0, 0);
  const target = canvas.getContext("2d");
  target.imageSmoothingEnabled = false;
  target.clearRect(0, 0, canvas.width, canvas.height);
  target.drawImage(small, 0, 0, canvas.width, canvas.height);
}

// The hidden activations as a heat map, scaled to their own range (ReLU has no upper bound).
function drawHidden(hidden) {
  const canvas = document.getElementById("hidden");
  if (!hidden.length) return;
  const columns = Math.ceil(Math.sqrt(hidden.length * 2));
  const rows = Math.ceil(hidden.length / columns);
  const low = Math.min(...hidden);
  const high = Math.max(...hidden);
  const scaled = hidden.map((a) => (high > low ? (a - low) / (high - low) : 0));
  while (scaled.length < rows * columns) scaled.push(0);
  canvas.width = columns * 10;
  canvas.height = rows * 10;
  drawGrey(canvas, scaled, columns, rows);
}

// --- the model panel ----------------------------------------------------------------------------
async function loadModel() {
  const response = await fetch("/api/model");
  const model = await response.json();
  const facts = document.getElementById("model");
  document.body.classList.toggle("no-model", response.status === 404);
  if (response.status === 404) {
    facts.innerHTML = "<dt>Model</dt><dd>None yet: train one in the Train panel, then choose " +
      "“Use this model”.</dd>";
    return;
  }
  const config = model.config || {};
  const rows = [
    ["Architecture", `${model.architecture.sizes.join("–")}, ${model.architecture.activation}, ` +
      `${model.architecture.loss}`],
    ["Trained on", model.dataset || "?"],
    ["Test accuracy", model.test_accuracy == null ? "?" : `${(100 * model.test_accuracy).toFixed(2)}%`],
    ["Training", `${config.epochs} epochs, batch ${config.batch_size}, ${config.optimizer} ` +
      `lr ${config.learning_rate}`],
  ];
  facts.innerHTML = "";
  for (const [name, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    facts.append(dt, dd);
  }
}

// Text colour with the better contrast on a cell's background (WCAG relative luminance).
function readableText(red, green, blue) {
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
  return (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) ? "#000" : "#fff";
}

// A confusion matrix as table rows: green diagonal, red mistakes (stronger = more of them);
// with `buttons`, each cell is a button that shows its test digits.
function confusionHtml(confusion, buttons) {
  const largest = Math.max(...confusion.flat().filter((_, i) => i % 11 !== 0), 1);
  let html = "<thead><tr><th scope=\"col\">true \\ said</th>";
  for (let p = 0; p < confusion.length; p++) html += `<th scope="col">${p}</th>`;
  html += "</tr></thead><tbody>";
  confusion.forEach((row, t) => {
    html += `<tr><th scope="row">${t}</th>`;
    row.forEach((count, p) => {
      const strength = t === p ? 0.25 : Math.min(1, count / largest);
      const [r, g, b] = t === p ? [22, 163, 74] : [220, 38, 38];
      const mix = (c) => Math.round(255 + (c - 255) * strength); // over the white panel
      const style = `background:rgb(${mix(r)},${mix(g)},${mix(b)});` +
        `color:${readableText(mix(r), mix(g), mix(b))}`;
      const label = `${count} digits ${t} read as ${p}`;
      const cell = buttons
        ? `<button type="button" data-true="${t}" data-predicted="${p}" style="${style}" ` +
          `aria-label="${count} test digits ${t} read as ${p}">${count}</button>`
        : `<span style="${style}" title="${label}">${count}</span>`;
      html += `<td class="${t === p ? "diagonal" : ""}">${cell}</td>`;
    });
    html += "</tr>";
  });
  return html + "</tbody>";
}

async function loadConfusion() {
  const table = document.getElementById("confusion");
  const response = await fetch("/api/confusion");
  const answer = await response.json();
  const hint = document.getElementById("confusion-message");
  if (!response.ok) {
    hint.textContent = answer.error; // text, never HTML
    table.hidden = true;
    return;
  }
  hint.textContent = "";
  table.hidden = false;
  table.innerHTML = confusionHtml(answer.confusion, true);
}

document.getElementById("confusion").addEventListener("click", (event) => {
  const cell = event.target.closest("button");
  if (cell) showExamples(cell.dataset.true, cell.dataset.predicted);
});

async function showExamples(trueDigit, predicted) {
  const answer = await (await fetch(`/api/examples?true=${trueDigit}&predicted=${predicted}`)).json();
  const shown = document.getElementById("examples");
  shown.innerHTML = "";
  document.getElementById("examples-title").textContent =
    `${answer.count} test digits ${trueDigit} read as ${predicted}` +
    (answer.count > answer.images.length ? ` (first ${answer.images.length} shown)` : "");
  for (const pixels of answer.images) {
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `a test digit ${trueDigit}`);
    drawGrey(canvas, pixels, 28, 28);
    shown.appendChild(canvas);
  }
}

function reloadModel() {
  loadModel();
  loadConfusion();
}

window.mnistPage = { repredict: predictDrawing, reloadModel, confusionHtml, hasDrawing: () => hasInk };
reloadModel();
