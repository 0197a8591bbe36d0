// Colouring the server's uint8 grids: a 256-entry lookup table per grid, written with
// putImageData. The colours are TensorFlow Playground's: orange (-1) -> grey-white (0) -> blue (+1).

const ORANGE = [245, 147, 34];
const NEUTRAL = [232, 234, 235];
const BLUE = [8, 119, 189];
/** Colours of the classes when there are more than two (0 and 1 keep the two-class colours). */
export const CLASS_COLOURS = [ORANGE, BLUE, [44, 160, 44], [148, 103, 189], [214, 39, 40]];
/** TF Playground paints its maps at alpha 160 over white, so the points stand out. */
const MAP_ALPHA = 160;

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** The colour of a value on the diverging scale, clamped to [-1, 1]. */
export function colourOf(value) {
  if (!Number.isFinite(value)) return NEUTRAL;
  const v = Math.max(-1, Math.min(1, value));
  return v < 0 ? mix(NEUTRAL, ORANGE, -v) : mix(NEUTRAL, BLUE, v);
}

export function cssColour(rgb, alpha = 1) {
  return `rgba(${Math.round(rgb[0])},${Math.round(rgb[1])},${Math.round(rgb[2])},${alpha})`;
}

const tables = new Map();

/** The 256 colours (RGBA, Uint8ClampedArray of 1024) of a grid whose bytes map onto [lo, hi]:
 * byte b stands for v = lo + (hi - lo) * b / 255, coloured on the diverging scale. A range
 * wider than [-1, 1] (a ReLU's or a feature's, which the server makes symmetric, [-top, top])
 * is scaled into it, so every picture shows its shape. With `discretize`, each value is
 * coloured as its sign (-1 or +1), as TF Playground does. */
export function lookupTable(lo, hi, discretize = false) {
  const key = `${lo}|${hi}|${discretize}`;
  let table = tables.get(key);
  if (table) return table;
  table = new Uint8ClampedArray(256 * 4);
  const scale = Math.max(1, Math.abs(lo), Math.abs(hi));
  for (let b = 0; b < 256; b++) {
    let value = (lo + ((hi - lo) * b) / 255) / scale;
    if (discretize) value = value >= 0 ? 1 : -1;
    const c = colourOf(value);
    table.set([c[0], c[1], c[2], MAP_ALPHA], b * 4);
  }
  if (tables.size > 512) tables.clear();
  tables.set(key, table);
  return table;
}

/** A grid's range is usable when both ends are finite numbers. */
export function finiteRange(grid) {
  return Array.isArray(grid.range) && grid.range.length === 2 &&
    Number.isFinite(grid.range[0]) && Number.isFinite(grid.range[1]);
}

/** Paint one grid of `payload` into `image` (an ImageData of grid.size x grid.size).
 * One plane: coloured through the lookup table. Two planes (K > 2 classes): plane 0 is the
 * arg-max class, plane 1 the confidence, coloured as the class's colour mixed with white. */
export function paintGrid(image, payload, grid, discretize = false) {
  const n = grid.size * grid.size;
  const data = image.data;
  if (grid.offset + n * (grid.planes || 1) > payload.length) {
    throw new Error(`grid ${grid.id} runs past the frame's payload`);
  }
  if ((grid.planes || 1) === 1) {
    const [lo, hi] = grid.range;
    const table = lookupTable(lo, hi, discretize);
    const bytes = payload.subarray(grid.offset, grid.offset + n);
    for (let i = 0, p = 0; i < n; i++, p += 4) {
      const t = bytes[i] * 4;
      data[p] = table[t]; data[p + 1] = table[t + 1]; data[p + 2] = table[t + 2]; data[p + 3] = table[t + 3];
    }
    return;
  }
  const classes = payload.subarray(grid.offset, grid.offset + n);
  const confidence = payload.subarray(grid.offset + n, grid.offset + 2 * n);
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    const colour = CLASS_COLOURS[classes[i] % CLASS_COLOURS.length];
    const t = discretize ? 1 : confidence[i] / 255;
    data[p] = NEUTRAL[0] + (colour[0] - NEUTRAL[0]) * t;
    data[p + 1] = NEUTRAL[1] + (colour[1] - NEUTRAL[1]) * t;
    data[p + 2] = NEUTRAL[2] + (colour[2] - NEUTRAL[2]) * t;
    data[p + 3] = MAP_ALPHA;
  }
}

/** A small canvas that holds a grid at its own resolution, drawn scaled onto others. */
export class GridImage {
  constructor(size) {
    this.resize(size);
  }

  resize(size) {
    this.size = size;
    this.canvas = document.createElement("canvas");
    this.canvas.width = size;
    this.canvas.height = size;
    this.context = this.canvas.getContext("2d");
    this.image = this.context.createImageData(size, size);
  }

  paint(payload, grid, discretize = false) {
    if (grid.size !== this.size) this.resize(grid.size);
    paintGrid(this.image, payload, grid, discretize);
    this.context.putImageData(this.image, 0, 0);
  }

  /** Draw onto `context`, filling `width` x `height`, on white. */
  drawOnto(context, width, height) {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, width, height);
    context.imageSmoothingEnabled = true;
    context.drawImage(this.canvas, 0, 0, width, height);
  }
}

/** The colour of a data point: its class (classification) or its value (regression). */
export function pointColour(label, problem, classes) {
  if (problem === "regression") return colourOf(label);
  if (classes > 2) return CLASS_COLOURS[Math.max(0, Math.round(label)) % CLASS_COLOURS.length];
  return label > 0 ? BLUE : ORANGE;
}

/** Points [x1, x2, label] of the plane [-6, 6]^2 drawn on a square canvas of `side` pixels. */
export function drawPoints(context, points, side, problem, classes, stroke) {
  const scale = side / 12;
  context.lineWidth = 1;
  context.strokeStyle = stroke;
  for (const [x1, x2, label] of points) {
    const x = (x1 + 6) * scale;
    const y = (6 - x2) * scale;
    context.beginPath();
    context.arc(x, y, 3.2, 0, 2 * Math.PI);
    context.fillStyle = cssColour(pointColour(label, problem, classes));
    context.fill();
    context.stroke();
  }
}

/** The legend under the output: the diverging scale, or one swatch per class. */
export function renderLegend(element, problem, classes) {
  element.replaceChildren();
  if (problem === "classification" && classes > 2) {
    for (let k = 0; k < classes; k++) {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = cssColour(CLASS_COLOURS[k]);
      item.append(swatch, ` class ${k}`);
      element.append(item);
    }
    return;
  }
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.style.background = `linear-gradient(to right, ${cssColour(ORANGE)}, ${cssColour(NEUTRAL)}, ${cssColour(BLUE)})`;
  element.append("−1", bar, "+1");
}
