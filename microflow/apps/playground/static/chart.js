// The loss chart of TF Playground: test loss in black, training loss in grey, over the epochs.

const MAX_POINTS = 2000;

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.points = [];   // [epoch, trainLoss, testLoss]
  }

  clear() {
    this.points = [];
    this.draw();
  }

  /** Add one frame's losses; an epoch lower than the last one starts a new run. */
  add(epoch, trainLoss, testLoss) {
    const last = this.points[this.points.length - 1];
    if (last && epoch < last[0]) this.points = [];
    if (last && epoch === last[0]) this.points.pop();
    if (!Number.isFinite(trainLoss) || !Number.isFinite(testLoss)) return;
    this.points.push([epoch, trainLoss, testLoss]);
    if (this.points.length > MAX_POINTS) {
      // Keep every other point: the chart's shape stays, its cost stays bounded.
      this.points = this.points.filter((_, i) => i % 2 === 0 || i === this.points.length - 1);
    }
  }

  draw() {
    const { canvas, context, points } = this;
    const width = canvas.width;
    const height = canvas.height;
    context.clearRect(0, 0, width, height);
    context.fillStyle = "#fafafa";
    context.fillRect(0, 0, width, height);
    if (points.length < 2) return;
    const first = points[0][0];
    const span = Math.max(1, points[points.length - 1][0] - first);
    let top = 0;
    for (const [, train, test] of points) top = Math.max(top, train, test);
    top = top > 0 ? top : 1;
    const x = (epoch) => ((epoch - first) / span) * (width - 2) + 1;
    const y = (loss) => height - 2 - (Math.min(loss, top) / top) * (height - 4);
    const line = (index, colour) => {
      context.beginPath();
      context.strokeStyle = colour;
      context.lineWidth = 1.5;
      points.forEach((point, i) => {
        if (i === 0) context.moveTo(x(point[0]), y(point[index]));
        else context.lineTo(x(point[0]), y(point[index]));
      });
      context.stroke();
    };
    line(1, "#999");
    line(2, "#000");
  }
}
