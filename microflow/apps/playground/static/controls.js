// The page's form controls: each <select>/<input> with a data-key edits that key of the
// server's config; the "Activation" select sets every hidden layer's activation at once.

const CLASS_DATASETS = ["gauss", "spiral"];

function valueOf(control) {
  const type = control.dataset.type;
  if (type === "int") return parseInt(control.value, 10);
  if (type === "number") return Number(control.value);
  return control.value;
}

/** Show `value` in a <select>; a value that is not one of its options gets an option of its
 * own (a learning rate of 0.05 read from an address stays 0.05). */
function showInSelect(select, value) {
  const text = String(value);
  let option = [...select.options].find((o) => o.value === text ||
    (select.dataset.type && Number(o.value) === Number(value)));
  if (!option) {
    option = new Option(text, text);
    option.dataset.added = "true";
    const options = [...select.options];
    const after = select.dataset.type ? options.find((o) => Number(o.value) > Number(value)) : null;
    select.add(option, after ?? null);
  }
  select.value = option.value;
}

export class Controls {
  /** `send(partialConfig)` is called on every change a person makes. */
  constructor(send) {
    this.send = send;
    this.config = null;
    this.keyed = [...document.querySelectorAll("[data-key]")];
    for (const control of this.keyed) {
      // A slider sends when let go ("change"); while dragging ("input") only its figure moves.
      control.addEventListener("change", () => this.send({ [control.dataset.key]: valueOf(control) }));
      if (control.type === "range") {
        control.addEventListener("input", () => this.showSliderValue(control));
      }
    }
    this.activation = document.getElementById("activation");
    this.activation.addEventListener("change", () => {
      const layers = this.config ? this.config.hidden.length : 0;
      this.defaultActivation = this.activation.value;
      this.send({ activations: Array(layers).fill(this.activation.value) });
    });
    this.defaultActivation = "tanh";
  }

  showSliderValue(control) {
    const label = document.querySelector(`.value[data-for="${control.id}"]`);
    if (label) label.textContent = control.id === "ratio" ? `${control.value}%` : control.value;
  }

  /** Make every control show the (clamped) config the server uses. */
  show(config) {
    this.config = config;
    for (const control of this.keyed) {
      const key = control.dataset.key;
      if (!(key in config)) continue;
      const value = config[key];
      if (control.tagName === "SELECT") {
        if (key === "dataset" && value === "upload") control.selectedIndex = -1;
        else showInSelect(control, value);
      } else {
        control.value = String(value);
        this.showSliderValue(control);
      }
    }
    const activations = config.activations || [];
    if (activations.length && activations.every((a) => a === activations[0])) {
      this.activation.value = activations[0];
      this.defaultActivation = activations[0];
    } else if (activations.length) {
      this.activation.value = "mixed";          // "per layer": each layer's own select says which
    } else {
      this.activation.value = this.defaultActivation;
    }
    const classes = document.getElementById("classes");
    const many = CLASS_DATASETS.includes(config.dataset) && config.problem === "classification";
    classes.disabled = !many;
    classes.title = many ? "the number of classes (colours) in the data"
      : "2 classes: more are for the Gaussian and Spiral data, as a classification";
    const uploadName = document.getElementById("upload-name");
    uploadName.hidden = config.dataset !== "upload";
  }
}
