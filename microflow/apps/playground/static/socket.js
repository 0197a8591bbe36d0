// The page's one WebSocket to the server: JSON text frames both ways, binary frames from the
// server (a uint32 little-endian header length, a UTF-8 JSON header, then the uint8 grids).

const decoder = new TextDecoder("utf-8");

/** JSON.parse that also reads Python's NaN / Infinity (as null), so a diverging run cannot
 * turn a message into an exception. */
export function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    const patched = text.replace(/-?\bInfinity\b|\bNaN\b/g, "null");
    return JSON.parse(patched);
  }
}

/** Split one binary frame into its header (an object) and its payload (a Uint8Array view). */
export function parseFrame(buffer) {
  if (buffer.byteLength < 4) throw new Error(`a binary frame of ${buffer.byteLength} bytes has no header`);
  const length = new DataView(buffer).getUint32(0, true);
  if (4 + length > buffer.byteLength) {
    throw new Error(`a binary frame's header says ${length} bytes but the frame has ${buffer.byteLength - 4}`);
  }
  const header = parseJSON(decoder.decode(new Uint8Array(buffer, 4, length)));
  const payload = new Uint8Array(buffer, 4 + length);
  return { header, payload };
}

/** A WebSocket that reconnects: `onMessage(object)`, `onFrame({header, payload})`,
 * `onOpen()` (also after a reconnect), `onClose()`. */
export class Socket {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.retry = 0;
    this.closedByPage = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.retry = 0;
      this.handlers.onOpen?.();
    };
    ws.onmessage = (event) => {
      try {
        if (typeof event.data === "string") this.handlers.onMessage?.(parseJSON(event.data));
        else this.handlers.onFrame?.(parseFrame(event.data));
      } catch (error) {
        this.handlers.onError?.(`could not read a message from the server: ${error.message}`);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.handlers.onClose?.();
      if (this.closedByPage) return;
      this.retry = Math.min(this.retry + 1, 5);
      setTimeout(() => this.connect(), 500 * this.retry);
    };
    this.ws = ws;
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.closedByPage = true;
    this.ws?.close();
  }
}
