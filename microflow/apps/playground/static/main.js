// The playground page: one WebSocket to the microflow server, which trains the network and
// sends a binary frame (every neuron's picture as uint8 grids, plus weights and losses) each
// time the page says it is ready. The page draws the newest frame once per animation frame.

import { LossChart } from "./chart.js";
import { Controls } from "./controls.js";
import { GridImage, drawPoints, finiteRange, renderLegend } from "./heatmap.js";
import { FEATURES, MAX_LAYERS, MAX_NEURONS, NetworkView, formatNumber } from "./network.js";
import { Socket } from "./socket.js";
import { FLAGS, readQuery, storeQuery } from "./url.js";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD = 1024 * 1024;

/** Counters a test or the benchmark reads: frames received and drawn, the time spent drawing
 * them (ms, in total), the bytes received, and the newest frame's header. */
const stats = { framesReceived: 0, framesDrawn: 0, drawMs: 0, bytesReceived: 0, lastHeader: null };
window.playground = stats;

class Playground {
  constructor() {
    const query = readQuery(window.location.search);
    this.urlConfig = query.config;
    this.flags = { showTestData: false, discretize: false, ...query.flags };
    this.pageNotices = query.notices;
    this.serverNotices = [];
    this.state = null;
    this.config = null;
    this.data = { train: [], test: [] };
    this.pending = null;          // the newest frame not drawn yet
    this.scheduled = false;
    this.outputGrid = null;       // {grid, payload} of the last output drawn, for redraws
    this.outputImage = new GridImage(100);
    this.outputPainted = false;
    this.diverged = null;
    this.connectedOnce = false;
    this.chart = new LossChart($("chart"));
    this.controls = new Controls((partial) => this.sendConfig(partial));
    this.network = new NetworkView($("network"), {
      toggleFeature: (key) => this.toggleFeature(key),
      addNeuron: (layer) => this.changeLayer(layer, +1),
      removeNeuron: (layer) => this.changeLayer(layer, -1),
      setActivation: (layer, name) => {
        const activations = [...this.config.activations];
        activations[layer - 1] = name;
        this.sendConfig({ activations });
      },
      setWeight: (matrix, from, to, value) =>
        this.socket.send({ type: "set_weight", layer: matrix, from, to, value }),
      setBias: (layer, neuron, value) =>
        this.socket.send({ type: "set_bias", layer, neuron, value }),
    });
    this.bindButtons();
    this.showNotices();
    this.drawOutput();
    this.chart.draw();
    const protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    this.socket = new Socket(`${protocol}//${window.location.host}/ws`, {
      onOpen: () => this.onOpen(),
      onClose: () => this.alert("Lost the connection to the playground's server; trying again… (is `microflow playground` still running?)", "connection"),
      onMessage: (message) => this.onMessage(message),
      onFrame: (frame) => this.onFrame(frame),
      onError: (text) => this.alert(text),
    });
  }

  // ---- talking to the server ----

  onOpen() {
    this.clearAlert("connection");
    if (!this.connectedOnce) {
      this.connectedOnce = true;
      if (Object.keys(this.urlConfig).length) this.socket.send({ type: "config", config: this.urlConfig });
    } else if (this.config) {
      const config = { ...this.config };
      if (config.dataset === "upload") delete config.dataset;
      this.socket.send({ type: "config", config });
    }
  }

  sendConfig(partial) {
    if (this.config) Object.assign(this.config, partial);
    this.noticesStale = true;
    this.clearAlert("diverged");
    this.socket.send({ type: "config", config: partial });
  }

  onMessage(message) {
    switch (message.type) {
      case "state": return this.onState(message);
      case "data":
        this.data = { train: message.train || [], test: message.test || [] };
        return this.drawOutput();
      case "error": return this.alert(message.message || "the server reported an error");
      case "diverged": return this.onDiverged(message);
      case "graph": return this.showGraph(message.svg);
      case "download": return this.download(message);
      default: return this.alert(`the server sent a message of unknown type ${JSON.stringify(message.type)}`);
    }
  }

  onState(state) {
    const previous = this.state;
    this.state = state;
    this.config = structuredClone(state.config);
    this.controls.show(state.config);
    this.network.build(state);
    this.setRunning(Boolean(state.running));
    $("epoch").textContent = String(state.epoch ?? 0);
    if (state.notices && state.notices.length) {
      this.serverNotices = state.notices;
      this.noticesStale = false;
    } else if (this.noticesStale) {
      this.serverNotices = [];
      this.pageNotices = [];
    }
    this.showNotices();
    const config = { ...state.config };
    if (config.dataset === "upload") delete config.dataset;
    storeQuery(config, this.flags);
    renderLegend($("legend"), state.config.problem, this.classCount());
    if ((state.epoch ?? 0) === 0) this.chart.clear();
    if (!previous || previous.config.problem !== state.config.problem || previous.config.classes !== state.config.classes) {
      this.drawOutput();
    }
  }

  classCount() {
    const config = this.config;
    if (!config || config.problem !== "classification") return 2;
    return config.classes || 2;
  }

  onFrame(frame) {
    stats.framesReceived += 1;
    stats.bytesReceived += frame.payload.byteOffset + frame.payload.byteLength;
    this.pending = frame;
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.drawFrame());
    }
  }

  drawFrame() {
    this.scheduled = false;
    const frame = this.pending;
    this.pending = null;
    if (!frame) return;
    const started = performance.now();
    try {
      this.paint(frame.header, frame.payload);
      stats.framesDrawn += 1;
      stats.lastHeader = frame.header;
    } catch (error) {
      this.alert(`could not draw a frame: ${error.message}`);
    } finally {
      stats.drawMs += performance.now() - started;
      this.socket.send({ type: "ready" });
    }
  }

  paint(header, payload) {
    const finite = Number.isFinite(header.trainLoss) && Number.isFinite(header.testLoss);
    $("epoch").textContent = String(header.epoch ?? 0);
    if (!finite && (header.epoch ?? 0) > 0) {
      // A diverged run: keep the last good pictures, paint nothing of NaN.
      this.showDiverged(`Training diverged at epoch ${header.epoch}: the loss is not a number any more. Lower the learning rate and press Reset.`);
      return;
    }
    $("trainLoss").textContent = finite ? formatNumber(header.trainLoss) : "–";
    $("testLoss").textContent = finite ? formatNumber(header.testLoss) : "–";
    const accuracy = header.testAccuracy ?? null;
    $("accuracy").textContent = Number.isFinite(accuracy) ? formatNumber(accuracy) : "–";
    $("train-accuracy").textContent = Number.isFinite(header.accuracy) ? `training ${formatNumber(header.accuracy)}` : "";
    this.chart.add(header.epoch ?? 0, header.trainLoss, header.testLoss);
    this.chart.draw();
    this.network.update(header, payload);
    const output = (header.grids || []).find((grid) => grid.id === "output");
    if (output && finiteRange(output)) {
      this.outputGrid = { grid: output, payload };
      this.paintOutputGrid();
    }
    this.showConfusion(header.confusion);
    this.drawOutput();
  }

  paintOutputGrid() {
    if (!this.outputGrid) return;
    const { grid, payload } = this.outputGrid;
    this.outputImage.paint(payload, grid, this.flags.discretize);
    this.outputPainted = true;
  }

  /** The output map (or white before the first frame), then the points on top. */
  drawOutput() {
    const canvas = $("output");
    const context = canvas.getContext("2d");
    if (this.outputPainted) this.outputImage.drawOnto(context, canvas.width, canvas.height);
    else {
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
    }
    const problem = this.config ? this.config.problem : "classification";
    const classes = this.classCount();
    drawPoints(context, this.data.train, canvas.width, problem, classes, "#fff");
    if (this.flags.showTestData) drawPoints(context, this.data.test, canvas.width, problem, classes, "#000");
  }

  showConfusion(confusion) {
    const box = $("confusion-box");
    if (!Array.isArray(confusion) || !confusion.length) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const table = $("confusion");
    const rows = [];
    // Two classes are the labels -1 (orange) and +1 (blue); more are numbered from 0.
    const name = (k) => (confusion.length === 2 ? ["−1 (orange)", "+1 (blue)"][k] : `class ${k}`);
    const head = document.createElement("tr");
    head.append(Object.assign(document.createElement("th"), { textContent: "true ↓ predicted →", scope: "col" }));
    confusion[0].forEach((_, k) => head.append(Object.assign(document.createElement("th"), { textContent: name(k), scope: "col" })));
    rows.push(head);
    confusion.forEach((row, i) => {
      const tr = document.createElement("tr");
      tr.append(Object.assign(document.createElement("th"), { textContent: name(i), scope: "row" }));
      row.forEach((count, j) => {
        const td = document.createElement("td");
        td.textContent = String(count);
        if (i === j) td.className = "diagonal";
        tr.append(td);
      });
      rows.push(tr);
    });
    table.replaceChildren(...rows);
  }

  // ---- divergence, notices, alerts ----

  onDiverged(message) {
    this.setRunning(false);
    this.showDiverged(message.message || `training diverged at epoch ${message.epoch}`, message.epoch);
  }

  showDiverged(text, epoch) {
    this.diverged = Number.isFinite(epoch) ? epoch : (this.diverged ?? 0);
    const overlay = $("diverged");
    overlay.textContent = text;
    overlay.hidden = false;
    this.alert(text, "diverged");
  }

  clearDiverged() {
    this.diverged = null;
    $("diverged").hidden = true;
    this.clearAlert("diverged");
  }

  showNotices() {
    const box = $("notices");
    const notices = [...this.pageNotices, ...this.serverNotices];
    box.replaceChildren(...notices.map((text) => Object.assign(document.createElement("p"), { textContent: text })));
  }

  /** Show `text` in the alert area; a `kind` replaces the earlier alert of that kind. */
  alert(text, kind = "error") {
    const box = $("alerts");
    const old = kind === "error" ? null : box.querySelector(`[data-kind="${kind}"]`);
    const line = document.createElement("p");
    line.dataset.kind = kind;
    const dismiss = Object.assign(document.createElement("button"), { type: "button", className: "dismiss", textContent: "×" });
    dismiss.setAttribute("aria-label", "Dismiss message");
    dismiss.addEventListener("click", () => line.remove());
    line.append(dismiss, text);
    if (old) old.replaceWith(line);
    else box.append(line);
    const errors = box.querySelectorAll('[data-kind="error"]');
    if (errors.length > 3) errors[0].remove();
  }

  clearAlert(kind) {
    $("alerts").querySelectorAll(`[data-kind="${kind}"]`).forEach((line) => line.remove());
  }

  // ---- buttons and the network's edits ----

  setRunning(running) {
    this.running = running;
    const play = $("play");
    play.classList.toggle("running", running);
    play.setAttribute("aria-label", running ? "Pause" : "Play");
  }

  bindButtons() {
    $("play").addEventListener("click", () => {
      const running = !this.running;
      if (running) {
        this.clearAlert("error");
        this.clearDiverged();
      }
      this.socket.send({ type: running ? "play" : "pause" });
      this.setRunning(running);
    });
    $("step").addEventListener("click", () => {
      this.clearDiverged();
      this.socket.send({ type: "step" });
    });
    $("reset").addEventListener("click", () => {
      this.clearDiverged();
      this.chart.clear();
      this.socket.send({ type: "reset" });
    });
    $("regenerate").addEventListener("click", () => {
      this.clearDiverged();
      this.socket.send({ type: "regenerate" });
    });
    $("add-layer").addEventListener("click", () => {
      if (!this.config || this.config.hidden.length >= MAX_LAYERS) return;
      this.sendConfig({
        hidden: [...this.config.hidden, 2],
        activations: [...this.config.activations, this.controls.defaultActivation],
      });
    });
    $("remove-layer").addEventListener("click", () => {
      if (!this.config || !this.config.hidden.length) return;
      this.sendConfig({ hidden: this.config.hidden.slice(0, -1), activations: this.config.activations.slice(0, -1) });
    });
    for (const flag of FLAGS) {
      const box = $(flag);
      box.checked = this.flags[flag];
      box.addEventListener("change", () => {
        this.flags[flag] = box.checked;
        if (flag === "discretize") this.paintOutputGrid();
        this.drawOutput();
        if (this.state) {
          const config = { ...this.state.config };
          if (config.dataset === "upload") delete config.dataset;
          storeQuery(config, this.flags);
        }
      });
    }
    $("upload").addEventListener("change", (event) => this.upload(event.target));
    $("export-data").addEventListener("click", () => this.socket.send({ type: "export", what: "data" }));
    $("export-checkpoint").addEventListener("click", () => this.socket.send({ type: "export", what: "checkpoint" }));
    $("export-script").addEventListener("click", () => this.socket.send({ type: "export", what: "script" }));
    $("graph").addEventListener("click", () => {
      $("graph-dialog").showModal();
      this.askGraph();
    });
    $("graph-backward").addEventListener("change", () => this.askGraph());
    $("graph-close").addEventListener("click", () => $("graph-dialog").close());
  }

  toggleFeature(key) {
    const features = new Set(this.config.features);
    if (features.has(key)) {
      if (features.size === 1) {
        this.alert("the network needs at least one feature: switch another on first", "features");
        return;
      }
      features.delete(key);
    } else {
      features.add(key);
    }
    this.clearAlert("features");
    this.sendConfig({ features: FEATURES.map((f) => f.key).filter((k) => features.has(k)) });
  }

  changeLayer(layer, change) {
    const hidden = [...this.config.hidden];
    const count = hidden[layer - 1] + change;
    if (count < 1 || count > MAX_NEURONS) return;
    hidden[layer - 1] = count;
    this.sendConfig({ hidden });
  }

  async upload(input) {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    if (file.size > MAX_UPLOAD) {
      this.alert(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the playground takes CSV files up to 1 MB (10000 rows)`);
      return;
    }
    const text = await file.text();
    const name = $("upload-name");
    name.textContent = `Your data: ${file.name}`;
    this.noticesStale = true;
    this.socket.send({ type: "upload", csv: text });
  }

  askGraph() {
    $("graph-body").replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: "Asking the server for the drawing…" }));
    this.socket.send({ type: "graph", backward: $("graph-backward").checked });
  }

  showGraph(svg) {
    if (this.graphUrl) URL.revokeObjectURL(this.graphUrl);
    this.graphUrl = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    const image = Object.assign(document.createElement("img"), { src: this.graphUrl });
    image.alt = $("graph-backward").checked
      ? "The microflow graph of the network with its gradient ops"
      : "The microflow graph of the network, with current values";
    $("graph-body").replaceChildren(image);
  }

  download(message) {
    let body = message.content || "";
    if (message.encoding === "base64") {
      const bytes = atob(body);
      const array = new Uint8Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) array[i] = bytes.charCodeAt(i);
      body = array;
    }
    const url = URL.createObjectURL(new Blob([body], { type: message.mime || "application/octet-stream" }));
    const link = Object.assign(document.createElement("a"), { href: url, download: message.filename || "playground" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}

window.addEventListener("DOMContentLoaded", () => {
  window.playgroundApp = new Playground();
});
