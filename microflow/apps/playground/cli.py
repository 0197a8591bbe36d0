"""``microflow playground [--port 8000] [--host 127.0.0.1] [--no-browser]``: serve the page."""

from __future__ import annotations

import argparse
import sys


def _port(text):
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: not a whole number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: use 0..65535 (0 picks a free "
                                         "one)")
    return port


def add_playground_command(subparsers):
    """Add ``microflow playground`` to the ``microflow`` command's subparsers."""
    parser = subparsers.add_parser(
        "playground", help="watch a network learn, live, in the browser",
        description="Serve TensorFlow Playground's live view of what a network learns, "
                    "trained by a microflow graph, at http://HOST:PORT/ (Ctrl-C stops).")
    parser.add_argument("--port", type=_port, default=8000,
                        help="the port to listen on (default 8000; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1, this machine only)")
    parser.add_argument("--no-browser", dest="browser", action="store_false",
                        help="do not open the page in a browser")
    parser.set_defaults(run=run_playground)


def run_playground(args):
    """Serve until Ctrl-C; a one-line error and status 1 when the address is taken."""
    from microflow.apps.playground.server import serve

    try:
        serve(host=args.host, port=args.port, open_browser=args.browser)
    except OSError as error:
        print(f"microflow playground: error: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0
