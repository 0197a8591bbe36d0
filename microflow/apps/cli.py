"""The ``microflow`` command: ``microflow draw xor --out xor.svg``.

Each subcommand is one function that adds its parser, in ``SUBCOMMANDS``, and one function
that runs it; bad input ends with a one-line error on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

import microflow
from microflow import viz
from microflow.apps.commands import SUBCOMMANDS as TRAINER_SUBCOMMANDS
from microflow.apps.commands import UsageError
from microflow.apps.models import MODELS
from microflow.apps.playground.cli import add_playground_command

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, without the usage (``--help`` shows it)."""

    def error(self, message):
        raise UsageError(message)


# -- microflow draw -------------------------------------------------------------------------
def add_draw(subparsers):
    """Add ``microflow draw MODEL --out PATH [--backward] [--rankdir] [--values]``."""
    parser = subparsers.add_parser(
        "draw", help="draw the graph of a built-in model",
        description="Draw the computation graph of a built-in example model to a picture.")
    parser.add_argument("model", metavar="MODEL", help=f"one of: {', '.join(MODELS)}")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="the picture to write: .svg, .png, .pdf or .dot")
    parser.add_argument("--backward", action="store_true",
                        help="also draw the gradients and the optimizer's updates")
    parser.add_argument("--rankdir", choices=("TB", "LR"), default="TB",
                        help="top to bottom (default) or left to right")
    parser.add_argument("--values", action="store_true",
                        help="run one forward pass on the model's data and show the values")
    parser.set_defaults(run=run_draw)


def run_draw(args):
    """Draw the built-in model ``args.model`` to ``args.out``."""
    if args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r}; choose from: {', '.join(MODELS)}")
    if not args.out.lower().endswith(viz.FORMATS):
        raise UsageError(f"cannot write {args.out!r}: the file name must end in .svg, .png, "
                         ".pdf or .dot")
    model = MODELS[args.model]()
    targets = [model.loss, model.accuracy]
    values = model.feed() if args.values else None
    try:
        path = viz.render(targets, args.out, backward=args.backward, values=values,
                          rankdir=args.rankdir)
    except OSError as error:
        raise UsageError(f"cannot write {args.out!r}: {error.strerror or error}") from None
    print(f"wrote {path}")


class _WideCommands(argparse.HelpFormatter):
    """Help whose command list keeps every name, ``playground`` too, on its help's line."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=30)
        self._action_max_length = 16        # argparse measures the command names one indent short


SUBCOMMANDS = {"draw": add_draw, **TRAINER_SUBCOMMANDS,     # train, cv, search
               "playground": add_playground_command}


def build_parser():
    """The ``microflow`` argument parser, with one subcommand per entry of SUBCOMMANDS."""
    parser = _Parser(prog="microflow",
                     description="microflow: a small TensorFlow-style graph library on numpy.",
                     formatter_class=_WideCommands)
    parser.add_argument("--version", action="version", version=f"microflow {microflow.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                       title="commands")
    for add in SUBCOMMANDS.values():
        add(subparsers)
    return parser


def main(argv=None):
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and not argv[0].startswith("-") else None
    prefix = f"microflow {command}" if command in SUBCOMMANDS else "microflow"
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            print(parser.format_help().rstrip() + "\n\nmicroflow: error: no command given",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        status = args.run(args)
    except UsageError as error:
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except viz.GraphvizNotFound as error:
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return 1
    return status or 0
