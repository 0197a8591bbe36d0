"""The playground's server time per frame: how long one epoch, one frame and its bytes take.

    python benchmarks/playground_frames.py                # 6 x 8 network, all features
    python benchmarks/playground_frames.py --hidden 4,2 --features x1,x2 --batch 10

Measured in one process, on the largest network of TensorFlow Playground's limits (6 hidden
layers of 8 neurons, all seven features, circle data, batch size 10, one epoch per frame):

- epoch: one pass over the 250 training points in 25 mini-batches (``PlaygroundSession.train``);
- frame: what ``PlaygroundSession.frame`` does, timed in its three parts: the ONE
  ``Session.run`` of every layer over the 100 x 100 grid (``grid_values``), the losses and
  accuracies on both sets (``evaluate``), and the uint8 quantization and the JSON header
  (``encode``);
- end to end: frames per second from ``microflow playground`` (its own process) to a
  WebSocket client that answers each frame with ``ready`` at once (the server's side of the
  flow control; a browser adds its drawing time on top, see playground_fps.py).

Medians over rounds, and the best round (what a step costs when no other process takes the
core: on a shared machine the median grows with the load, the best much less); the parts are
interleaved so that drift hits all alike.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpy as np  # noqa: E402

from microflow.apps.playground.session import FEATURE_NAMES, PlaygroundSession  # noqa: E402


def _median_ms(samples):
    return statistics.median(samples) * 1e3


def time_parts(config, rounds):
    """Median milliseconds of an epoch, a frame and the frame's parts; bytes per frame."""
    session = PlaygroundSession(config)
    session.train(2)                    # compile the plans first
    session.frame()
    parts = {"epoch": [], "frame": [], "grid run": [], "losses": [], "quantize+encode": []}
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        session.train(1)
        parts["epoch"].append(time.perf_counter() - started)
        started = time.perf_counter()
        values = session.grid_values()
        grid_done = time.perf_counter()
        scores = session.evaluate()
        losses_done = time.perf_counter()
        frame = session.encode(values, scores)
        encoded = time.perf_counter()
        parts["grid run"].append(grid_done - started)
        parts["losses"].append(losses_done - grid_done)
        parts["quantize+encode"].append(encoded - losses_done)
        parts["frame"].append(encoded - started)
        size = len(frame)
    return {name: (_median_ms(samples), min(samples) * 1e3) for name, samples in parts.items()}, \
        size, session


def end_to_end(config, seconds):
    """Frames per second reaching a WebSocket client from ``microflow playground`` running in
    its own process (as for a browser), the client sending ``ready`` as soon as each frame
    arrives; and the epochs per second trained meanwhile."""
    from websockets.sync.client import connect

    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env = dict(os.environ, PYTHONPATH=root, PYTHONUNBUFFERED="1")
    server = subprocess.Popen([sys.executable, "-m", "microflow", "playground", "--port", "0",
                               "--no-browser"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = server.stdout.readline().split("serving on ")[1].split()[0]
        query = "&".join(f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
                         for key, value in config.items())
        frames, first_epoch, last_epoch = 0, None, None
        with connect(url.replace("http://", "ws://") + "ws?" + query, max_size=None) as ws:
            ws.send(json.dumps({"type": "play"}))
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                message = ws.recv()
                if isinstance(message, bytes):
                    length = int.from_bytes(message[:4], "little")
                    epoch = json.loads(message[4:4 + length])["epoch"]
                    first_epoch = epoch if first_epoch is None else first_epoch
                    last_epoch = epoch
                    frames += 1
                    ws.send(json.dumps({"type": "ready"}))
            elapsed = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    return frames / elapsed, (last_epoch - first_epoch) / elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", default="8,8,8,8,8,8")
    parser.add_argument("--features", default=",".join(FEATURE_NAMES))
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--dataset", default="circle")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="how long the end-to-end run lasts (0: skip it)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads (default 1, as microflow playground sets them)")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.blas_threads, user_api="blas")
    hidden = [int(h) for h in args.hidden.split(",") if h]
    config = {"dataset": args.dataset, "hidden": hidden, "features": args.features.split(","),
              "activations": args.activation, "batchSize": args.batch, "speed": 1}
    times, size, session = time_parts(config, args.rounds)
    if session.notices:
        print("notices:", "; ".join(session.notices))
    print(f"network {session.layer_sizes()} ({', '.join(session.config['features'])}), "
          f"batch {args.batch}, {len(session.train_x)} training points, numpy "
          f"{np.__version__}, {os.cpu_count()} cores, {args.blas_threads} BLAS thread(s), load "
          f"average {os.getloadavg()[0]:.1f}")
    print(f"  {'':18s} {'median':>10s} {'best':>10s}")
    for name, (median, best) in times.items():
        print(f"  {name:18s} {median:7.2f} ms {best:7.2f} ms")
    per_frame = times["epoch"][0] + times["frame"][0]
    best = times["epoch"][1] + times["frame"][1]
    print(f"  {'epoch + frame':18s} {per_frame:7.2f} ms {best:7.2f} ms  -> "
          f"{1000 / per_frame:.0f} frames/s from the server (median; {1000 / best:.0f} at best)")
    print(f"  {'bytes per frame':18s} {size:7d}")
    if args.seconds > 0:
        fps, epochs = end_to_end(config, args.seconds)
        print(f"  end to end (microflow playground -> WebSocket client): {fps:.0f} frames/s, "
              f"{epochs:.0f} epochs/s")


if __name__ == "__main__":
    main()
