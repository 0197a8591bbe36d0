// The whole state in the address: ?dataset=spiral&hidden=8,8&learningRate=0.03&... The config
// keys are the server's (see the protocol); showTestData and discretize are the page's own.
// Reading never fails: a value that is not even of the right type becomes a notice and is
// left out (the server's default stays); ranges are the server's to clamp (it says so).

const INTEGERS = ["noise", "ratio", "batchSize", "classes", "speed", "seed"];
const NUMBERS = ["learningRate", "regularizationRate", "dropout"];
const WORDS = ["dataset", "regularization", "problem", "optimizer"];
const WORD_LISTS = ["features", "activations"];
const INTEGER_LISTS = ["hidden"];
export const FLAGS = ["showTestData", "discretize"];
/** The order of the keys in the address, so shared links read the same. */
const ORDER = ["dataset", "classes", "noise", "ratio", "batchSize", "features", "hidden", "activations",
  "learningRate", "optimizer", "regularization", "regularizationRate", "dropout", "problem", "speed", "seed"];

function number(text, integer) {
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim())) return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return null;
  return integer && !Number.isInteger(value) ? null : value;
}

/** `{config, flags, notices}` read from a query string such as location.search. */
export function readQuery(search) {
  const params = new URLSearchParams(search);
  const config = {};
  const flags = {};
  const notices = [];
  const bad = (key, text, what) => notices.push(
    `${key}=${JSON.stringify(text)} in the address is not ${what}; it is ignored`);
  for (const [key, text] of params) {
    if (INTEGERS.includes(key) || NUMBERS.includes(key)) {
      const value = number(text, INTEGERS.includes(key));
      if (value === null) bad(key, text, INTEGERS.includes(key) ? "a whole number" : "a number");
      else config[key] = value;
    } else if (WORDS.includes(key)) {
      config[key] = text;
    } else if (WORD_LISTS.includes(key)) {
      config[key] = text === "" ? [] : text.split(",").map((word) => word.trim());
    } else if (INTEGER_LISTS.includes(key)) {
      const values = text.trim() === "" ? [] : text.split(",").map((word) => number(word, true));
      if (values.includes(null)) bad(key, text, "a list of whole numbers such as 4,2");
      else config[key] = values;
    } else if (FLAGS.includes(key)) {
      if (text === "true" || text === "1") flags[key] = true;
      else if (text === "false" || text === "0") flags[key] = false;
      else bad(key, text, "true or false");
    } else {
      notices.push(`${key} in the address is not a setting of the playground; it is ignored`);
    }
  }
  return { config, flags, notices };
}

/** The query string (with its "?") of a config and the page's flags. */
export function writeQuery(config, flags) {
  const parts = [];
  const keys = [...ORDER, ...Object.keys(config).filter((key) => !ORDER.includes(key))];
  for (const key of keys) {
    if (!(key in config) || config[key] === null || config[key] === undefined) continue;
    const value = config[key];
    const text = Array.isArray(value) ? value.map(String).join(",") : String(value);
    parts.push(`${key}=${encodeURIComponent(text).replace(/%2C/g, ",")}`);
  }
  for (const key of FLAGS) if (key in flags) parts.push(`${key}=${flags[key] ? "true" : "false"}`);
  return `?${parts.join("&")}`;
}

/** Replace the address (no new history entry) when it differs. */
export function storeQuery(config, flags) {
  const query = writeQuery(config, flags);
  if (query !== window.location.search) {
    window.history.replaceState(null, "", `${window.location.pathname}${query}`);
  }
}
