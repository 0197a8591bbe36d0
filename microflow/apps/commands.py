"""The ``microflow train``, ``microflow cv`` and ``microflow search`` subcommands.

``microflow train donut --plots out`` trains the donut and prints its accuracy;
``microflow cv donut --folds 5`` cross-validates it; ``microflow search donut --trials 10``
tries random learning rates, L2 weights and layer widths. :func:`add_subcommands` adds the
three to the ``microflow`` command's parser; each runs through a function that returns the
exit status: 0, or 1 after a one-line error on stderr (a missing or malformed file, a
diverging run). Option values argparse rejects (``--activation foo``) are its own one-line
errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import numpy as np

from microflow.core import files
from microflow.training import checkpoint

from microflow.data import model_selection

from microflow.apps import problems as trainers
from microflow.training.loop import DivergenceError

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130                          # as a shell reports Ctrl-C


class UsageError(Exception):
    """Bad input on the command line (an option that does not apply, say): reported in one
    line, exit status 2."""


# -- option values ----------------------------------------------------------------------------
def hidden_sizes(text):
    """``"8,8"`` -> ``(8, 8)``: the widths of the hidden layers."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected layer widths like 8 or 16,8 (positive integers), got {text!r}")
    return sizes


def _number(kind, low, what):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    parse.__name__ = what
    return parse


positive_float = _number(float, np.nextafter(0, 1), "a positive number")
non_negative_float = _number(float, 0.0, "a number >= 0")
positive_int = _number(int, 1, "a positive integer")
non_negative_int = _number(int, 0, "an integer >= 0")


def _defaults_help(field, show=str, problems=trainers.PROBLEMS):
    """``"xor 4, donut 8, ..."``: each problem's default for ``field``."""
    values = [trainers.DEFAULTS[name].get(field, getattr(trainers.Config, field))
              for name in problems]
    return ", ".join(f"{name} {show(value)}" for name, value in zip(problems, values))


def _add_problem_options(parser):
    """The problem and the hyperparameters every subcommand takes."""
    widths = lambda sizes: ",".join(map(str, sizes))  # noqa: E731
    parser.add_argument("problem", choices=trainers.PROBLEMS,
                        help="xor, donut, clouds (three Gaussian clouds) or faces")
    parser.add_argument("--hidden", type=hidden_sizes, metavar="8,8",
                        help=f"hidden layer widths (default: {_defaults_help('hidden', widths)})")
    parser.add_argument("--activation", choices=tuple(trainers.ACTIVATIONS),
                        help=f"hidden activation (default: {_defaults_help('activation')})")
    parser.add_argument("--optimizer", choices=trainers.OPTIMIZERS,
                        help="momentum is SGD with momentum 0.9 (default: adam)")
    parser.add_argument("--lr", type=positive_float, metavar="RATE",
                        help=f"learning rate (default: {_defaults_help('lr')})")
    parser.add_argument("--l2", type=non_negative_float, metavar="WEIGHT",
                        help=f"L2 penalty on the weights (default: {_defaults_help('l2')})")
    parser.add_argument("--epochs", type=positive_int,
                        help=f"(default: {_defaults_help('epochs')})")
    parser.add_argument("--batch-size", type=non_negative_int, metavar="N",
                        help="rows per step, 0 for the whole training set "
                             f"(default: {_defaults_help('batch_size', lambda b: b or 0)})")
    sizes = _defaults_help("samples", problems=("donut", "clouds", "faces"))
    parser.add_argument("--samples", type=positive_int, metavar="N",
                        help="data set size: donut points, points per cloud, synthetic faces "
                             f"(default: {sizes})")
    parser.add_argument("--patience", type=positive_int, metavar="EPOCHS",
                        help="stop when the validation loss has not improved for this many "
                             "epochs, keeping the best weights")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="(default: 0)")
    parser.add_argument("--data", metavar="fer2013.csv",
                        help="faces: the FER2013 CSV from Kaggle (default: synthetic faces)")
    parser.add_argument("--balance", action="store_true",
                        help="faces: repeat the rare classes of the training rows")
    parser.add_argument("--model", choices=trainers.MODELS, default="mlp",
                        help="faces: mlp (default), or cnn: the course's convolutional network "
                             "(conv 5x5x20, pool, conv 5x5x50, pool, dense 500, 300; SGD "
                             "momentum lr 0.01, batch 64, 5 epochs unless given)")
    parser.add_argument("--filters", type=hidden_sizes, metavar="20,50",
                        help="cnn: the convolutions' numbers of filters (default: 20,50)")
    parser.add_argument("--kernel", type=positive_int, metavar="K",
                        help="cnn: the convolutions' window side (default: 5)")
    parser.add_argument("--placement", choices=("centred", "anywhere"),
                        help="synthetic faces: centred (default), or anywhere: moved and "
                             "shrunk, which a cnn handles and an mlp does not")


def _refuse_what_does_not_apply(command, args):
    """Raise a UsageError for an option given that the command or problem would ignore."""
    refusals = []
    if args.balance and args.problem != "faces":
        refusals.append(f"--balance is for the faces problem only, not {args.problem!r}")
    if args.problem == "xor":
        if args.samples is not None:
            refusals.append("--samples does not apply to xor, which has 4 points")
        if args.patience is not None:
            refusals.append("--patience does not apply to xor, which holds out no validation "
                            "rows")
    if args.problem == "faces" and args.data is not None and args.samples is not None:
        refusals.append("--samples sets the number of synthetic faces; with --data the file's "
                        "rows are used")
    if command == "search":
        if args.lr is not None:
            refusals.append("--lr does not apply to search, which tries learning rates from "
                            "--lr-range")
        if args.l2 is not None:
            refusals.append("--l2 does not apply to search, which tries L2 weights from "
                            "--l2-range")
        if args.grid and args.trials is not None:
            refusals.append("--trials does not apply to --grid, which tries every combination")
        if not args.grid and args.grid_points is not None:
            refusals.append("--grid-points applies only with --grid")
    if refusals:
        raise UsageError(refusals[0])


def _check_destinations(args):
    """Fail now, not after minutes of training, if ``--save`` or ``--plots`` cannot be
    written; returns the checkpoint's path (``.npz`` added)."""
    save = None
    if args.save:
        save = checkpoint.checkpoint_path(args.save)
        _check_writable("--save", save)
    if args.plots:
        folder = os.path.abspath(args.plots)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise NotADirectoryError(f"cannot write --plots {args.plots!r}: it is a file, not "
                                     "a folder")
        existing = folder                       # write_plots creates the folders missing
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            shown = os.path.relpath(existing) if not os.path.isabs(args.plots) else existing
            raise NotADirectoryError(f"cannot write --plots {args.plots!r}: {shown!r} is a "
                                     "file, not a folder")
        _check_writable("--plots", os.path.join(existing, "loss.png"), args.plots)
    return save


def _check_writable(flag, path, shown=None):
    shown = path if shown is None else shown
    try:
        files.check_writable(path)
    except FileNotFoundError:
        folder = os.path.dirname(path) or "."
        raise FileNotFoundError(f"cannot write {flag} {shown!r}: the folder {folder!r} does "
                                "not exist") from None
    except OSError as error:
        raise OSError(f"cannot write {flag} {shown!r}: {error.strerror or error}") from None


def _config(args):
    overrides = dict(hidden=args.hidden, activation=args.activation, optimizer=args.optimizer,
                     lr=args.lr, l2=args.l2, epochs=args.epochs, samples=args.samples,
                     patience=args.patience, seed=args.seed, balance=args.balance or None,
                     model=args.model, filters=args.filters, kernel=args.kernel,
                     placement=args.placement)
    cfg = trainers.config(args.problem, **overrides)
    if args.batch_size is not None:             # 0 means the whole set: batch_size None
        cfg = dataclasses.replace(cfg, batch_size=args.batch_size or None)
    return cfg


def _describe(cfg):
    if cfg.model == "cnn":
        convs = ", ".join(f"conv {cfg.kernel}x{cfg.kernel}x{count}" for count in cfg.filters)
        return (f"cnn {convs}, dense {','.join(map(str, cfg.hidden))} relu, {cfg.optimizer} "
                f"lr {cfg.lr:g}, l2 {cfg.l2:g}, {cfg.epochs} epochs, batch "
                f"{cfg.batch_size or 'all'}, seed {cfg.seed}")
    return (f"hidden {','.join(map(str, cfg.hidden))} {cfg.activation}, {cfg.optimizer} "
            f"lr {cfg.lr:g}, l2 {cfg.l2:g}, {cfg.epochs} epochs, batch "
            f"{cfg.batch_size or 'all'}, seed {cfg.seed}")


def _fail(command, message):
    print(f"microflow {command}: error: {message}", file=sys.stderr)
    return EXIT_FAILED


def _guarded(command, run):
    """``run(args)``, with the errors bad input causes turned into one line and exit 1."""
    def guarded(args):
        try:
            return run(args)
        except DivergenceError as error:
            lr = args.lr or trainers.config(args.problem, model=getattr(args, "model", None)).lr
            return _fail(command, f"training diverged: {str(error).rstrip('.')}, e.g. "
                                  f"--lr {lr / 10:g}")
        except FileNotFoundError as error:
            return _fail(command, str(error) if not error.filename else
                         f"no such file: {error.filename!r}")
        except (OSError, ValueError, ImportError) as error:  # FER2013FormatError, CheckpointError
            return _fail(command, str(error))
        except KeyboardInterrupt:
            print(f"\nmicroflow {command}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
    guarded.__name__ = run.__name__
    return guarded


# -- microflow train --------------------------------------------------------------------------
def add_train(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a course example and print its accuracy",
        description="Train one of the course's example networks and print its train and test "
                    "accuracy; optionally write what it learned as pictures.")
    _add_problem_options(parser)
    parser.add_argument("--plots", metavar="DIR",
                        help="write the pictures and the drawing of the graph into DIR")
    parser.add_argument("--save", metavar="CKPT", help="save the trained weights (.npz)")
    parser.set_defaults(run=_guarded("train", run_train))


def run_train(args):
    _refuse_what_does_not_apply("train", args)
    cfg = _config(args)
    save = _check_destinations(args)
    print(f"{cfg.problem}: {_describe(cfg)}", flush=True)
    result = trainers.train(cfg, data_path=args.data)
    print(result.summary(), flush=True)
    if args.plots:
        for path in trainers.write_plots(result, args.plots):
            print(f"wrote {path}")
        _draw(result, os.path.join(args.plots, "graph.svg"))
    if save:
        path = checkpoint.save(save, result.network.graph.variables)
        print(f"saved the weights to {path}")
    return 0


def _draw(result, path):
    from microflow import viz
    try:
        print(f"wrote {trainers.draw_graph(result, path)}")
    except viz.GraphvizNotFound as error:
        print(f"microflow train: warning: no drawing of the graph: {error}", file=sys.stderr)


# -- microflow cv -----------------------------------------------------------------------------
def add_cv(subparsers):
    parser = subparsers.add_parser(
        "cv", help="k-fold cross-validation of a course example",
        description="Cross-validate one of the course's examples: train on k - 1 folds, score "
                    "on the one left out, k times; print each fold's accuracy, the mean and "
                    "the standard deviation.")
    _add_problem_options(parser)
    parser.add_argument("--folds", type=positive_int, default=5, metavar="K",
                        help="number of folds (default: 5)")
    _add_parallel_options(parser, "folds")
    parser.set_defaults(run=_guarded("cv", run_cv))


def _add_parallel_options(parser, tasks):
    parser.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                        help=f"train {tasks} in N local processes at once (-1: one per core; "
                             f"default: 1)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help=f"train the {tasks} on a Dask cluster, e.g. tcp://host:8786 "
                             "(start it with `dask scheduler` and `dask worker ADDRESS`)")


def _jobs(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"expected a number of processes or -1, got {text!r}")
    return value


def _cv_data(args, cfg):
    if cfg.problem == "xor":
        raise ValueError("xor has only 4 points: there is nothing to hold out; "
                         "try donut, clouds or faces")
    if args.folds < 2:
        raise ValueError(f"--folds must be at least 2, got {args.folds}")
    data = trainers.load_data(cfg, args.data, seed=cfg.seed)
    return data.X, data.y


def run_cv(args):
    _refuse_what_does_not_apply("cv", args)
    cfg = _config(args)
    X, y = _cv_data(args, cfg)
    print(f"{cfg.problem}: {args.folds}-fold cross-validation on {len(X)} examples; "
          f"{_describe(cfg)}", flush=True)
    parallel = args.jobs != 1 or args.cluster
    score = trainers.train_and_score(cfg, progress=not parallel)
    fold = iter(range(1, args.folds + 1))

    def scored(*arrays):
        accuracy = score(*arrays)
        print(f"  fold {next(fold)}: accuracy {accuracy:.3f}", flush=True)
        return accuracy

    result = model_selection.cross_validate(score if parallel else scored, X, y, k=args.folds,
                                            seed=cfg.seed, n_jobs=args.jobs,
                                            cluster=args.cluster)
    if parallel:                        # the workers trained in silence: their scores now
        for number, accuracy in enumerate(result.scores, start=1):
            print(f"  fold {number}: accuracy {accuracy:.3f}")
    print(f"{cfg.problem}: accuracy {result}")
    return 0


# -- microflow search -------------------------------------------------------------------------
def add_search(subparsers):
    parser = subparsers.add_parser(
        "search", help="hyperparameter search with cross-validation",
        description="Search learning rates and L2 weights (on a log scale) and hidden layer "
                    "widths: each setting is cross-validated on the same folds; prints the "
                    "settings ranked by mean accuracy.")
    _add_problem_options(parser)
    parser.add_argument("--trials", type=positive_int, metavar="N",
                        help="random settings to try (default: 10)")
    parser.add_argument("--folds", type=positive_int, default=3, metavar="K",
                        help="folds per setting (default: 3)")
    parser.add_argument("--grid", action="store_true",
                        help="try every combination of --grid-points values of lr and l2 and "
                             "every --hidden-choices, instead of random settings")
    parser.add_argument("--grid-points", type=positive_int, metavar="N",
                        help="values per range in a grid, evenly spaced on a log scale "
                             "(default: 3)")
    parser.add_argument("--lr-range", type=positive_float, nargs=2, metavar=("LOW", "HIGH"),
                        default=(1e-4, 1e-1), help="(default: 1e-4 1e-1)")
    parser.add_argument("--l2-range", type=positive_float, nargs=2, metavar=("LOW", "HIGH"),
                        default=(1e-6, 1e-2), help="(default: 1e-6 1e-2)")
    parser.add_argument("--hidden-choices", type=hidden_sizes, nargs="+", metavar="8,8",
                        help="layer widths to choose from (default: half, once and twice "
                             "the problem's default)")
    _add_parallel_options(parser, "settings and folds")
    parser.set_defaults(run=_guarded("search", run_search))


def search_space(cfg, lr_range, l2_range, hidden_choices, grid_points=None):
    """The search space: lr and l2 log-uniform over their ranges (or, with ``grid_points``,
    that many values evenly spaced on a log scale), hidden widths as ``"8,8"`` strings."""
    for name, (low, high) in (("--lr-range", lr_range), ("--l2-range", l2_range)):
        if not low < high:
            raise ValueError(f"{name} needs LOW < HIGH, got {low:g} {high:g}")
    if hidden_choices is None:
        first = cfg.hidden[0]
        hidden_choices = [(max(first // 2, 1),), (first,), (first * 2,)]
    hidden = list(dict.fromkeys(",".join(map(str, sizes)) for sizes in hidden_choices))
    if grid_points is None:
        return {"lr": model_selection.log_uniform(*lr_range),
                "l2": model_selection.log_uniform(*l2_range), "hidden": hidden}
    return {"lr": np.geomspace(*lr_range, grid_points).tolist(),
            "l2": np.geomspace(*l2_range, grid_points).tolist(), "hidden": hidden}


def run_search(args):
    _refuse_what_does_not_apply("search", args)
    trials = 10 if args.trials is None else args.trials
    cfg = _config(args)
    X, y = _cv_data(args, cfg)
    space = search_space(cfg, args.lr_range, args.l2_range, args.hidden_choices,
                         (args.grid_points or 3) if args.grid else None)
    score = trainers.search_scorer(cfg)
    if args.grid:
        n = int(np.prod([len(values) for values in space.values()]))
        print(f"{cfg.problem}: grid search over {n} settings, {args.folds} folds each",
              flush=True)
        result = model_selection.grid_search(score, X, y, space, k=args.folds, seed=cfg.seed,
                                             n_jobs=args.jobs, cluster=args.cluster)
    else:
        print(f"{cfg.problem}: random search, {trials} settings, {args.folds} folds each",
              flush=True)
        result = model_selection.random_search(score, X, y, space, n_trials=trials,
                                               k=args.folds, seed=cfg.seed, n_jobs=args.jobs,
                                               cluster=args.cluster)
    print(result)
    if result.interrupted:
        return EXIT_INTERRUPTED
    best = result.rows[0]
    if np.isnan(best.mean):
        return _fail("search", "every setting diverged: try a lower --lr-range")
    print(f"best: --lr {best.params['lr']:.3g} --l2 {best.params['l2']:.3g} "
          f"--hidden {best.params['hidden']} (accuracy {best.mean:.3f} ± {best.std:.3f})")
    return 0


SUBCOMMANDS = {"train": add_train, "cv": add_cv, "search": add_search}


def add_subcommands(subparsers):
    """Add ``train``, ``cv`` and ``search`` to the ``microflow`` command's subparsers.

    Each sets ``run``: a function of the parsed arguments that returns the exit status.
    """
    for add in SUBCOMMANDS.values():
        add(subparsers)
