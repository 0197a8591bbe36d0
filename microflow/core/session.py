"""Running graphs: a Session compiles what a fetch needs into a plan, caches it, runs it.

A plan is the Python source of one function, generated once per (fetches, fed tensors): one
line per op, ``t7 = k7(t3, c5)``, with constants and Variables bound as globals, each array
deleted right after its last use, and stateful ops (optimizer updates) placed after every
op that reads the Variables they change. A training step is then a single function call
with one numpy call per op and almost nothing around it. A plan longer than
``CODEGEN_LIMIT`` steps is several such functions of ``CHUNK_STEPS`` steps, called in turn;
chunks of the same shape share one compiled code object. Such a plan is made a chunk at a
time, from where each value is read last (found first, in one walk from the end of the
order), so that building it holds one chunk's steps, not the plan's.
"""

from __future__ import annotations

import array
import builtins
import collections
import dataclasses
import itertools
import linecache
import math
import threading
import time
import types

import numpy as np

from microflow.core.errors import FeedError, GraphError, NumericsError
from microflow.core.graph import Const, Placeholder, Tensor, VariableOp, get_default_graph, \
    ancestors_in_order, out_of_range, topological_order
from microflow.core.ops.base import Op, format_shape, into_clause
from microflow.core.ops.kernels import FUSED_GEMM, NoRows
from microflow.core.ops.shape import Identity, PlaceholderWithDefault, StopGradient
from microflow.core.ops.linalg import MatMul
from microflow.core.ops.state import Group

_ALIASES = (Identity, StopGradient,     # ops whose output is their input: no call at run time
            PlaceholderWithDefault)
_plan_numbers = itertools.count(1)      # each generated plan's file name is its own
_SOURCES_KEPT = 256                     # generated sources linecache keeps (the newest)
_sources = collections.deque()
_sources_lock = threading.Lock()


def _remember_source(filename, source):
    """Let linecache show the generated line (which names its op) in tracebacks and numpy's
    warnings, for the newest plans, even after the plan itself is gone."""
    with _sources_lock:
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        _sources.append(filename)
        while len(_sources) > _SOURCES_KEPT:
            linecache.cache.pop(_sources.popleft(), None)
CODEGEN_LIMIT = 5000                    # longer plans are generated in chunks (or interpreted)
CHUNK_STEPS = 250                       # steps per generated function of a longer plan; 0:
                                        # a loop interprets longer plans instead
_CHUNK_CODES_KEPT = 256                 # compiled chunk shapes kept (the newest)
_chunk_codes = collections.OrderedDict()    # chunk source -> (code, line -> step in chunk)
_chunk_codes_lock = threading.Lock()
MAX_PLANS = 128                         # plans a Session keeps; the oldest goes first


class Session:
    """Runs the parts of a graph that fetches need.

    Parameters
    ----------
    graph : Graph, optional
        The graph to run (default: the default graph).
    check_numerics : bool
        Check every op's output and stop at the first NaN or Inf with a ``NumericsError``
        naming the op, its type and its inputs (slower; for debugging).
    """

    def __init__(self, graph=None, check_numerics=False):
        self.graph = graph if graph is not None else get_default_graph()
        self.check_numerics = bool(check_numerics)
        self._plans = {}
        self._plans_lock = threading.Lock()     # threads may share a Session

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Drop the compiled plans (a closed Session can still run: it compiles again)."""
        with self._plans_lock:
            self._plans.clear()

    def run(self, fetches, feed_dict=None):
        """Evaluate ``fetches`` (a Tensor or any nesting of lists, tuples and dicts of them).

        ``feed_dict`` maps Tensors (usually placeholders) to values; feeding any Tensor
        overrides its value for this run (a fed Variable too: an update in the same run changes
        a copy, never the fed array nor the Variable). A value is converted to the Tensor's
        dtype only when it fits (a ``FeedError`` otherwise). Returns numpy arrays in the
        structure of ``fetches``, which the caller owns: none shares memory with a fed array,
        a Variable or a constant.
        """
        kind = type(fetches)
        if kind is list or kind is tuple:           # the common case, in O(1) per Tensor
            plan = self._plans.get((*map(id, fetches), None, *map(id, feed_dict))
                                   if feed_dict else (*map(id, fetches), None))
            if plan is not None:                    # so fetches are Tensors: the plan has them
                values = plan.run(feed_dict.values() if feed_dict else ())
                return list(values) if kind is list else values
        feed_dict = feed_dict or {}
        if isinstance(fetches, Tensor):
            flat, rebuild = (fetches,), None
        else:
            flat, rebuild = _flatten(fetches)
        values = self._plan(flat, feed_dict).run(feed_dict.values())
        return values[0] if rebuild is None else rebuild(values)

    def _plan(self, flat, fed):
        """The cached Plan for the Tensors ``flat`` with the Tensors ``fed`` fed; compiled now
        if it is not cached yet."""
        key = (*map(id, flat), None, *map(id, fed))     # what run's fast path looks up
        plan = self._plans.get(key)
        if plan is None:
            plan = Plan(self.graph, flat, list(fed), self.check_numerics)
            with self._plans_lock:                  # check and insert as one step
                while len(self._plans) >= MAX_PLANS:    # e.g. a new Tensor fetched every call
                    del self._plans[next(iter(self._plans))]
                plan = self._plans.setdefault(key, plan)
        return plan

    def profile(self, fetches, feed_dict=None, steps=20):
        """Time every op of ``fetches``' plan over ``steps`` runs: where a step spends its time.

        Returns a ``Profile``; ``print()`` it for a table of the ops, slowest first. The runs
        are real (a training op trains), through an interpreter that times each kernel.

        >>> x = mf.Variable(np.ones((200, 200)))
        >>> report = mf.Session().profile(mf.reduce_sum(mf.tanh(x @ x)), steps=3)
        >>> [row.op for row in report.rows][:1]
        ['MatMul']
        """
        feed_dict = feed_dict or {}
        flat = (fetches,) if isinstance(fetches, Tensor) else _flatten(fetches)[0]
        plan = Plan(self.graph, flat, list(feed_dict), timed=True)
        for _ in range(steps):
            plan.run(feed_dict.values())
        return Profile(plan.timings, steps)

    def plan_for(self, fetches, feed=()):
        """The compiled Plan that ``run`` uses for ``fetches`` with the Tensors ``feed`` fed
        (compiled now if it is not cached yet): to inspect its source, or to run many steps
        without ``run``'s look-ups (``Plan.run``, on values ``Plan.converted`` once)."""
        flat = (fetches,) if isinstance(fetches, Tensor) else _flatten(fetches)[0]
        return self._plan(flat, tuple(feed))


class Plan:
    """The generated function that computes ``fetches`` from the fed values."""

    def __init__(self, graph, fetches, fed, check_numerics=False, timed=False):
        for tensor in fetches:
            if not isinstance(tensor, Tensor):
                raise TypeError(f"cannot fetch {tensor!r}: fetches must be Tensors")
            if tensor.graph is not graph:
                raise GraphError(f"cannot fetch {tensor.name!r}: it belongs to another graph "
                                 "than the Session's")
        for tensor in fed:
            if not isinstance(tensor, Tensor):
                raise FeedError(f"feed_dict key {tensor!r} is not a Tensor")
            if tensor.graph is not graph:
                raise GraphError(f"cannot feed {tensor.name!r}: it belongs to another graph "
                                 "than the Session's")
        self.fetches = tuple(fetches)
        self.fed = tuple(fed)
        self._converters = [_converter(t) for t in self.fed]
        self.order = _run_order(_plan_order(graph, self.fetches, self.fed))
        self.timings = {} if timed else None      # node -> seconds, for Session.profile
        self._compile(check_numerics)

    def run(self, feed_values):
        """The fetches' values, from the fed values in the order of ``self.fed``."""
        try:
            if self._lock is None:
                return self._function(feed_values)     # which converts the fed values first
            with self._lock:
                return self._function(feed_values)
        except (FeedError, GraphError, NumericsError):
            raise
        except Exception as error:
            node = self._failed_node(error)
            if node is None:
                raise
            arrays = [np.asarray(value) for value in feed_values]
            empty = [(t, a.shape) for t, a in zip(self.fed, arrays) if a.ndim and not len(a)]
            raise _naming(error, node, empty if isinstance(error, NoRows) else ()) from error

    def converted(self, feed_values):
        """The fed values as ``run`` converts them: arrays of the fed Tensors' dtypes, their
        shapes checked (a ``FeedError`` otherwise). ``run`` takes them back, or slices of them
        along a dimension of unknown size, with three comparisons each."""
        return [convert(value) for convert, value in zip(self._converters, feed_values)]

    def _failed_node(self, error):
        """The op whose kernel raised ``error``: from the generated source's line number, or
        as the interpreter marked it."""
        node = getattr(error, "microflow_node", None)
        traceback = error.__traceback__
        while node is None and traceback is not None:
            frame = traceback.tb_frame
            if frame.f_code.co_filename == self._filename:
                node = self._line_nodes.get(traceback.tb_lineno)
            elif "_chunk_lines" in frame.f_globals:     # a chunk of a long plan
                position = frame.f_globals["_chunk_lines"].get(traceback.tb_lineno)
                if position is not None:
                    node = frame.f_globals["_chunk_nodes"][position]
            traceback = traceback.tb_next
        return node

    def _compile(self, check_numerics):
        """Resolve every Tensor to a slot, pick the kernels (in place where an input dies
        there, sharing saved values between an op and its gradient op), then emit the steps
        as Python source (or, for very long plans, where compiling the source would take
        longer than it saves, as a list that a loop interprets).

        One walk from the end finds where each value is read last (``_liveness``); a walk
        from the start then makes the steps a segment at a time (``_segments``): the whole
        plan for one generated function, ``CHUNK_STEPS`` steps for each chunk of a long
        plan, so that a long plan never holds all its steps at once."""
        fed = {t: i for i, t in enumerate(self.fed)}
        order, pairs = _pair_saved_values(self.order, fed)
        roots = {t: _root(t, fed) for t in self.fetches}
        live = _liveness(order, fed, set(roots.values()), pairs[1])
        if live.missing is not None:
            raise FeedError(_missing_feed_message(live.missing, self.fetches))
        names = {t: _value_name(root, fed, live.positions) for t, root in roots.items()}
        kept = self._kept = set(names.values())
        # Arrays the graph owns (constants, Variables, feeds) are copied before any update;
        # so are fetched views of them, right after they are made; and a feed that an update
        # would write into is copied first, so that the caller's array is never written.
        copied = sorted({name for name in kept if name[0] in "cf"})
        owned = {names[t]: _constant_value(root) for t, root in roots.items()
                 if names[t][0] == "c"}
        results = [names[t] + ("_" if names[t][0] in "cf" else "") for t in self.fetches]
        views = {names[t] for t in self.fetches if names[t][0] == "t" and _may_view_owned(t, fed)}
        interpreted = self.timings is not None or (live.steps > CODEGEN_LIMIT and
                                                   CHUNK_STEPS <= 0)
        chunked = live.steps > CODEGEN_LIMIT and not interpreted
        written = set()
        segments = _segments(order, fed, live, pairs, CHUNK_STEPS if chunked else None, written)
        del order, roots, names                 # (self.order keeps the order)
        column_major, shares, buffers = set(), {}, {}
        leaving = _may_leave_once(self.fetches, fed, pairs[0]) if chunked else None

        def prepared():
            """Each segment's steps, with their layouts and kept buffers chosen."""
            for steps, globals_, last_use, stop in segments:
                _lay_out_batch_minor(steps, column_major)
                if not chunked and not check_numerics:
                    _fuse_product_updates(steps, kept)
                chosen = _keep_buffers(steps, kept, shares, leaving)
                buffers.update(chosen)
                globals_.update(chosen)
                for step in steps if views else ():
                    step.copy = step.outs[0] in views
                yield steps, globals_, last_use, stop
        if chunked:
            self._function = self._generate_chunks(prepared(), owned, copied, written, results,
                                                   column_major, check_numerics)
        else:
            ((steps, globals_, _, _),) = prepared()
            globals_.update(owned, _check=_check_numerics)
            # a value the plan laid out its own way reaches the caller in C order
            self._reordered = column_major.intersection(results)
            make = self._interpreter if interpreted else self._generate
            self._function = make(globals_, steps, copied, sorted(written), results,
                                  check_numerics)
        # a plan that keeps buffers runs in one thread at a time (threads may share a Session)
        self._lock = threading.Lock() if buffers else None

    def _generate(self, globals_, steps, copied, written, results, check_numerics):
        lines = ["def plan(feeds):"]
        self._line_nodes = {}                   # line number -> the op it runs, for errors
        unread = {out for step in steps for out in step.outs} - \
            {arg for step in steps for arg in step.args} - self._kept     # an update's output
        if self.fed:
            lines.append(f"    {', '.join(f'f{i}' for i in range(len(self.fed)))}, = feeds")
        globals_["_ndarray"] = np.ndarray
        for i, convert in enumerate(self._converters):   # a value like the last: 3 comparisons
            globals_.update({f"_convert{i}": convert, f"_dtype{i}": convert.dtype,
                             f"_shape{i}": convert.accepted})
            lines.append(f"    if f{i}.__class__ is not _ndarray or f{i}.dtype is not _dtype{i} "
                         f"or f{i}.shape != _shape{i}[0]: f{i} = _convert{i}(f{i})")
        lines += [f"    {name} = {name}.copy()" for name in written]
        lines += [f"    {name}_ = {name}.copy()" for name in copied]
        for step in steps:
            node, out, unused = step.node, step.outs[0], step.dead
            inline = step.inline if step.inline is not None else None \
                if step.kernel is not step.plain else node.operation.inline(step.args, step.into)
            if inline is None:
                globals_["k" + out] = step.kernel
                into = into_clause(step.into, step.kernel) if isinstance(step.kernel, np.ufunc) \
                    else f", out={step.into}" if step.into else ""
                call = f"k{out}({', '.join(step.args)}{into})"
            else:                               # numpy called directly, no forward() between
                call, functions, *statement = inline
                globals_.update(functions)
                if statement:                   # run for its effect; the op's output is None
                    call = call if out in unread else f"({call}, None)[1]"
            # The comment names the op in tracebacks and in numpy's warnings, which show
            # this line (the source is registered with linecache below).
            assigned = "" if inline and inline[2:] and out in unread else \
                f"{', '.join(step.outs)} = "
            comment = f"  # {node.op} op {node.name!r}"
            if step.grow:               # into the buffer of the last run's shape, or a new one
                buffer = f"{step.grow}[0]"
                grown = node.operation.inline(step.args, buffer) if inline else None
                lines += ["    try:", f"        {out} = " + (grown[0] if grown else
                          f"k{out}({', '.join(step.args)}, {buffer})") + comment]
                self._line_nodes[len(lines)] = node
                lines.append("    except (ValueError, TypeError):     # a batch of another size")
                lines.append(f"        {out} = {buffer} = {call}{comment}")
            else:
                lines.append(f"    {assigned}{call}{'.copy()' if step.copy else ''}{comment}")
            self._line_nodes[len(lines)] = node
            if check_numerics:
                globals_["n" + out] = node
                lines.append(f"    _check(n{out}, {out})")
            if unused:
                lines.append(f"    del {', '.join(unused)}")
        globals_["_c_order"] = _c_order
        lines.append("    return (" + "".join(f"_c_order({r}), " if r in self._reordered else
                                             r + ", " for r in results) + ")")
        self.source = "\n".join(lines) + "\n"
        self._filename = f"<microflow plan {next(_plan_numbers)}>"
        _remember_source(self._filename, self.source)
        exec(compile(self.source, self._filename, "exec"), globals_)
        return globals_["plan"]

    def _generate_chunks(self, segments, owned, copied, written, results, column_major,
                         check_numerics):
        """The steps as generated functions of ``CHUNK_STEPS`` steps each, called one after
        another: a function per chunk compiles in time linear in the plan (one function of
        all steps would not), and chunks of the same shape (a long chain's, a repeated block's)
        share one compiled code object, each with its own kernels and constants as globals.

        A chunk takes the values it reads from earlier chunks (or feeds) as arguments, and
        returns those that later chunks or the fetches need; a list of slots carries them, and
        forgets each after the last chunk that reads it. ``segments`` gives each chunk's
        steps, globals, the last reads of the values they name, and the position after it."""
        self._filename = None
        slot_of = {"None": 0}
        template = [None]

        def slot(name):
            number = slot_of.get(name)
            if number is None:
                number = slot_of[name] = len(template)
                template.append(owned.get(name))
            return number
        fed_slots = [slot(f"f{i}") for i in range(len(self.fed))]
        result_names = set(results)
        program, steps_made = [], 0
        for steps, globals_, last_use, stop in segments:
            function, inputs, outputs = _chunk(globals_, steps, stop, last_use, result_names,
                                               check_numerics)
            done = [name for name in inputs if name[0] in "ts" and last_use[name] < stop and
                    name not in result_names]
            # (what a chunk takes, an earlier chunk returned or the plan was fed: it has a slot)
            program.append((function, [slot_of[name] for name in inputs],
                            [slot(name) for name in outputs], [slot_of[name] for name in done]))
            for name in done:                   # no later chunk reads it
                del slot_of[name]
            steps_made += len(steps)
        self.source = f"<a plan of {steps_made} steps in {len(program)} generated functions>"
        copies = [(slot(name), slot(name)) for name in sorted(written)] + \
            [(slot(name), slot(name + "_")) for name in copied]
        unknown = [name for name in results if name not in slot_of]
        if unknown:         # a fetch no chunk returns would come back as None: say so instead
            raise GraphError(f"internal error: no chunk of the plan computes {unknown}")
        result_slots = [slot_of[name] for name in results]
        self._reordered = column_major.intersection(results)
        in_c_order = [name in self._reordered for name in results]
        self._chunks = program
        converters = self._converters

        def plan(feeds):
            slots = _fill_slots(template, fed_slots, [convert(value) for convert, value in
                                                      zip(converters, feeds)], copies)
            for function, inputs, outputs, released in program:
                values = function(*[slots[i] for i in inputs])
                for number, value in zip(outputs, values):
                    slots[number] = value
                for number in released:
                    slots[number] = None
            return tuple(_c_order(slots[i]) if c else slots[i]
                         for i, c in zip(result_slots, in_c_order))
        return plan

    def _interpreter(self, globals_, steps, copied, written, results, check_numerics):
        self.source = f"<a plan of {len(steps)} steps, run by a loop>"
        self._filename = None
        slot_of = {"None": 0}                  # the Group op's output: always None
        for name in list(globals_) + [f"f{i}" for i in range(len(self.fed))] + \
                [out for step in steps for out in step.outs] + [name + "_" for name in copied]:
            slot_of.setdefault(name, len(slot_of))
        template = [None] * len(slot_of)
        for name, value in globals_.items():
            template[slot_of[name]] = value
        fed_slots = [slot_of[f"f{i}"] for i in range(len(self.fed))]
        copies = [(slot_of[name], slot_of[name]) for name in written] + \
            [(slot_of[name], slot_of[name + "_"]) for name in copied]
        program = [(step.node, step.kernel, slot_of[step.outs[0]],
                    [slot_of[o] for o in step.outs[1:]], [slot_of[a] for a in step.args],
                    None if step.into is None else slot_of[step.into],
                    [slot_of[d] for d in step.dead], step.copy)
                   for step in steps]
        result_slots = [slot_of[name] for name in results]
        in_c_order = [name in self._reordered for name in results]
        timings = self.timings
        if timings is not None:
            timings.update((step[0], 0.0) for step in program)
        clock = time.perf_counter

        converters = self._converters

        def plan(feeds):
            slots = _fill_slots(template, fed_slots, [convert(value) for convert, value in
                                                      zip(converters, feeds)], copies)
            try:
                for node, kernel, out, saved, args, into, unused, copy in program:
                    if timings is not None:
                        started = clock()
                    if into is None:
                        value = kernel(*[slots[a] for a in args])
                    else:
                        value = kernel(*[slots[a] for a in args], out=slots[into])
                    if timings is not None:
                        timings[node] += clock() - started
                    if saved:
                        value, slots[saved[0]] = value
                    if copy:
                        value = value.copy()
                    slots[out] = value
                    if check_numerics:
                        _check_numerics(node, value)
                    for slot in unused:
                        slots[slot] = None
            except Exception as error:
                error.microflow_node = node
                raise
            return tuple(_c_order(slots[s]) if c else slots[s]
                         for s, c in zip(result_slots, in_c_order))
        return plan


def _fill_slots(template, fed_slots, feeds, copies):
    """A run's slots: the ``template``'s values, the fed arrays, and the ``(source, target)``
    copies that protect what the caller and the graph own."""
    slots = template.copy()
    for number, array in zip(fed_slots, feeds):
        slots[number] = array
    for source, target in copies:
        slots[target] = slots[source].copy()
    return slots


def _chunk(globals_, steps, stop, last_use, result_names, check_numerics):
    """The function running ``steps``, the names of the values it takes (read there, made
    before) and of those it returns (made there, read at ``stop`` or later, or fetched).

    Its source names values by their place in the chunk (``a0`` the first argument, ``v3``
    the output of its fourth step, ``k3`` the fourth kernel it calls, ``g0`` its first
    constant), so that chunks doing the same calls on values made in the same places have the
    same source, which is compiled once."""
    names = {"None": "None"}        # the plan's names -> the chunk's
    inputs, outputs, lines, nodes, constants = [], [], [], [], []
    scope = {"__builtins__": builtins, "_check": _check_numerics, "_chunk_nodes": nodes}
    step_lines = []                 # each step's line, to name a failing op
    local = _local_names(len(steps) + 1)

    def first_met(name):            # a name met for the first time: an argument or a global
        if name in globals_:        # a constant or Variable
            number = len(constants)
            chunk_name = global_names[number] if number < len(global_names) else f"g{number}"
            constants.append(name)
            scope[chunk_name] = globals_[name]
        else:
            number = len(inputs)
            chunk_name = argument_names[number] if number < len(argument_names) else f"a{number}"
            inputs.append(name)
        names[name] = chunk_name
        return chunk_name
    values, kernels, checked = local["v"], local["k"], local["n"]
    global_names, argument_names = local["g"], local["a"]
    kernel_names = {}               # id(kernel) -> its global here: one per kernel (a ufunc's)
    described = _DESCRIBED
    for position, step in enumerate(steps):
        node = step.node
        args = []
        for name in step.args:
            args.append(names.get(name) or first_met(name))
        outs = out = values[position]
        if len(step.outs) == 1:
            name = step.outs[0]
            names[name] = out
            if name in result_names or last_use[name] >= stop:
                outputs.append(name)
        else:                           # a saved value too
            for index, name in enumerate(step.outs):
                names[name] = f"{out}_{index}" if index else out
                if name in result_names or last_use[name] >= stop:
                    outputs.append(name)
            outs = ", ".join([names[name] for name in step.outs])
        into = step.into and (names.get(step.into) or first_met(step.into))   # (a kept buffer
        cls = type(node.operation)                                              # is a global)
        comment, inlines = described.get(cls) or _describe(cls)
        function = step.kernel
        inline = node.operation.inline(args, into) if inlines and function is step.plain \
            else None
        if inline is None:
            kernel = kernel_names.get(id(function))
            if kernel is None:
                kernel = kernel_names[id(function)] = kernels[len(kernel_names)]
                scope[kernel] = function
            lines.append(f"    {outs} = {kernel}({', '.join(args)}{', out=' + into if into else ''})"
                         f"{'.copy()' if step.copy else ''}{comment}")
        else:
            call, functions, *statement = inline
            scope.update(functions)
            call = f"({call}, None)[1]" if statement else call     # an update's output: None
            lines.append(f"    {outs} = {call}{'.copy()' if step.copy else ''}{comment}")
        step_lines.append(len(lines) + 1)
        nodes.append(node)
        if check_numerics:
            scope[checked[position]] = node
            lines.append(f"    _check({checked[position]}, {out})")
        unused = step.dead
        if len(unused) == 1:
            lines.append(f"    del {names[unused[0]]}")
        elif unused:
            deleted = []
            for name in unused:
                deleted.append(names[name])
            lines.append(f"    del {', '.join(deleted)}")
    source = f"def chunk({', '.join(f'a{i}' for i in range(len(inputs)))}):\n" + \
        "\n".join(lines) + f"\n    return ({''.join(names[n] + ', ' for n in outputs)})\n"
    with _chunk_codes_lock:
        compiled = _chunk_codes.get(source)
        if compiled is not None:
            _chunk_codes.move_to_end(source)
    if compiled is None:
        filename = f"<microflow plan chunk {next(_plan_numbers)}>"
        module = compile(source, filename, "exec")
        code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
        compiled = code, {line: position for position, line in enumerate(step_lines)}
        _remember_source(filename, source)
        with _chunk_codes_lock:
            _chunk_codes[source] = compiled
            while len(_chunk_codes) > _CHUNK_CODES_KEPT:
                _chunk_codes.popitem(last=False)
    code, scope["_chunk_lines"] = compiled
    return types.FunctionType(code, scope), inputs, outputs


_DESCRIBED = {}                 # op class -> (its chunk line's comment, whether it inlines)


def _describe(cls):
    """The comment a chunk's line for an op of class ``cls`` ends with (its name), and whether
    the class has an ``inline`` of its own, found once per class."""
    described = _DESCRIBED[cls] = (f"  # {cls.__name__}", cls.inline is not Op.inline)
    return described


_local_name_lists = {}              # "v" -> ["v0", "v1", ...]: the same strings in every chunk


def _local_names(count):
    """Lists of at least ``count`` chunk-local names per prefix: values ``v``, kernels ``k``,
    checked nodes ``n``; and of ``2 * count`` globals ``g`` and arguments ``a`` (a chunk
    that has more names the rest itself)."""
    lists = _local_name_lists
    if len(lists.get("v", ())) < count:
        count = max(count, 2 * len(lists.get("v", ())))
        for prefix in "ga":
            lists[prefix] = [f"{prefix}{i}" for i in range(2 * count)]
        for prefix in "vkn":
            lists[prefix] = [f"{prefix}{i}" for i in range(count)]
    return lists


_STEP, _ALIAS, _CONSTANT, _PLACEHOLDER, _GROUP = "step", "alias", "constant", "placeholder", \
    "group"
_KINDS = {}                             # op class -> what a plan does with its Tensors


def _kind(cls):
    """What a plan makes of a Tensor of op class ``cls`` (found once per class)."""
    if issubclass(cls, Const | VariableOp):
        kind = _CONSTANT
    elif issubclass(cls, Placeholder):
        kind = _PLACEHOLDER
    elif issubclass(cls, _ALIASES):
        kind = _ALIAS
    elif issubclass(cls, Group):
        kind = _GROUP
    else:
        kind = _STEP
    _KINDS[cls] = kind
    return kind


class _Step:
    """One kernel call of a plan: ``outs = kernel(*args, out=into)``."""

    __slots__ = ("node", "kernel", "plain", "outs", "args", "into", "copy", "inline", "grow",
                 "dead")

    def __init__(self, node, kernel, outs, args):
        self.node = node
        self.kernel = self.plain = kernel       # plain: the op's forward, unless values are shared
        self.outs = outs
        self.args = args
        # into: the input the output is written into, if any; inline: the source of another
        # kernel a plan picked (see below); grow: a kept buffer of the shape of the last run
        # (generated code)
        self.into = self.inline = self.grow = None
        self.copy = False       # a fetched view of a feed, constant or Variable: copied
        self.dead = ()          # the values read last here (deleted after it)


def _pair_saved_values(order, fed):
    """The order with each gradient op that can reuse what its forward op computed on the
    same inputs (the softmax of a loss, say) paired with it, and the pairs as two dicts:
    forward node -> gradient node, and back. An op with ``saved_from = "Forward"`` and
    ``forward_saved(saved, g, *inputs)`` pairs with an op of type Forward on those
    ``inputs``, whose ``forward_saving`` returns its output and the value to share. A forward
    op that comes later (the loss, fetched beside the training op) moves up to just before its
    gradient op: its inputs are ready there, and its users all come later. The saved value has
    one user, which may write into it; each forward op pairs with one gradient op at most."""
    forwards, roles = {}, _SAVING_ROLES
    for position, node in enumerate(order):
        cls = type(node.operation)
        if (roles.get(cls) or _saving_role(cls))[0] and not (fed and node in fed):
            forwards.setdefault((node.operation.type_name, node.inputs), (node, position))
    if not forwards:
        return order, ({}, {})
    saving, saved_by, before = {}, {}, {}
    for position, node in enumerate(order):
        cls = type(node.operation)
        source_type = (roles.get(cls) or _saving_role(cls))[1]
        if not source_type or (fed and node in fed):
            continue
        source, at = forwards.pop((source_type, node.inputs[1:]), (None, 0))
        if source is None:
            continue
        saving[source], saved_by[node] = node, source
        if at > position:
            before[node] = source
    if before:
        moved = set(before.values())
        order = [n for node in order if node not in moved
                 for n in ((before[node], node) if node in before else (node,))]
    return order, (saving, saved_by)


_SAVING_ROLES = {}                      # op class -> its part in sharing a saved value


def _saving_role(cls):
    """Whether ops of class ``cls`` may save a value for a gradient op, and the type of the
    op whose saved value they take (None), found once per class (for a kernel call)."""
    step = _kind(cls) is _STEP
    role = (step and hasattr(cls, "forward_saving"), step and getattr(cls, "saved_from", None))
    _SAVING_ROLES[cls] = role
    return role


def _root(tensor, fed):
    """The Tensor whose value ``tensor`` has: itself, or what the aliases it is of alias."""
    kinds = _KINDS
    while not (fed and tensor in fed) and \
            (kinds.get(type(tensor.operation)) or _kind(type(tensor.operation))) is _ALIAS:
        tensor = tensor.inputs[0]
    return tensor


class _Liveness:
    """What one walk from the end of a plan's order finds. ``last[p]``: where the value made
    at position ``p`` is read last (-1: never; past the end: fetched); ``uses[p]``: how often
    it is read (counted up to 3: a fetch counts 3); ``saved_read``: forward node -> where its
    saved value is read; ``positions``: fetched value -> its position; ``steps``: how many
    kernel calls; ``missing``: the first placeholder not fed, if any."""

    __slots__ = ("last", "uses", "saved_read", "positions", "steps", "missing")


def _liveness(order, fed, fetched, saved_by):
    """The ``_Liveness`` of ``order`` (``fetched``: the values the fetches have): one pass,
    which holds only the values made before and read after where it is."""
    live = _Liveness()
    size = len(order)
    last = live.last = array.array("i", [-1]) * size
    uses = live.uses = bytearray(size)
    live.saved_read, live.positions, live.missing = {}, {}, None
    # value -> where it is read last * 4 + how often (up to 3), while not made yet; a fetched
    # one is read past the end, 3 times; an alias's reads are added to its input's at the alias
    fetch = size * 4 + 3
    reads = dict.fromkeys(fetched, fetch)
    kinds, positions, steps = _KINDS, live.positions, 0
    for position, node in zip(range(size - 1, -1, -1), reversed(order)):
        read = reads.pop(node, None)
        if read == fetch:
            positions[node] = position
        if fed and node in fed:
            continue
        cls = type(node.operation)
        kind = kinds.get(cls) or _kind(cls)
        if kind is _STEP:
            steps += 1
            if read is not None:
                last[position], uses[position] = read >> 2, read & 3
            for tensor in node.inputs:
                count = reads.get(tensor)
                if count is None:
                    reads[tensor] = position * 4 + 1
                elif count & 3 != 3:
                    reads[tensor] = count + 1
            if saved_by and node in saved_by:
                live.saved_read[saved_by[node]] = position
        elif kind is _CONSTANT and read is not None:
            last[position] = read >> 2
        elif kind is _ALIAS and read is not None:   # its reads are its input's (made before)
            source = node.inputs[0]
            count = reads.get(source)
            reads[source] = read if count is None else \
                max(read >> 2, count >> 2) * 4 + min(3, (read & 3) + (count & 3))
        elif kind is _PLACEHOLDER:
            live.missing = node
    live.steps = steps
    return live


def _value_name(root, fed, positions):
    """The name the plan gives the value of ``root`` (a Tensor no alias): ``f3`` (the fourth
    feed), ``t12`` (made by the step at position 12), ``c5`` (a constant or Variable),
    ``None`` (a Group's)."""
    if fed and root in fed:
        return f"f{fed[root]}"
    kind = _KINDS.get(type(root.operation)) or _kind(type(root.operation))
    return f"t{positions[root]}" if kind is _STEP else \
        f"c{positions[root]}" if kind is _CONSTANT else "None"


def _constant_value(node):
    """The array of a constant or Variable node (a Variable's is updated in place)."""
    op = node.operation
    return op.value if isinstance(op, Const) else node._value


def _reached_back(starts, fed, followed):
    """The Tensors reached from ``starts`` going back through the inputs that
    ``followed(node, kind)`` names for each (a fed Tensor's none)."""
    stack, seen, kinds = list(starts), set(), _KINDS
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if not (fed and node in fed):
            cls = type(node.operation)
            stack += followed(node, kinds.get(cls) or _kind(cls))
    return seen


def _viewed(op, items):
    """Those of ``items`` (an op's inputs, or its step's arguments, in order) that the op's
    output may be, or be a view of: ``op.views`` says all (True), none, or which."""
    views = op.views
    if views is True:
        return items
    return [items[i] for i in views if i < len(items)] if views else ()


def _may_view_owned(tensor, fed):
    """Whether ``tensor``'s array may be (a view of) a feed, constant or Variable."""
    def viewed(node, kind):
        if kind is _ALIAS:
            return node.inputs[:1]
        return _viewed(node.operation, node.inputs) if kind is _STEP else ()
    return any((fed and node in fed) or _KINDS[type(node.operation)] is _CONSTANT
               for node in _reached_back([tensor], fed, viewed))


def _may_leave_once(fetches, fed, saving):
    """A function giving (found at its first call) the Tensors whose arrays may be shared with
    a fetch's: fetched, aliased, viewed or saved by one, or an input it may be written into.
    More than those that are, since it is found before the plan picks what runs in place."""
    found = []

    def shared(node, kind):
        if kind is _ALIAS or (kind is _STEP and node in saving):
            return node.inputs
        if kind is _STEP:
            op = node.operation
            written = [node.inputs[i] for i in type(op).__dict__.get("inplace", ())
                       if i < len(node.inputs)]
            return written + list(_viewed(op, node.inputs)) if op.views else written
        return ()

    def leaving():
        if not found:
            found.append(_reached_back(fetches, fed, shared))
        return found[0]
    return leaving


def _segments(order, fed, live, pairs, size, written):
    """The plan's steps, ``size`` at a time (None: all at once), each segment as ``(steps,
    globals, last_use, stop)``: the constants its steps read by name, where each value they
    name is read last, and the position after the segment. Each step knows which values die
    there (``dead``), and writes into an input (``into``) where the op lists it in
    ``inplace`` (its forward takes ``out=``), the array was made fresh by the plan (by an op
    with ``fresh = True``, never a constant, Variable, feed or view), is read by this op
    alone, is not fetched, and has the output's dtype and, surely, shape. Feeds an update
    writes into are added to ``written``."""
    kinds, said = _KINDS, _IN_PLACE
    last, uses, saved_read = live.last, live.uses, live.saved_read
    saving, saved_by = pairs
    saved = {}                  # gradient node -> the name of the value saved for it
    where = {}                  # value -> its position (a constant's: -1 - it), while a later
                                # step reads it
    fresh = bytearray(len(order))   # at the positions of outputs that are new arrays
    feeds = {node: f"f{number}" for node, number in fed.items()}
    steps, globals_, last_use, start = [], {}, {}, 0
    constant_names = {}         # id of a constant's or Variable's array -> the name steps read
    for position, node in enumerate(order):
        op = node.operation
        cls = type(op)
        kind = kinds.get(cls) or _kind(cls)
        if fed and node in fed:
            continue
        if kind is _STEP:
            flags = said.get(cls)
            if flags is None:
                # Only a class that names its own in-place inputs (and says it is fresh): a
                # subclass with another forward does not inherit them.
                flags = said[cls] = (cls.__dict__.get("fresh", False),
                                     cls.__dict__.get("inplace", ()), cls.writes)
            args, made, unused, dying = [], [] if flags[1] else None, None, None
            for tensor in node.inputs:
                at = where.get(tensor)
                if at is None:                          # an alias, a feed or a Group's output
                    tensor = _root(tensor, fed)
                    at = where.get(tensor)
                if at is not None:
                    if at >= 0:
                        name = f"t{at}"
                        read_last = last[at]
                        if at < start:                  # made by an earlier segment
                            last_use[name] = read_last
                        if read_last == position:       # read last here: it dies here
                            unused = (name,) if unused is None else unused + (name,)
                            dying = [tensor] if dying is None else dying + [tensor]
                    else:                               # a constant's or Variable's
                        at = -at - 1
                        value = _constant_value(tensor)
                        name = constant_names.get(id(value))
                        if name is None:                # (constants of one number share
                            name = constant_names[id(value)] = f"c{at}"     # one array: one
                        if name not in globals_:                            # name for all)
                            globals_[name] = value
                        if last[at] == position:
                            dying = [tensor] if dying is None else dying + [tensor]
                elif fed and tensor in fed:
                    at, name = -1, feeds[tensor]
                elif kinds[type(tensor.operation)] is _GROUP:
                    at, name = -1, "None"               # a Group's output: None
                else:                                   # (a value no step or walk made)
                    raise GraphError(f"internal error: the plan reads {tensor.name!r} where "
                                     "no value of it is live")
                args.append(name)
                if made is not None:
                    made.append(at)
            if dying is not None:
                for tensor in dying:
                    where.pop(tensor, None)
            for index in flags[2]:
                if index < len(args) and args[index][0] == "f":
                    written.add(args[index])
            out = f"t{position}"
            step = _Step(node, op.forward, [out], args)
            read_last = last_use[out] = last[position]
            if read_last >= 0:
                where[node] = position
            if saving and node in saving:               # it saves a value for its gradient op
                name = "s" + out[1:]
                step.outs.append(name)
                step.kernel = op.forward_saving
                saved[saving[node]] = name
                last_use[name] = saved_read[node]
            if saved_by and node in saved_by:           # it takes its forward op's saved value
                name = saved.pop(node)
                args.insert(0, name)
                step.kernel = op.forward_saved
                last_use[name] = position
                unused = (name,) if unused is None else unused + (name,)
            elif flags[1] and node.shape:               # (not a scalar)
                shape, dtype = node.shape, node.dtype
                for index in flags[1]:
                    at, tensor = made[index], node.inputs[index]
                    if at >= 0 and fresh[at] and uses[at] == 1 and tensor.shape == shape and \
                            (tensor.dtype is dtype or tensor.dtype == dtype) and \
                            (None not in shape or _surely_same_shape(node, tensor)):
                        step.into = args[index]
                        break
            if flags[0]:
                fresh[position] = 1
            if unused is not None:
                step.dead = unused if len(unused) == 1 else tuple(sorted(set(unused)))
            steps.append(step)
            if len(steps) == size:
                yield steps, globals_, last_use, position + 1
                steps, globals_, last_use, start = [], {}, {}, position + 1
        elif kind is _CONSTANT and last[position] >= 0:
            where[node] = -position - 1
    if steps or size is None:
        yield steps, globals_, last_use, len(order)


_IN_PLACE = {}                          # op class -> (fresh, inplace), as the class says


BATCH_MINOR_COLUMNS = 16     # products with at most this many columns (and a batch of rows)
_BATCH_MINOR = {}            # op class -> whether it has a forward_batch_minor


def _lay_out_batch_minor(steps, column_major):
    """Lay the (batch, few columns) products out column after column (``MatMul``'s
    ``forward_batch_minor``), and add to ``column_major`` (the names found so far) the
    values that may then be Fortran-ordered: those products and what elementwise ops make
    from them. Every kernel takes any layout (a caller may feed one), so values do not
    change; a fetched one is handed back in C order."""
    batch_minor = _BATCH_MINOR
    for step in steps:
        node, op = step.node, step.node.operation
        shape, cls = node.shape, type(op)
        laid_out = batch_minor.get(cls)
        if laid_out is None:
            laid_out = batch_minor[cls] = hasattr(cls, "forward_batch_minor")
        if laid_out and step.kernel is step.plain and \
                len(shape) == 2 and shape[0] is None and shape[1] is not None and \
                1 < shape[1] <= BATCH_MINOR_COLUMNS and node.dtype.kind == "f" and \
                all(len(i.shape) == 2 for i in node.inputs):
            step.kernel = op.forward_batch_minor
            step.inline = op.inline_batch_minor(step.args)
            column_major.add(step.outs[0])
        elif column_major and shape and not column_major.isdisjoint(step.args):
            column_major.update(step.outs)


FUSED_UPDATE_BYTES = 1 << 16   # a weight at least this big: its update and product, one GEMM


def _fuse_product_updates(steps, kept):
    """Run each folded SGD update ``W -= g`` whose gradient ``g = op(a) @ op(b)`` it alone
    reads (a weight's gradient, never fetched) as one GEMM that subtracts the product from W
    as it makes it (``ApplySGD.inline_product``), at the update's place: the product's step
    goes, and its operands live until the update. Not where an operand may be W's memory
    (the GEMM would read what it writes), nor where an update between the two may write
    what an operand may be (the operand would change before it is read), nor for a small
    weight, where the pass saved is worth less than calling BLAS through ctypes (measured:
    W1's step 19.6 us with its 2x4 and 4x1 updates as they are, 38.4 us fused), nor where
    numpy's BLAS cannot be called (``kernels.FUSED_GEMM``). ``steps`` are the
    whole plan (every read of ``g`` is among them). A guard that checks ``g`` before the
    updates (``fit()``'s) may read it too: it then checks the product from its operands
    (``CheckFinite.forward_with_products``), making it only when they do not show it finite."""
    if not FUSED_GEMM:
        return
    made, reads, guards = {}, collections.Counter(), {}
    for index, step in enumerate(steps):
        for out in step.outs:
            made[out] = index
        reads.update(step.args)
        if getattr(step.node.operation, "guard", False) and step.kernel is step.plain and \
                hasattr(step.node.operation, "forward_with_products"):
            for name in step.args[1:]:
                guards.setdefault(name, index)
    gone, checked = set(), {}       # checked: guard's index -> {g: its product's MatMul flags}
    for index, step in enumerate(steps):
        fused = getattr(step.node.operation, "inline_product", None)
        if fused is None or step.kernel is not step.plain or len(step.args) < 2:
            continue
        w, g = step.args[:2]
        at = made.get(g)
        if at is None or w[0] != "c" or g in kept:
            continue
        guard = guards.get(g) if reads[g] == 2 else None
        if reads[g] != 1 and not (guard is not None and at < guard < index and
                                  steps[guard].args.count(g) == 1 and
                                  steps[guard].args[0] != g):
            continue
        product = steps[at]
        op = product.node.operation
        if not _a_weight_s_product(product, step.node.inputs[0].dtype):
            continue
        operands = product.args
        memory = _memory_of(operands, steps, made)
        if w in memory or any(
                later.into in memory or any(later.args[i] in memory for i in
                                            type(later.node.operation).writes
                                            if i < len(later.args))
                for later in steps[at + 1:index]):
            continue
        fused = fused([w, *operands], (op.transpose_a, op.transpose_b))
        if fused is None:
            continue
        # the operands now die at the update, no sooner
        dead = [name for name in step.dead if name != g]
        for earlier in steps[at:index]:
            if earlier.dead and not set(operands).isdisjoint(earlier.dead):
                dead += [name for name in earlier.dead if name in operands]
                earlier.dead = tuple(name for name in earlier.dead if name not in operands)
        step.kernel, step.inline = fused
        step.args = [w, *operands]
        step.dead = tuple(sorted(set(dead)))
        gone.add(at)
        if guard is not None:
            checked.setdefault(guard, {})[g] = (operands, (op.transpose_a, op.transpose_b))
    for index, products in checked.items():     # each such guard reads operands instead
        guard = steps[index]
        args, layout = [], []
        for name in guard.args:
            operands, flags = products.get(name, (None, None))
            layout.append(flags)
            args += [name] if operands is None else operands
        guard.kernel = guard.node.operation.forward_with_products(layout)
        guard.args = args
    if gone:
        steps[:] = [step for index, step in enumerate(steps) if index not in gone]


def _a_weight_s_product(product, dtype):
    """Whether the step ``product`` is a plain 2-D MatMul of a static shape, at least
    ``FUSED_UPDATE_BYTES`` big, of operands of the float ``dtype`` (a weight's)."""
    node = product.node
    shape = node.shape
    return isinstance(node.operation, MatMul) and len(shape) == 2 and None not in shape and \
        math.prod(shape) * dtype.itemsize >= FUSED_UPDATE_BYTES and dtype.kind == "f" and \
        node.dtype == dtype and all(len(i.shape) == 2 and i.dtype == dtype
                                    for i in node.inputs) and \
        product.kernel is product.plain and product.inline is None and \
        product.into is None and not product.copy


def _memory_of(names, steps, made):
    """The names whose arrays the values ``names`` may be: themselves and, back through
    steps that may make views, what those view."""
    stack, found = list(names), set()
    while stack:
        name = stack.pop()
        if name in found:
            continue
        found.add(name)
        at = made.get(name)
        if at is not None:
            stack += _viewed(steps[at].node.operation, steps[at].args)
    return found


BUFFER_BYTES = 1 << 16          # a temporary at least this big gets a buffer the plan keeps
ROW_BYTES = 1 << 10             # ... and a product of a batch of rows at least this wide


def _keep_buffers(steps, kept, roots, leaving=None):
    """Give each big temporary of a static shape (a weight's gradient, say) a buffer the plan
    allocates once and its kernel writes into on every run (``out=``), as a careful numpy step
    preallocates (what a step allocates is then the same from run to run). Only for a
    kernel that takes any ``out=`` (a ufunc, a MatMul), and a value that never leaves the run:
    neither it, nor a view of it, nor what an op writes into it is fetched. Returns the
    buffers by name.

    ``roots`` (name -> the chosen outputs whose memory it may share) carries on from the
    plan's earlier segments; ``leaving``, for a plan made a segment at a time, gives the
    Tensors that may share a fetch's memory (found before the fetches are made); None: the
    steps are the whole plan, and what the fetches share is found exactly, at its end."""
    chosen = []
    for step in steps:          # one pass: what each value may share, as it is made
        shared = set(roots.get(step.into, ())) if roots else None
        if roots and (step.node.operation.views or len(step.outs) > 1):  # a view, or saved
            for arg in step.args if len(step.outs) > 1 else \
                    _viewed(step.node.operation, step.args):
                shared.update(roots.get(arg, ()))
        if shared:
            for out in step.outs:
                roots[out] = shared
        elif step.into is None and _wants_buffer(step):
            chosen.append(step)
            roots[step.outs[0]] = {step.outs[0]}
    if not chosen:
        return {}
    if leaving is None:
        leaving = {root for name in kept for root in roots.get(name, ())}
        chosen = [step for step in chosen if step.outs[0] not in leaving]
    else:
        leaving = leaving()
        chosen = [step for step in chosen if step.node not in leaving]
    buffers = {}
    for step in chosen:
        name, node = "_buffer" + step.outs[0][1:], step.node
        if None in node.shape:
            buffers[name] = [np.empty((0, 0), node.dtype)]     # made by the first run
            step.grow = name
        else:
            buffers[name] = np.empty(node.shape, node.dtype)
            step.into = name
    return buffers


def _wants_buffer(step):
    """Whether ``step``'s output is a temporary that a kept buffer would serve (see above)."""
    node, op = step.node, step.node.operation
    shape = node.shape
    if step.into is not None or step.kernel is not step.plain or len(step.outs) > 1 or \
            not shape or not (isinstance(step.kernel, np.ufunc) or
                              type(op).__dict__.get("takes_out")):
        return False
    if None in shape:           # a product of a batch of rows: a buffer of the last run's shape
        # (only a 2-D MatMul: numpy checks its out's shape exactly, where a ufunc would
        # broadcast a smaller batch into a bigger buffer)
        row = math.prod(d for d in shape if d is not None) * node.dtype.itemsize
        return isinstance(op, MatMul) and step.inline is None and row >= ROW_BYTES and \
            len(shape) == 2 and all(len(i.shape) == 2 for i in node.inputs)
    return math.prod(shape) * node.dtype.itemsize >= BUFFER_BYTES


def _c_order(value):
    """``value`` as a C-ordered array (itself when it is one, or not an array)."""
    if type(value) is np.ndarray and not value.flags.c_contiguous:
        return value.copy()
    return value


def _surely_same_shape(node, inp):
    """Whether ``inp`` surely has ``node``'s shape at run time (static shapes may hold None)."""
    if inp.shape != node.shape:
        return False
    if not node.operation.broadcasts:
        return True                             # elementwise without broadcasting
    for axis, dim in enumerate(inp.shape):
        if dim is None:                         # unknown: safe if no other input stretches it
            offset = axis - len(inp.shape)
            for other in node.inputs:
                if other is not inp and len(other.shape) >= -offset and other.shape[offset] != 1:
                    return False
    return True


@dataclasses.dataclass
class ProfileRow:
    """One op's share of a profiled step."""
    name: str
    op: str
    seconds: float          # per step
    share: float            # of the step's kernel time


class Profile:
    """Per-op times of a plan, slowest first: ``rows``, ``total`` (seconds per step), and a
    table when printed."""

    def __init__(self, timings, steps):
        total = sum(timings.values()) or 1e-300
        self.total = sum(timings.values()) / max(steps, 1)
        self.rows = sorted((ProfileRow(node.name, node.op, seconds / max(steps, 1),
                                       seconds / total) for node, seconds in timings.items()),
                           key=lambda row: -row.seconds)

    def by_type(self):
        """Seconds per step for each op type, slowest first."""
        totals = {}
        for row in self.rows:
            totals[row.op] = totals.get(row.op, 0.0) + row.seconds
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def __str__(self):
        width = max([len(row.name) for row in self.rows] + [4])
        lines = [f"{'op':26s} {'name':{width}s} {'time':>10s} {'share':>6s}"]
        for row in self.rows:
            lines.append(f"{row.op:26s} {row.name:{width}s} {_micro(row.seconds):>10s} "
                         f"{row.share:6.1%}")
        lines.append(f"{'total':26s} {'':{width}s} {_micro(self.total):>10s}")
        return "\n".join(lines)


def _micro(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def _plan_order(graph, fetches, fed):
    """The Tensors ``fetches`` need (``fed`` ones as leaves), inputs before users: in a
    depth-first order, or, in a big graph of which they are much, in the order the graph
    made them (see ``ancestors_in_order``)."""
    return ancestors_in_order(fetches, stop=fed)


def _run_order(order):
    """``order`` with the stateful ops, and all that depends on them, moved to the end, so
    that every op reading a Variable runs before any update changes it in place; guards
    (checks that may stop the step) go first among them, so that a failed check leaves the
    Variables untouched."""
    if not any(node.operation.stateful for node in order):
        return order                            # nothing to move (guards are stateful too)
    late = set()
    for node in order:
        if node.operation.stateful or any(i in late for i in node.inputs):
            late.add(node)
    guards = [n for n in order if getattr(n.operation, "guard", False) and
              not any(i in late for i in n.inputs)]
    return [n for n in order if n not in late] + guards + \
        [n for n in order if n in late and n not in guards]


def _missing_feed_message(placeholder, fetches):
    needed_by = ", ".join(repr(t.name) for t in fetches
                          if placeholder in set(topological_order([t])))
    return (f"placeholder {placeholder.name!r} (shape {format_shape(placeholder.shape)}, "
            f"dtype {placeholder.dtype}) must be fed: add it to feed_dict "
            f"(needed to compute {needed_by})")


def _converter(tensor):
    """A function that turns a fed value into an array of ``tensor``'s dtype and shape."""
    dtype, shape, ndim = tensor.dtype, tensor.shape, len(tensor.shape)
    pattern = tuple(shape)
    what = "placeholder" if isinstance(tensor.operation, Placeholder) else "tensor"

    accepted = [pattern]                # the last shape that fitted: repeats cost one comparison

    def convert(value):
        if type(value) is not np.ndarray or value.dtype != dtype:
            value = _as_array(value, tensor, what)
        actual = value.shape
        if actual != accepted[0]:
            if len(actual) != ndim or any(d is not None and d != n
                                          for d, n in zip(pattern, actual)):
                raise FeedError(f"cannot feed a value of shape {format_shape(actual)} into "
                                f"{what} {tensor.name!r} of shape {format_shape(shape)}")
            accepted[0] = actual
        return value
    convert.dtype, convert.accepted = dtype, accepted
    return convert


def _as_array(value, tensor, what):
    if isinstance(value, Tensor):
        raise FeedError(f"cannot feed {what} {tensor.name!r}: the value is a Tensor "
                        f"({value.name!r}) where an array was expected; feed the array that "
                        f"Session.run returns for it")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise FeedError(f"cannot feed {what} {tensor.name!r} (dtype {tensor.dtype}): "
                        f"{error}") from None
    source, target = array.dtype, tensor.dtype
    if source.kind not in "biuf" or (source.kind == "f" and target.kind in "iub"):
        raise FeedError(f"cannot feed a value of dtype {array.dtype} into {what} "
                        f"{tensor.name!r} of dtype {tensor.dtype}")
    problem = out_of_range(array, target)
    if problem:
        raise FeedError(f"cannot feed {what} {tensor.name!r} ({target}) {problem}")
    return array.astype(target, copy=False)


def _naming(error, node, empty=()):
    """``error`` again, its message prefixed with the op that raised it and its inputs (and
    followed by the ``(tensor, shape)`` feeds that had no rows, for an empty batch)."""
    inputs = ", ".join(f"{t.name!r} {format_shape(t.shape)}" for t in node.inputs)
    message = f"{node.op} op {node.name!r} (inputs {inputs}) failed: {error}"
    if empty:
        message += "; fed with no rows: " + ", ".join(f"{t.name!r} {format_shape(shape)}"
                                                      for t, shape in empty)
    try:
        named = type(error)(message)
    except Exception:               # an exception type that wants other arguments
        error.add_note(message)
        return error
    named.microflow_node = node
    return named


def _check_numerics(node, value):
    if value is None or value.dtype.kind not in "fc" or np.isfinite(value).all():
        return
    kind = "NaN" if np.isnan(value).any() else "Inf"
    inputs = ", ".join(repr(t.name) for t in node.inputs)
    raise NumericsError(f"{node.op} op {node.name!r} produced {kind} from inputs ({inputs}); "
                        "try a lower learning rate, or check the inputs' values")


def _flatten(fetches):
    """A flat tuple of the Tensors in ``fetches``, and a function that rebuilds the same
    structure around their values."""
    if type(fetches) in (list, tuple) and all(isinstance(t, Tensor) for t in fetches):
        return tuple(fetches), type(fetches)
    flat = []

    def collect(item):
        if isinstance(item, Tensor):
            flat.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                collect(value)
        elif isinstance(item, list | tuple):
            for value in item:
                collect(value)
        else:
            raise TypeError(f"cannot fetch {item!r}: fetches must be Tensors, or lists, "
                            "tuples and dicts of them")
    collect(fetches)

    def rebuild(values):
        values = iter(values)

        def fill(item):
            if isinstance(item, Tensor):
                return next(values)
            if isinstance(item, dict):
                return {key: fill(value) for key, value in item.items()}
            filled = [fill(value) for value in item]
            return type(item)(*filled) if hasattr(item, "_fields") else type(item)(filled)
        return fill(fetches)
    return tuple(flat), rebuild


__all__ = ['Session', 'Plan', 'Profile', 'ProfileRow', 'CODEGEN_LIMIT', 'CHUNK_STEPS', 'MAX_PLANS']


def __dir__():
    return __all__
