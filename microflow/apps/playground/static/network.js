// The network column: the features, the hidden layers and the output neurons as columns of
// thumbnails (each neuron's picture of the plane), joined by links whose width is |w| and
// whose colour is the sign of w. Hover a neuron: its map large and its formula with the
// current weights. Hover a link: its weight. Click a link (or a neuron's small bias square):
// change the value, live.

import { colourOf, cssColour, finiteRange, paintGrid } from "./heatmap.js";

export const FEATURES = [
  { key: "x1", label: "X₁", math: "x1", picture: (x1) => x1 / 6 },
  { key: "x2", label: "X₂", math: "x2", picture: (x1, x2) => x2 / 6 },
  { key: "x1sq", label: "X₁²", math: "x1²", picture: (x1) => (x1 * x1) / 18 - 1 },
  { key: "x2sq", label: "X₂²", math: "x2²", picture: (x1, x2) => (x2 * x2) / 18 - 1 },
  { key: "x1x2", label: "X₁X₂", math: "x1·x2", picture: (x1, x2) => (x1 * x2) / 18 },
  { key: "sinx1", label: "sin(X₁)", math: "sin(x1)", picture: (x1) => Math.sin(x1) },
  { key: "sinx2", label: "sin(X₂)", math: "sin(x2)", picture: (x1, x2) => Math.sin(x2) },
];
export const MAX_LAYERS = 10;
export const MAX_NEURONS = 32;
/** The most times a second the links are repainted (see paintLinks). */
const LINK_HZ = 15;
/** Segments per link when finding the link under the pointer. */
const LINK_SAMPLES = 12;
const ACTIVATIONS = [["relu", "ReLU"], ["tanh", "Tanh"], ["sigmoid", "Sigmoid"], ["linear", "Linear"]];

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

export function formatNumber(value, digits = 3) {
  if (!Number.isFinite(value)) return String(value);
  const text = value.toFixed(digits);
  return text === `-${(0).toFixed(digits)}` ? (0).toFixed(digits) : text;
}

/** Local picture of a feature that is switched off (the server draws the active ones). */
function paintFeature(canvas, feature) {
  const size = canvas.width;
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let row = 0; row < size; row++) {
    const x2 = 6 - ((row + 0.5) * 12) / size;
    for (let col = 0; col < size; col++) {
      const x1 = -6 + ((col + 0.5) * 12) / size;
      const c = colourOf(feature.picture(x1, x2));
      image.data.set([c[0], c[1], c[2], 160], (row * size + col) * 4);
    }
  }
  context.putImageData(image, 0, 0);
}

export class NetworkView {
  /** `root`: the .network element (holds #link-canvas and #layers); `actions`: the callbacks
   * toggleFeature(key), addNeuron(layer), removeNeuron(layer), setActivation(layer, name),
   * setWeight(matrix, from, to, value), setBias(layer, neuron, value) (layer 1 = the first
   * hidden layer, as the server counts). */
  constructor(root, actions) {
    this.root = root;
    this.linkCanvas = root.querySelector("#link-canvas");
    this.linkContext = this.linkCanvas.getContext("2d");
    this.linkRatio = 1;
    this.linkKey = "";
    this.linkPaintedAt = -Infinity;
    this.linkTimer = 0;
    this.layersElement = root.querySelector("#layers");
    this.actions = actions;
    this.card = document.getElementById("hover-card");
    this.cardMap = document.getElementById("hover-map");
    this.cardFormula = document.getElementById("hover-formula");
    this.tip = document.getElementById("link-tip");
    this.editor = document.getElementById("weight-editor");
    this.editorInput = document.getElementById("weight-value");
    this.editorLabel = document.getElementById("weight-label");
    this.nodes = new Map();          // id -> {canvas, context, image, layer, index, element}
    this.links = [];                 // {matrix, from, to, geometry, samples}
    this.weights = null;
    this.biases = null;
    this.hovered = null;
    this.shapeKey = "";
    this.editing = null;
    this.editor.addEventListener("submit", (event) => {
      event.preventDefault();
      this.commitEdit();
    });
    this.editorInput.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.closeEditor();
    });
    this.editorInput.addEventListener("blur", () => setTimeout(() => this.closeEditor(), 0));
    window.addEventListener("resize", () => this.layoutLinks());
    this.linkCanvas.addEventListener("mousemove", (event) => {
      const link = this.pointerOnLinks(event);
      this.linkCanvas.style.cursor = link ? "pointer" : "";
      if (link) this.showTip(event, link);
      else this.tip.hidden = true;
    });
    this.linkCanvas.addEventListener("mouseleave", () => { this.tip.hidden = true; });
    this.linkCanvas.addEventListener("click", (event) => {
      const link = this.pointerOnLinks(event);
      if (link) this.openEditor(event, { kind: "weight", link });
    });
  }

  /** Rebuild the columns when the network's shape changed (state message). */
  build(state) {
    const network = state.network;
    const config = state.config;
    this.network = network;
    this.config = config;
    this.thumbSize = state.thumbSize || 20;
    const key = JSON.stringify([network.layers, network.features, network.activations, config.features,
      config.problem, config.classes, this.thumbSize]);
    if (key === this.shapeKey) return;
    this.shapeKey = key;
    this.closeEditor();
    this.hideCard();
    this.nodes.clear();
    const hidden = network.layers.slice(1, -1);
    const biggest = Math.max(7, ...network.layers.slice(1));
    const nodeSize = biggest > 16 ? 22 : biggest > 10 ? 28 : 36;
    this.root.style.setProperty("--node", `${nodeSize}px`);
    this.layersElement.style.gap = hidden.length >= 8 ? "20px" : hidden.length >= 5 ? "30px" : "44px";
    // Spread the columns over the width as TF Playground does, but not too thin.
    this.layersElement.style.maxWidth = `${(hidden.length + 2) * 170}px`;
    const columns = [this.featureColumn(network)];
    hidden.forEach((count, h) => columns.push(this.hiddenColumn(h + 1, count, network.activations[h])));
    columns.push(this.outputColumn(network.layers.length - 1, network.layers[network.layers.length - 1]));
    this.layersElement.replaceChildren(...columns);
    document.getElementById("layer-count").textContent = String(hidden.length);
    document.getElementById("network-heading").lastChild.textContent =
      hidden.length === 1 ? " hidden layer" : " hidden layers";
    document.getElementById("add-layer").disabled = hidden.length >= MAX_LAYERS;
    document.getElementById("remove-layer").disabled = hidden.length === 0;
    this.buildLinks();
    requestAnimationFrame(() => this.layoutLinks());
  }

  thumbnail(id, layer, index, label) {
    const canvas = element("canvas", { width: this.thumbSize, height: this.thumbSize, role: "img", "aria-label": label });
    const node = { id, canvas, context: canvas.getContext("2d"), image: null, layer, index, label };
    this.nodes.set(id, node);
    return node;
  }

  featureColumn(network) {
    const column = element("div", { className: "layer features-layer" });
    column.append(element("div", { className: "layer-head" }));
    const nodes = element("div", { className: "nodes" });
    for (const feature of FEATURES) {
      const index = network.features.indexOf(feature.key);
      const active = index >= 0;
      const button = element("button", {
        type: "button", className: "node", "aria-pressed": String(active),
        "aria-label": `Feature ${feature.math}`, title: active ? "click to switch it off" : "click to use it",
      });
      const id = active ? `n-0-${index}` : `feature-${feature.key}`;
      const node = this.thumbnail(id, 0, active ? index : -1, `Feature ${feature.math}`);
      node.canvas.removeAttribute("role");
      node.canvas.removeAttribute("aria-label");
      node.element = button;
      if (!active) paintFeature(node.canvas, feature);
      button.append(node.canvas);
      button.addEventListener("click", () => this.actions.toggleFeature(feature.key));
      if (active) this.hoverable(button, node);
      const row = element("div", { className: "feature-node" }, element("span", { className: "name", text: feature.label }), button);
      nodes.append(row);
    }
    column.append(nodes);
    return column;
  }

  hiddenColumn(layer, count, activation) {
    const column = element("div", { className: "layer" });
    const add = element("button", { type: "button", className: "round-button small", "aria-label": `Add neuron to layer ${layer}`, text: "+" });
    const remove = element("button", { type: "button", className: "round-button small", "aria-label": `Remove neuron from layer ${layer}`, text: "−" });
    add.disabled = count >= MAX_NEURONS;
    remove.disabled = count <= 1;
    add.addEventListener("click", () => this.actions.addNeuron(layer));
    remove.addEventListener("click", () => this.actions.removeNeuron(layer));
    const select = element("select", { "aria-label": `Layer ${layer} nonlinearity`, title: `the activation function of layer ${layer}` });
    for (const [value, text] of ACTIVATIONS) select.append(element("option", { value, text }));
    select.value = activation;
    select.addEventListener("change", () => this.actions.setActivation(layer, select.value));
    const head = element("div", { className: "layer-head" },
      element("div", { className: "buttons" }, add, remove),
      element("span", { className: "count", text: count === 1 ? "1 neuron" : `${count} neurons` }),
      select);
    const nodes = element("div", { className: "nodes" });
    for (let j = 0; j < count; j++) nodes.append(this.neuron(layer, j, `Layer ${layer} neuron ${j + 1}`));
    column.append(head, nodes);
    return column;
  }

  outputColumn(layer, count) {
    const column = element("div", { className: "layer output-layer" });
    column.append(element("div", { className: "layer-head" }, element("span", { className: "count", text: count === 1 ? "prediction" : "class scores" })));
    const nodes = element("div", { className: "nodes" });
    for (let j = 0; j < count; j++) {
      nodes.append(this.neuron(layer, j, count === 1 ? "Prediction neuron" : `Prediction neuron for class ${j}`));
    }
    column.append(nodes);
    return column;
  }

  neuron(layer, index, label) {
    const wrapper = element("div", { className: "node" });
    const node = this.thumbnail(`n-${layer}-${index}`, layer, index, label);
    node.element = wrapper;
    node.canvas.tabIndex = 0;          // the keyboard reaches the picture and formula too
    const bias = element("button", { type: "button", className: "bias", "aria-label": `Bias of ${label.toLowerCase()}`, title: "bias: click to change" });
    bias.addEventListener("click", (event) => this.openEditor(event, { kind: "bias", layer, neuron: index }));
    wrapper.append(node.canvas, bias);
    this.hoverable(wrapper, node);
    return wrapper;
  }

  hoverable(target, node) {
    target.addEventListener("mouseenter", () => this.showCard(node));
    target.addEventListener("mouseleave", () => this.hideCard());
    target.addEventListener("focusin", () => this.showCard(node));
    target.addEventListener("focusout", () => this.hideCard());
  }

  buildLinks() {
    this.links = [];
    this.pointed = null;
    const layers = this.network.layers;
    for (let m = 0; m < layers.length - 1; m++) {
      for (let i = 0; i < layers[m]; i++) {
        for (let j = 0; j < layers[m + 1]; j++) this.links.push({ matrix: m, from: i, to: j, geometry: null, samples: null });
      }
    }
  }

  /** Where each link runs, relative to the layers element (after a rebuild or a resize). */
  layoutLinks() {
    if (!this.network) return;
    const origin = this.layersElement.getBoundingClientRect();
    const width = this.layersElement.scrollWidth;
    const height = this.layersElement.scrollHeight;
    const canvas = this.linkCanvas;
    canvas.style.left = `${this.layersElement.offsetLeft}px`;
    canvas.style.top = `${this.layersElement.offsetTop}px`;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    this.linkRatio = ratio;
    const box = (layer, index) => {
      const node = this.nodes.get(`n-${layer}-${index}`);
      if (!node) return null;
      const r = node.canvas.getBoundingClientRect();
      return { left: r.left - origin.left, right: r.right - origin.left, middle: r.top - origin.top + r.height / 2 };
    };
    for (const link of this.links) {
      const a = box(link.matrix, link.from);
      const b = box(link.matrix + 1, link.to);
      if (!a || !b) continue;
      const x0 = a.right, y0 = a.middle, x1 = b.left, y1 = b.middle;
      const mid = (x0 + x1) / 2;
      link.geometry = [x0, y0, mid, x1, y1];
      // Points along the curve, for finding the link under the pointer.
      link.samples = [];
      for (let k = 0; k <= LINK_SAMPLES; k++) {
        const t = k / LINK_SAMPLES, u = 1 - t;
        link.samples.push(u * u * u * x0 + 3 * u * t * mid + t * t * t * x1,
          (u * u * u + 3 * u * u * t) * y0 + (3 * u * t * t + t * t * t) * y1);
      }
    }
    this.paintLinks(true);
  }

  /** The link under the point (x, y) of the link canvas, if one is within a few pixels. */
  linkAt(x, y) {
    let best = null;
    let bestDistance = Infinity;
    for (const link of this.links) {
      const points = link.samples;
      if (!points || x < points[0] - 4 || x > points[points.length - 2] + 4) continue;
      for (let k = 0; k + 3 < points.length; k += 2) {
        // distance from (x, y) to the segment between two consecutive samples
        const ax = points[k], ay = points[k + 1], bx = points[k + 2], by = points[k + 3];
        const dx = bx - ax, dy = by - ay;
        const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy || 1)));
        const distance = Math.hypot(x - ax - t * dx, y - ay - t * dy);
        if (distance < bestDistance) {
          bestDistance = distance;
          best = link;
        }
      }
    }
    if (!best) return null;
    const w = this.weights?.[best.matrix]?.[best.from]?.[best.to];
    const reach = 4 + (Number.isFinite(w) ? (1 + 9 * Math.min(Math.abs(w) / 5, 1)) / 2 : 0.5);
    return bestDistance <= reach ? best : null;
  }

  pointerOnLinks(event) {
    const r = this.linkCanvas.getBoundingClientRect();
    return this.linkAt(event.clientX - r.left, event.clientY - r.top);
  }

  /** TF Playground's links: width 1..10 pixels for |w| in 0..5, colour on the orange-blue
   * scale (to 1/16 of it), drawn on one canvas. Stroking hundreds of thick curves is the
   * costliest part of a frame for the browser, so the links are repainted only when one
   * of them looks different, and at most LINK_HZ times a second (a later call catches up). */
  paintLinks(force = false) {
    if (!this.weights) return;
    const looks = this.links.map((link) => {
      const w = this.weights[link.matrix]?.[link.from]?.[link.to];
      if (w === undefined || !Number.isFinite(w)) return 0;
      const halfPixels = Math.round(2 * (1 + 9 * Math.min(Math.abs(w) / 5, 1)));   // 2..20
      return halfPixels * 64 + Math.round(Math.max(-1, Math.min(1, w)) * 16) + 16;
    });
    const key = looks.join(",");
    if (!force && key === this.linkKey) return;
    const now = performance.now();
    clearTimeout(this.linkTimer);
    if (!force && now - this.linkPaintedAt < 1000 / LINK_HZ) {
      this.linkTimer = setTimeout(() => this.paintLinks(true), 1000 / LINK_HZ);
      return;
    }
    this.linkKey = key;
    this.linkPaintedAt = now;
    const context = this.linkContext;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, this.linkCanvas.width, this.linkCanvas.height);
    context.setTransform(this.linkRatio, 0, 0, this.linkRatio, 0, 0);
    context.lineCap = "round";
    this.links.forEach((link, index) => {
      if (!link.geometry || !looks[index]) return;
      const look = looks[index];
      const [x0, y0, mid, x1, y1] = link.geometry;
      context.lineWidth = Math.floor(look / 64) / 2;
      context.strokeStyle = cssColour(colourOf(((look % 64) - 16) / 16));
      context.beginPath();
      context.moveTo(x0, y0);
      context.bezierCurveTo(mid, y0, mid, y1, x1, y1);
      context.stroke();
    });
  }

  /** One frame: every thumbnail, every link, the open hover card. */
  update(header, payload) {
    this.weights = header.weights;
    this.biases = header.biases;
    for (const grid of header.grids || []) {
      if (grid.id === "output") continue;
      const node = this.nodes.get(grid.id);
      if (!node || !finiteRange(grid)) continue;
      if (!node.image || node.image.width !== grid.size) {
        node.canvas.width = grid.size;
        node.canvas.height = grid.size;
        node.image = node.context.createImageData(grid.size, grid.size);
      }
      paintGrid(node.image, payload, grid, false);
      node.context.putImageData(node.image, 0, 0);
      node.range = grid.range;
    }
    if (this.weights) this.paintLinks();
    if (this.hovered) this.drawCard(this.hovered);
  }

  // ---- the hover card: the neuron's map, large, and its formula ----

  showCard(node) {
    this.hovered = node;
    node.element?.classList.add("hovered");
    this.drawCard(node);
    const r = node.canvas.getBoundingClientRect();
    this.card.hidden = false;
    const cardWidth = this.card.offsetWidth;
    const left = r.right + 12 + cardWidth > window.innerWidth ? r.left - 12 - cardWidth : r.right + 12;
    this.card.style.left = `${Math.max(4, left)}px`;
    this.card.style.top = `${Math.max(4, Math.min(r.top - 40, window.innerHeight - this.card.offsetHeight - 4))}px`;
  }

  hideCard() {
    this.hovered?.element?.classList.remove("hovered");
    this.hovered = null;
    this.card.hidden = true;
  }

  drawCard(node) {
    const context = this.cardMap.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, this.cardMap.width, this.cardMap.height);
    context.imageSmoothingEnabled = true;
    context.drawImage(node.canvas, 0, 0, this.cardMap.width, this.cardMap.height);
    this.cardFormula.textContent = this.formula(node);
  }

  /** A readable name of neuron `index` of layer `layer`. */
  name(layer, index) {
    if (layer === 0) {
      const key = this.network.features[index];
      return FEATURES.find((feature) => feature.key === key)?.math ?? key;
    }
    if (layer === this.network.layers.length - 1) return this.network.layers[layer] === 1 ? "out" : `out${index}`;
    return `h${layer}.${index + 1}`;
  }

  formula(node) {
    const { layer, index } = node;
    const range = node.range ? `  (map from ${formatNumber(node.range[0], 2)} to ${formatNumber(node.range[1], 2)})` : "";
    if (layer === 0) return `${this.name(0, index)}: an input feature${range}`;
    const last = this.network.layers.length - 1;
    const column = this.weights?.[layer - 1]?.map((row) => row[index]);
    const bias = this.biases?.[layer - 1]?.[index];
    if (!column) return `${this.name(layer, index)}${range}`;
    let sum = column.map((w, i) => `${formatNumber(w)}·${this.name(layer - 1, i)}`).join(" + ").replace(/\+ -/g, "− ");
    if (bias !== undefined) sum += bias < 0 ? ` − ${formatNumber(-bias)}` : ` + ${formatNumber(bias)}`;
    const name = this.name(layer, index);
    if (layer === last) {
      if (this.config.problem === "regression") return `${name} = ${sum}${range}`;
      if (this.network.layers[last] > 1) return `${name} = softmax(z)[${index}],  z${index} = ${sum}${range}`;
      return `${name} = 2·sigmoid(z) − 1,  z = ${sum}${range}`;
    }
    const outer = this.network.activations[layer - 1];
    return `${name} = ${outer === "linear" ? sum : `${outer}(${sum})`}${range}`;
  }

  // ---- links: hover shows the weight, click edits it ----

  linkText(link) {
    const w = this.weights?.[link.matrix]?.[link.from]?.[link.to];
    return `weight ${this.name(link.matrix, link.from)} → ${this.name(link.matrix + 1, link.to)}: ${w === undefined ? "–" : formatNumber(w)}`;
  }

  showTip(event, link) {
    this.tip.textContent = this.linkText(link);
    this.tip.hidden = false;
    this.moveTip(event);
  }

  moveTip(event) {
    this.tip.style.left = `${event.clientX + 14}px`;
    this.tip.style.top = `${event.clientY + 10}px`;
  }

  openEditor(event, target) {
    event.stopPropagation();
    this.tip.hidden = true;
    this.editing = target;
    let value;
    if (target.kind === "weight") {
      const { link } = target;
      value = this.weights?.[link.matrix]?.[link.from]?.[link.to];
      this.editorLabel.textContent = `Weight ${this.name(link.matrix, link.from)} → ${this.name(link.matrix + 1, link.to)}`;
    } else {
      value = this.biases?.[target.layer - 1]?.[target.neuron];
      this.editorLabel.textContent = `Bias of ${this.name(target.layer, target.neuron)}`;
    }
    this.editorInput.value = value === undefined ? "0" : formatNumber(value, 3);
    this.editor.hidden = false;
    this.editor.style.left = `${Math.min(event.clientX + 8, window.innerWidth - 160)}px`;
    this.editor.style.top = `${event.clientY + 8}px`;
    this.editorInput.focus();
    this.editorInput.select();
  }

  commitEdit() {
    const target = this.editing;
    const value = Number(this.editorInput.value);
    if (target && this.editorInput.value.trim() !== "" && Number.isFinite(value)) {
      if (target.kind === "weight") {
        const { link } = target;
        this.actions.setWeight(link.matrix, link.from, link.to, value);
        if (this.weights?.[link.matrix]?.[link.from]) this.weights[link.matrix][link.from][link.to] = value;
        this.paintLinks(true);
      } else {
        this.actions.setBias(target.layer, target.neuron, value);
      }
    }
    this.closeEditor();
  }

  closeEditor() {
    this.editing = null;
    this.editor.hidden = true;
  }
}

