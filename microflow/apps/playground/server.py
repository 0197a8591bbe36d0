"""The playground's web server: the page, its static files, and one WebSocket per page.

``GET /`` is ``static/index.html``, ``/static/...`` the rest of ``static/``; ``/ws`` is the
WebSocket. Each socket gets its own :class:`~.session.PlaygroundSession` (its own graph, data
and state), so tabs never see each other. The settings may also come in the socket's query
string (``/ws?dataset=xor&hidden=4,2``), as the page's URL carries them.

The protocol (PLAYGROUND_PROTOCOL.md at the repository's worktree root, and the guide's
playground page) in short: the page sends JSON text messages ``config``, ``play``, ``pause``,
``step``, ``reset``, ``regenerate``, ``set_weight``, ``set_bias``, ``upload``, ``export``,
``graph`` and ``ready``; the server answers with JSON ``state``, ``data``, ``error``,
``diverged``, ``graph`` and ``download`` messages, and binary frames (a uint32 little-endian
header length, a JSON header, uint8 grids).

Training runs in a background task per socket, one epoch at a time in a worker thread
(``asyncio.to_thread``), decoupled from sending: a frame is computed from the newest weights
only when the page has said ``ready`` for the previous one, so frames the page could not
have drawn are never made. A malformed or unknown message gets an ``error`` reply and one
line in the log; a socket closed mid-frame ends its task quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pathlib
import socket
import sys
import threading
import webbrowser

from starlette.applications import Starlette
from starlette.responses import FileResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from microflow.apps.playground import datasets, export
from microflow.apps.playground.session import Diverged, PlaygroundError, PlaygroundSession

STATIC = pathlib.Path(__file__).resolve().parent / "static"
MAX_MESSAGE_BYTES = datasets.MAX_UPLOAD_BYTES + 64 * 1024      # an upload and its envelope
log = logging.getLogger("microflow.playground")

MESSAGE_TYPES = ("config", "play", "pause", "step", "reset", "regenerate", "set_weight",
                 "set_bias", "upload", "export", "graph", "ready")


async def index(request):
    page = STATIC / "index.html"
    if not page.is_file():
        return PlainTextResponse("the playground's page is missing: "
                                 f"{page} is not installed", status_code=500)
    return FileResponse(page, headers={"Cache-Control": "no-cache"})


async def websocket_endpoint(websocket: WebSocket):
    await Connection(websocket).serve()


def create_app():
    """The playground's Starlette app: ``/`` the page, ``/static`` its files, ``/ws``."""
    routes = [Route("/", index),
              WebSocketRoute("/ws", websocket_endpoint),
              Mount("/static", app=StaticFiles(directory=STATIC, check_dir=False),
                    name="static")]
    return Starlette(routes=routes)


class MessageError(ValueError):
    """A message from the page that cannot be understood; answered with an error message."""


def _field(message, name, kinds, what):
    if name not in message:
        raise MessageError(f"{message['type']} message needs {name!r} ({what})")
    value = message[name]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise MessageError(f"{message['type']} message: {name!r} must be {what}, got "
                           f"{json.dumps(value)[:40]}")
    return value


class Connection:
    """One page's socket: its session, the training task, and flow control."""

    def __init__(self, websocket):
        self.websocket = websocket
        self.session = None
        self.ready = True           # the page may take a frame (the first needs no "ready")
        self.dirty = True           # the weights changed since the last frame sent
        self.lock = asyncio.Lock()  # one session operation at a time
        self.send_lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.closed = False
        self.name = f"socket {id(self) & 0xffff:04x}"

    @property
    def running(self):
        return self.session is not None and self.session.running

    @running.setter
    def running(self, value):
        self.session.running = bool(value)

    # -- sending ---------------------------------------------------------------------------
    async def send(self, message):
        if self.closed:
            return
        async with self.send_lock:
            try:
                if isinstance(message, bytes):
                    await self.websocket.send_bytes(message)
                else:
                    await self.websocket.send_text(json.dumps(message, separators=(",", ":")))
            except Exception:           # noqa: BLE001 - the page went away; nothing to tell
                self.closed = True

    async def error(self, text):
        log.warning("%s: %s", self.name, text)
        await self.send({"type": "error", "message": text})

    async def send_state(self):
        state = self.session.state_message()
        self.session.notices = []           # each notice is said once
        await self.send(state)

    async def call(self, function, *args):
        """Run ``function(*args)`` on the session in a worker thread, one at a time."""
        async with self.lock:
            return await asyncio.to_thread(function, *args)

    def changed(self):
        self.dirty = True
        self.wake.set()

    # -- the socket's life -----------------------------------------------------------------
    async def serve(self):
        await self.websocket.accept()
        query = dict(self.websocket.query_params)
        self.session = await asyncio.to_thread(PlaygroundSession, query)
        await self.send_state()
        await self.send(self.session.data_message())
        task = asyncio.create_task(self.frames())
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    await self.error("binary messages are not understood; send JSON text")
                    continue
                await self.handle(text)
        except WebSocketDisconnect:
            pass
        finally:
            self.closed = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def frames(self):
        """Train while running; send the newest frame whenever the page is ready for one."""
        while not self.closed:
            self.wake.clear()
            try:
                await self._advance()
            except asyncio.CancelledError:
                raise
            except Exception as error:      # noqa: BLE001 - one line in the log, not a traceback
                self.running = False
                self.dirty = False
                log.error("%s: training stopped: %s: %s", self.name, type(error).__name__,
                          error)
                await self.send({"type": "error", "message": f"training stopped: {error}"})
                await self.send_state()
            if not self.running and not (self.dirty and self.ready):
                await self.wake.wait()
            elif not (self.dirty and self.ready):
                await asyncio.sleep(0)

    async def _advance(self):
        """One round: ``speed`` epochs if running, then a frame if the page is ready."""
        if self.running:
            for _ in range(self.session.config["speed"]):
                if not self.running:
                    break
                try:
                    await self.call(self.session.train, 1)
                except Diverged as diverged:
                    await self.diverged(diverged)
                    break
            self.dirty = True
        if self.dirty and self.ready:
            self.dirty = self.ready = False
            try:
                frame = await self.call(self.session.frame)
            except Diverged as diverged:    # the weights are back one epoch: draw those
                await self.diverged(diverged)
                self.dirty = self.ready = True
            except PlaygroundError as error:    # weights set by hand that overflow
                self.running = False
                self.ready = True
                await self.error(str(error))
                await self.send_state()
            else:
                await self.send(frame)

    async def diverged(self, diverged):
        self.running = False
        log.warning("%s: %s", self.name, diverged)
        await self.send({"type": "diverged", "message": str(diverged), "epoch": diverged.epoch})
        await self.send_state()

    # -- messages from the page ---------------------------------------------------------------
    async def handle(self, text):
        if len(text) > MAX_MESSAGE_BYTES:
            await self.error(f"message of {len(text):,} characters is too large (at most "
                             f"{MAX_MESSAGE_BYTES:,})")
            return
        try:
            message = json.loads(text)
        except json.JSONDecodeError as error:
            await self.error(f"malformed message: not JSON ({error.msg} at character "
                             f"{error.pos})")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.error("malformed message: expected a JSON object with a string 'type'")
            return
        kind = message["type"]
        if kind not in MESSAGE_TYPES:
            await self.error(f"unknown message type {kind[:40]!r}; expected one of "
                             f"{', '.join(MESSAGE_TYPES)}")
            return
        try:
            await getattr(self, "on_" + kind)(message)
        except (MessageError, PlaygroundError, datasets.DataError) as error:
            await self.error(str(error))
        except Exception as error:      # noqa: BLE001 - a bug must not end the socket
            log.error("%s: %s message failed: %s: %s", self.name, kind, type(error).__name__,
                      error)
            await self.send({"type": "error", "message": f"{kind} failed: {error}"})

    async def on_config(self, message):
        config = _field(message, "config", dict, "an object of settings")
        notices, data_changed = await self.call(self.session.configure, config)
        for notice in notices:
            log.info("%s: %s", self.name, notice)
        await self.send_state()
        if data_changed:
            await self.send(self.session.data_message())
        self.changed()

    async def on_play(self, message):
        self.running = True
        await self.send_state()
        self.wake.set()

    async def on_pause(self, message):
        self.running = False
        await self.send_state()

    async def on_step(self, message):
        self.running = False
        try:
            await self.call(self.session.train, 1)
        except Diverged as diverged:
            await self.diverged(diverged)
        await self.send_state()
        self.changed()

    async def on_reset(self, message):
        self.running = False
        await self.call(self.session.reset)
        await self.send_state()
        self.changed()

    async def on_regenerate(self, message):
        await self.call(self.session.regenerate)
        await self.send_state()
        await self.send(self.session.data_message())
        self.changed()

    async def on_set_weight(self, message):
        layer = _field(message, "layer", int, "a weight matrix index")
        source = _field(message, "from", int, "a neuron index")
        target = _field(message, "to", int, "a neuron index")
        value = _field(message, "value", int | float, "a number")
        await self.call(self.session.set_weight, layer, source, target, value)
        self.changed()

    async def on_set_bias(self, message):
        layer = _field(message, "layer", int, "a layer index")
        neuron = _field(message, "neuron", int, "a neuron index")
        value = _field(message, "value", int | float, "a number")
        await self.call(self.session.set_bias, layer, neuron, value)
        self.changed()

    async def on_upload(self, message):
        text = _field(message, "csv", str, "the CSV file's text")
        self.running = False
        await self.call(self.session.upload, text)
        await self.send_state()
        await self.send(self.session.data_message())
        self.changed()

    async def on_export(self, message):
        what = _field(message, "what", str, '"data", "checkpoint" or "script"')
        if what not in export.EXPORTS:
            raise MessageError(f"cannot export {what[:40]!r}; choose data, checkpoint or script")
        download = await self.call(export.EXPORTS[what], self.session)
        await self.send({"type": "download", **download})

    async def on_graph(self, message):
        backward = message.get("backward", False)
        if not isinstance(backward, bool):
            raise MessageError("graph message: 'backward' must be true or false")
        svg = await self.call(export.graph_svg, self.session, backward)
        await self.send({"type": "graph", "svg": svg})

    async def on_ready(self, message):
        self.ready = True
        self.wake.set()


# -- running it -------------------------------------------------------------------------------
def _listen(host, port):
    """A bound, listening socket (so the address is known, port 0 included)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on {host}:{port}: "
                      f"{error.strerror or error}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(host="127.0.0.1", port=8000, open_browser=True):
    """Serve the playground at ``http://host:port/`` until Ctrl-C.

    Prints the address, opens it in the browser unless ``open_browser`` is false. Raises
    ``OSError`` (with a one-line message) when the address cannot be listened on.
    """
    import uvicorn
    from threadpoolctl import threadpool_limits

    # The frames' matrix products are small (10000 x 32 at most): on a busy machine a
    # multi-threaded BLAS spends far longer waking its threads than computing (measured on
    # 2 cores under load: 14 ms with 2 threads, 0.7 ms with one, for 10000 x 32 @ 32 x 32).
    # Sockets already run in threads of their own, so one BLAS thread each is the right size.
    threadpool_limits(1, user_api="blas")
    sock = _listen(host, port)
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{actual}/"
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("playground: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.WARNING)
        log.propagate = False
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning",
                                           timeout_graceful_shutdown=2, ws="auto"))
    print(f"microflow playground: serving on {url} (Ctrl-C stops)", flush=True)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, (url,)).start()
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("microflow playground: stopped", flush=True)
