// live.js: the live boxes of rnnlib/show/live.py, the trained model run again in the browser, no library.
//
// Python writes each box as <div data-rnn-live> holding the model as JSON and this file inline; this
// file draws the box and recomputes everything from the weights: the same step as rnnlib/rnn.py
// (h kept in float32 as torch keeps it), the same readout and softmax, and the same normalisation and
// messages as rnnlib/text.py. tests/browser/test_live_page.py checks them against rnnlib in Chromium.
(() => {
"use strict";
if (!window.rnnLive) window.rnnLive = (() => {

// ---------------------------------------------------------------- words (rnnlib/text.py, notebook 1)
// A word is stripped, case folded as Python's str.casefold, then NFC. JavaScript has NFC and
// toLowerCase, not casefold, and its \s is not Python's whitespace: Python sends where casefold is not
// lower case, its whitespace and its non-decimal digits as tables (live.py, text_rules).

function textRules(t) {
  const folds = new Map(Object.entries(t.foldMany).map(([n, s]) => [Number(n), s]));
  for (const [first, count, step, delta] of t.fold)
    for (let k = 0; k < count; k++) folds.set(first + k * step, String.fromCodePoint(first + k * step + delta));
  const within = ranges => c => { const n = c.codePointAt(0); return ranges.some(([a, b]) => a <= n && n <= b); };
  const otherDigit = within(t.digit);
  return {folds, isSpace: within(t.space), isDigit: c => /\p{Nd}/u.test(c) || otherDigit(c), maxLength: t.maxLength};
}

const isAlpha = c => /\p{L}/u.test(c);                              // Python's str.isalpha: L*
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;  // str.isprintable is false
const thousands = n => n.toLocaleString("en-US");
const byCodePoint = (a, b) => a.codePointAt(0) - b.codePointAt(0);

function repr(s) {                                                  // Python's repr of a str
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const hex = (n, width) => n.toString(16).padStart(width, "0");
  let out = q;
  for (const c of s) {
    const n = c.codePointAt(0);
    if (c === q || c === "\\") out += "\\" + c;
    else if (c === "\t") out += "\\t";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (n < 0x20 || n === 0x7f) out += "\\x" + hex(n, 2);
    else if (n < 0x7f || !NOT_PRINTABLE.test(c)) out += c;
    else out += n < 0x100 ? "\\x" + hex(n, 2) : n < 0x10000 ? "\\u" + hex(n, 4) : "\\U" + hex(n, 8);
  }
  return out + q;
}

function quote(text, limit = 40) {                                 // rnnlib.text.quote
  const chars = [...text];
  return chars.length <= limit ? repr(text)
    : repr(chars.slice(0, limit).join("")) + `... (${thousands(chars.length)} characters)`;
}

function normalize(word, rules) {                                  // rnnlib.text.normalize
  const tooLong = w => `${quote(w)} is too long: a word has at most ${thousands(rules.maxLength)} characters`;
  if ([...word].length > 4 * rules.maxLength) throw new Error(tooLong(word));
  const chars = [...word];
  let a = 0, b = chars.length;
  while (a < b && rules.isSpace(chars[a])) a++;
  while (b > a && rules.isSpace(chars[b - 1])) b--;
  const folded = chars.slice(a, b).map(c => rules.folds.get(c.codePointAt(0)) ?? c.toLowerCase()).join("").normalize("NFC");
  if (!folded) throw new Error("empty word: a word needs at least one character other than spaces");
  if ([...folded].length > rules.maxLength) throw new Error(tooLong(folded));
  return folded;
}

function hint(missing, vocab, rules) {                             // rnnlib.text.hint
  const accents = [], separators = [], digits = [];
  for (const c of missing) {
    const base = [...c.normalize("NFD")][0];
    if (base !== c && vocab.includes(base)) accents.push(`${repr(c)} is not in the vocabulary but ${repr(base)} is: write ${repr(base)}`);
    else if (rules.isDigit(c)) digits.push(repr(c));
    else if (!isAlpha(c)) separators.push(repr(c));
  }
  const hints = accents;
  if (separators.length) hints.push(`${separators.join(", ")} ${separators.length === 1 ? "separates" : "separate"} words: give the parts one at a time`);
  if (digits.length) hints.push(`${digits.join(", ")} ${digits.length === 1 ? "is a digit" : "are digits"}: the model knows only letters`);
  return hints.join("; ");
}

function encode(word, vocab, rules) {                              // rnnlib.text.Vocab.encode
  const folded = normalize(word, rules), chars = [...folded];
  const missing = [...new Set(chars.filter(c => !vocab.includes(c)))].sort(byCodePoint);
  if (missing.length) {
    let tip = hint(missing, vocab, rules);
    if (missing.length < new Set(chars).size) tip += (tip ? "; or " : "") + "pass unknown='skip' to drop them";
    throw new Error(`${quote(folded)} has characters outside the vocabulary: ${quote(missing.join(""))}; ` +
                    `the vocabulary holds ${repr(vocab.join(""))}${tip ? ` (${tip})` : ""}`);
  }
  return {word: folded, codes: chars.map(c => vocab.indexOf(c))};
}

// ---------------------------------------------------------------- the model (rnnlib/model.py, rnn.py)
// theta is one vector holding W (gates*nh x nh), U (gates*nh x nin), b, V (nout x nh), rows after rows.

function model(m) {
  const bytes = Uint8Array.from(atob(m.weights), c => c.charCodeAt(0)), view = new DataView(bytes.buffer);
  const theta = new Float32Array(bytes.length / 4);
  for (let i = 0; i < theta.length; i++) theta[i] = view.getFloat32(4 * i, true);    // little-endian
  const out = {cell: m.cell, nh: m.nhidden};
  let start = 0;
  for (const [name, rows, cols] of m.shapes) {
    out[name] = theta.subarray(start, start + rows * cols);
    start += rows * cols;
    if (name === "U") out.nin = cols;
    if (name === "V") out.nout = rows;
  }
  return out;
}

const sigmoid = z => 1 / (1 + Math.exp(-z));
const SIMPLE = {tanh: Math.tanh, relu: z => Math.max(z, 0), identity: z => z};

// One step h_t from h_{t-1} and the character x: row i of W @ h + U[:, x] + b (notebook 5), through
// tanh, relu or nothing; or PyTorch's GRU, the blocks r, z, n of notebook 14's gated cell: r and z are sigmoids,
// n = tanh(U_n x + b_n + r * (W_n @ h)), h_t = (1 - z) * n + z * h_{t-1}.
function step(m, h, x) {
  const nh = m.nh, out = new Float32Array(nh);       // float32, as torch stores h
  const ux = row => m.U[row * m.nin + x] + m.b[row];
  const wh = row => { let s = 0; for (let j = 0, w = row * nh; j < nh; j++) s += m.W[w + j] * h[j]; return s; };
  for (let i = 0; i < nh; i++) {
    if (m.cell !== "gru") { out[i] = SIMPLE[m.cell](ux(i) + wh(i)); continue; }
    const r = sigmoid(ux(i) + wh(i)), z = sigmoid(ux(nh + i) + wh(nh + i));
    const n = Math.tanh(ux(2 * nh + i) + r * wh(2 * nh + i));
    out[i] = (1 - z) * n + z * h[i];
  }
  return out;
}

function probabilities(m, h, temperature = 1) {     // softmax(V @ h / temperature), notebooks 6 and 15
  const o = new Float32Array(m.nout);
  for (let c = 0; c < m.nout; c++) { let s = 0; for (let j = 0; j < m.nh; j++) s += m.V[c * m.nh + j] * h[j]; o[c] = s; }
  if (!o.every(Number.isFinite)) return null;
  const top = Math.max(...o), e = Array.from(o, v => Math.exp((v - top) / temperature));
  const sum = e.reduce((a, v) => a + v, 0);
  return e.map(v => v / sum);
}

// Classifier.scores' message: a relu model's h has no bound
const overflowed = m => `the scores of word 0 are not finite: h overflowed in this ${m.cell} RNN; use shorter words or a tanh model, whose h stays in -1..1`;

// ---------------------------------------------------------------- drawing
const el = (tag, attrs = {}, text = "") => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
};
const shown = c => (c === " " ? "␣" : c);

const CSS = `
.rnn-live-ui{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;color:var(--jp-content-font-color1,#222);max-width:100%}
.rnn-live-row{display:flex;flex-wrap:wrap;align-items:center;gap:.4em 1em;margin:.3em 0}
.rnn-live-ui input[type=text]{font:15px var(--jp-code-font-family,monospace);padding:.2em .4em;width:14em;max-width:90%;border:1px solid var(--jp-border-color1,#999);border-radius:3px;background:var(--jp-layout-color0,#fff);color:inherit}
.rnn-live-ui .rnn-live-out{font-weight:600}
.rnn-live-ui .rnn-live-message{color:#b00020;margin:.3em 0;overflow-wrap:anywhere}
.rnn-live-ui .rnn-live-panels{display:flex;flex-wrap:wrap;gap:.8em 2em;align-items:flex-start}
.rnn-live-ui .rnn-live-bars{display:grid;grid-template-columns:max-content minmax(5em,12em) 2.6em;gap:2px .5em;align-items:center}
.rnn-live-ui .rnn-live-track{background:var(--jp-layout-color2,#eee);height:.9em}
.rnn-live-ui .rnn-live-fill{display:block;height:100%;background:#4c72b0}
.rnn-live-ui .rnn-live-top{font-weight:600}
.rnn-live-ui .rnn-live-scroll{max-height:20em;max-width:100%;overflow:auto}
.rnn-live-ui table.rnn-live-table{border-collapse:collapse;font-size:12px;margin:0}
.rnn-live-ui .rnn-live-table th,.rnn-live-ui .rnn-live-table td{padding:1px 5px;border:1px solid var(--jp-border-color2,#ddd);text-align:right;color:inherit}
.rnn-live-ui .rnn-live-table thead th{position:sticky;top:0;background:var(--jp-layout-color1,#fafafa);color:inherit;font-weight:600}
.rnn-live-ui .rnn-live-table.rnn-live-many thead th{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left}
.rnn-live-ui .rnn-live-table tbody th{font-family:var(--jp-code-font-family,monospace);text-align:left;white-space:pre;color:inherit}
.rnn-live-ui .rnn-live-table tr.rnn-live-now th{background:#ffd54f;color:#222}
.rnn-live-ui .rnn-live-word{font:18px var(--jp-code-font-family,monospace);min-height:1.4em;overflow-wrap:anywhere}
.rnn-live-ui .rnn-live-word .rnn-live-now{background:#ffd54f}
.rnn-live-ui .rnn-live-dist{display:flex;align-items:flex-end;gap:1px;height:8em;max-width:40em;border-top:1px dashed var(--jp-border-color2,#ccc)}
.rnn-live-ui .rnn-live-col{display:flex;flex-direction:column;justify-content:flex-end;align-items:center;flex:1 1 0;min-width:0;height:100%;font:10px var(--jp-code-font-family,monospace)}
.rnn-live-ui .rnn-live-col>span:first-child{width:80%;background:#4c72b0;min-height:1px}
.rnn-live-ui .rnn-live-col.rnn-live-drawn>span:first-child{background:#e07b00}
.rnn-live-ui .rnn-live-col.rnn-live-drawn{font-weight:700}
.rnn-live-ui .rnn-live-note{color:var(--jp-content-font-color2,#555);font-size:12px;margin:.2em 0}
.rnn-live-ui .rnn-live-samples{color:var(--jp-content-font-color2,#555);overflow-wrap:anywhere}`;

function addStyle() {
  if (document.getElementById("rnn-live-style")) return;
  document.head.appendChild(el("style", {id: "rnn-live-style"}, CSS));
}

const percent = p => `${(100 * p).toFixed(1)}%`;
const probability = (tag, attrs, p) => el(tag, {...attrs, "data-probability": String(p), title: String(p)}, p.toFixed(2));

// ---------------------------------------------------------------- the word box (notebook 13)
// After every keystroke: softmax(V @ h_t) after every prefix (the table) and after the word (the bars).
function wordBox(box, cfg, m, rules) {
  const ui = el("div", {class: "rnn-live-ui"}), classes = cfg.classes;
  const input = el("input", {type: "text", "aria-label": "word", autocomplete: "off", spellcheck: "false",
                             autocapitalize: "off"});
  const out = el("span", {class: "rnn-live-out", "aria-live": "polite"});
  const message = el("div", {class: "rnn-live-message", role: "status"});
  const bars = el("div", {class: "rnn-live-bars", "data-rnn-final": ""});
  const scroll = el("div", {class: "rnn-live-scroll"});
  const row = el("label", {class: "rnn-live-row"}, "word ");
  row.append(input, out);
  const panels = el("div", {class: "rnn-live-panels"});
  panels.append(bars, scroll);
  const note = el("div", {class: "rnn-live-note"},
    "softmax(V @ h_t) after the word (bars) and after each prefix (table), computed in this page from the trained weights");
  ui.append(row, message, panels, note);
  box.appendChild(ui);

  function update() {
    bars.replaceChildren();
    scroll.replaceChildren();
    out.textContent = message.textContent = "";
    out.removeAttribute("data-prediction");
    let word, codes, P = [];
    try {
      ({word, codes} = encode(input.value, cfg.vocab, rules));
    } catch (err) { message.textContent = err.message; return; }
    let h = new Float32Array(m.nh);
    for (const x of codes) { h = step(m, h, x); P.push(probabilities(m, h)); }
    if (P[P.length - 1] === null) { message.textContent = overflowed(m); return; }
    const p = P[P.length - 1], best = p.indexOf(Math.max(...p)), chars = [...word];
    out.textContent = `→ ${classes[best]}`;
    out.setAttribute("data-prediction", classes[best]);
    classes.forEach((c, k) => {
      const fill = el("span", {class: "rnn-live-fill", style: `width:${percent(p[k])}`}), track = el("span", {class: "rnn-live-track"});
      track.appendChild(fill);
      bars.append(el("span", {class: k === best ? "rnn-live-top" : ""}, c), track,
                  probability("span", {"data-language": c, class: k === best ? "rnn-live-top" : ""}, p[k]));
    });
    const table = el("table", {class: "rnn-live-table" + (classes.length > 6 ? " rnn-live-many" : "")});
    const head = el("tr");
    head.append(el("th", {}, "prefix"), ...classes.map(c => el("th", {}, c)));
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    P.forEach((q, t) => {
      if (q === null) return;                        // h overflowed here and came back: not shown
      const tr = body.appendChild(el("tr", t === P.length - 1 ? {class: "rnn-live-now"} : {}));
      tr.appendChild(el("th", {}, chars.slice(0, t + 1).join("")));
      q.forEach((v, k) => tr.appendChild(probability("td", {"data-language": classes[k], "data-step": t + 1,
        style: `background:rgba(46,139,87,${v.toFixed(3)})${v > 0.6 ? ";color:#fff" : ""}`}, v)));
    });
    scroll.appendChild(table);
    scroll.scrollTop = scroll.scrollHeight;          // the latest prefix in view
  }
  input.value = cfg.word;
  input.addEventListener("input", update);
  update();
}

// ---------------------------------------------------------------- the sampler (notebook 15)
function mulberry32(seed) {                          // a small seeded generator: 32 bits in, floats in [0, 1)
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// lm.sample: from <language>, draw each next symbol from softmax(V @ h_t / T) until <end> or maxLength letters.
function sampleWord(m, start, end, temperature, maxLength, random) {
  let h = new Float32Array(m.nh), x = start;
  const drawn = [], dists = [];
  for (let k = 0; k <= maxLength; k++) {
    h = step(m, h, x);
    const p = probabilities(m, h, temperature);
    if (p === null) return null;                     // h overflowed (a relu model)
    const u = random();
    let sum = 0;
    x = p.findIndex(v => (sum += v) > u);
    if (x < 0) x = p.findLastIndex(v => v > 0);      // u above the rounded sum
    drawn.push(x);
    dists.push(p);
    if (x === end) break;
  }
  const length = drawn.includes(end) ? drawn.indexOf(end) : maxLength;
  return {letters: drawn.slice(0, length), drawn, dists: dists.slice(0, length + 1)};
}

function sampler(box, cfg, m) {
  const ui = el("div", {class: "rnn-live-ui"}), end = cfg.vocab.length, symbols = [...cfg.vocab, "<end>"];
  const controls = el("div", {class: "rnn-live-row"});
  const language = el("select", {"aria-label": "language"});
  for (const L of cfg.languages) language.appendChild(el("option", {value: L}, L));
  language.value = cfg.language;
  const temperature = el("input", {type: "range", "data-rnn-temperature": "", "aria-label": "temperature",
    min: Math.min(0.1, cfg.temperature), max: Math.max(2, cfg.temperature), step: 0.05, value: cfg.temperature});
  const tValue = el("output");
  const button = el("button", {type: "button", "data-rnn-sample": ""}, "sample");
  const tLabel = el("label", {}, "temperature ");
  tLabel.append(temperature, tValue);
  if (cfg.languages.length > 1) { const l = el("label", {}, "language "); l.appendChild(language); controls.appendChild(l); }
  controls.append(tLabel, button);
  const word = el("div", {class: "rnn-live-word"});
  const stepRow = el("label", {class: "rnn-live-row"}, "t ");
  const stepper = el("input", {type: "range", "data-rnn-step": "", "aria-label": "step", min: 0, max: 0, value: 0});
  const caption = el("span");
  stepRow.append(stepper, caption);
  const dist = el("div", {class: "rnn-live-dist"});
  const samples = el("div", {class: "rnn-live-samples"});
  const message = el("div", {class: "rnn-live-message", role: "status"});
  const note = el("div", {class: "rnn-live-note"},
    "each letter drawn from softmax(V @ h_t / temperature), computed in this page; bars: the dashed line is p = 1");
  ui.append(controls, message, word, stepRow, dist, note, samples);
  box.appendChild(ui);

  const seeds = mulberry32(cfg.seed), drawnWords = [];
  let current = null, seed = 0, timer = null;

  function show(k) {                                  // step k: the distribution after <L> and k letters
    const s = current, L = language.value, letters = s.letters.map(i => cfg.vocab[i]);
    stepper.max = s.dists.length - 1;
    stepper.value = k;
    word.replaceChildren(el("span", {}, `⟨${L}⟩`), ...letters.map((c, i) =>
      el("span", i === k ? {class: "rnn-live-now"} : {style: i > k ? "visibility:hidden" : ""}, shown(c))));
    if (k === letters.length) word.appendChild(el("span", {class: "rnn-live-now"}, s.drawn[k] === end ? "⏎" : "…"));
    word.setAttribute("data-word", letters.join(""));
    word.setAttribute("data-language", L);
    const next = s.drawn[k] === end ? "<end>" : `'${cfg.vocab[s.drawn[k]]}'`;
    const p = s.dists[k];
    caption.textContent = `after ⟨${L}⟩${letters.slice(0, k).join("")}: P(next letter); drew ${next} (p = ${p[s.drawn[k]].toFixed(2)})`;
    dist.replaceChildren(...symbols.map((c, i) => {
      const col = el("div", {class: "rnn-live-col" + (i === s.drawn[k] ? " rnn-live-drawn" : ""), title: `${c} ${p[i].toFixed(3)}`});
      col.append(el("span", {"data-letter": c, "data-probability": String(p[i]), style: `height:${percent(p[i])}`}),
                 el("span", {}, c === "<end>" ? "⏎" : shown(c)));
      return col;
    }));
  }

  function draw(animate) {                           // the word of this seed at the slider's temperature
    clearTimeout(timer);
    const T = Number(temperature.value);
    tValue.textContent = T.toFixed(2);
    current = sampleWord(m, end + cfg.languages.indexOf(language.value), end, T, cfg.maxLength, mulberry32(seed));
    message.textContent = current ? "" : overflowed(m);
    if (!current) return;
    if (!animate) return show(Math.min(Number(stepper.value), current.dists.length - 1));
    drawnWords.unshift(current.letters.map(i => cfg.vocab[i]).join(""));
    samples.textContent = "drawn: " + drawnWords.slice(0, 12).join(" · ");
    let k = 0;
    const next = () => { show(k); if (k++ < current.dists.length - 1) timer = setTimeout(next, 300); };
    next();
  }
  button.addEventListener("click", () => { seed = Math.floor(seeds() * 4294967296); draw(true); });
  temperature.addEventListener("input", () => draw(false));   // the same draws, another temperature
  language.addEventListener("change", () => draw(false));
  stepper.addEventListener("input", () => { clearTimeout(timer); if (current) show(Number(stepper.value)); });
  seed = Math.floor(seeds() * 4294967296);
  draw(true);
}

// ---------------------------------------------------------------- boot every box of the page once
function boot(box) {
  if (box.hasAttribute("data-booted")) return;
  box.setAttribute("data-booted", "");
  addStyle();
  const cfg = JSON.parse(box.querySelector("script.rnn-live-model").textContent);
  const m = model(cfg.model), text = box.querySelector(".rnn-live-text");
  if (text) text.hidden = true;                       // the text fallback, for pages without scripts
  if (cfg.kind === "sampler") sampler(box, cfg, m);
  else wordBox(box, cfg, m, textRules(cfg.text));
}

return {boot, textRules, normalize, encode, quote, repr, hint, model, step, probabilities};
})();
document.querySelectorAll("[data-rnn-live]").forEach(box => window.rnnLive.boot(box));
})();
