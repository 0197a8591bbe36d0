"""The benchmark (benchmarks/): its implementations agree, and the report writer runs.

Nothing here times anything worth reading: rounds are tiny, and speed is measured by
``python benchmarks/run.py``, never in tests.
"""

import numpy as np
import pytest

from benchmarks import implementations, report, run, timing
from benchmarks.workloads import WORKLOADS, Workload, chain

NUMPY_AND_MICROFLOW = ("careful", "textbook", "microflow")


@pytest.mark.parametrize("key", ["W1", "W2", "W4"])
def test_the_careful_textbook_and_microflow_steps_reach_the_same_loss(key):
    workload = WORKLOADS[key]
    builders = {n: implementations.IMPLEMENTATIONS[n] for n in NUMPY_AND_MICROFLOW}
    losses = timing.check_losses(workload, builders, "careful", steps=4)
    assert set(losses) == set(NUMPY_AND_MICROFLOW)
    assert losses["careful"] == pytest.approx(losses["microflow"], rel=1e-5)


def test_the_weights_drawn_a_few_rows_at_a_time_are_those_of_one_draw():
    workload = WORKLOADS["W4"]                  # 784 rows: drawn in several parts
    rng = np.random.default_rng(1)
    expected = []
    for fan_in, fan_out in zip(workload.sizes[:-1], workload.sizes[1:]):
        limit = np.sqrt(6 / (fan_in + fan_out))
        expected += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(workload.dtype),
                     np.zeros(fan_out, workload.dtype)]
    for got, want in zip(workload.weights(), expected, strict=True):
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_microflows_peak_memory_is_within_a_tenth_of_the_careful_steps():
    # Its builder draws the weights again after its first step: as a second set beside the
    # Variables (with a float64 copy of the largest), its peak was 1.21x the careful step's
    # (W3), 1.3x on W4; drawn into the Variables' arrays, its peak is the step's.
    workload = WORKLOADS["W4"]
    careful = timing.peak_memory(implementations.careful, workload)
    assert timing.peak_memory(implementations.microflow, workload) <= 1.1 * careful


def test_the_careful_step_updates_the_weights_like_the_textbook_step():
    workload = WORKLOADS["W2"]
    careful_step, careful_params = implementations.careful(workload)
    textbook_step, textbook_params = implementations.textbook(workload)
    for _ in range(3):
        careful_step()
        textbook_step()
    for a, b in zip(careful_params, textbook_params):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_a_loss_that_differs_is_reported_with_the_implementation_named():
    workload = WORKLOADS["W1"]

    def off(w):
        step, params = implementations.careful(w)
        return (lambda: step() + 1.0), params
    with pytest.raises(timing.LossMismatch, match=r"W1: after 2 steps the losses of off differ"):
        timing.check_losses(workload, {"careful": implementations.careful, "off": off},
                            "careful", steps=2)


def test_interleaved_returns_a_median_per_step_from_every_round():
    calls = {"a": 0, "b": 0}

    def counter(name):
        def step():
            calls[name] += 1
        return step
    result = timing.interleaved({"a": counter("a"), "b": counter("b")}, seconds=0.003, rounds=4)
    assert set(result) == {"a", "b"}
    assert all(len(r["samples"]) == 4 and r["median"] > 0 for r in result.values())
    assert calls["a"] > 4 and calls["b"] > 4


def test_paired_ratios_take_the_median_of_the_ratios_of_each_round():
    measured = {"base": {"samples": [1.0, 2.0, 4.0]}, "other": {"samples": [2.0, 2.0, 12.0]}}
    assert timing.paired_ratios(measured, "base") == {"base": 1.0, "other": 2.0}


def test_the_writer_makes_the_page_and_the_plot_in_images(tmp_path):
    rows, figures, fits = run.main(["W1", "W2", "--seconds", "0.002", "--rounds", "1", "--chains", "200",
                              "--only", *NUMPY_AND_MICROFLOW, "--docs", str(tmp_path)])
    text = (tmp_path / "performance.md").read_text(encoding="utf-8")
    assert (tmp_path / "images" / "performance.png").read_bytes()[:4] == b"\x89PNG"
    assert "![step time relative to the careful numpy step](images/performance.png)" in text
    assert "<!-- bench:" not in text
    assert "| W1 | " in text and "| W2 | " in text
    assert "| 200 | " in text                               # the scaling row
    assert "feed = {x: np.random.rand(128, 784)" in text    # the code sample, braces intact
    assert figures[0]["n"] == 200 and figures[0]["nodes"] > 200
    assert fits and fits[0]["steps"] == 30 and fits[0]["fit"] > 0
    assert "| W2 | 100 | 30 | " in text                      # the fit row


def test_render_names_a_marker_without_a_block_and_leaves_braces_alone():
    assert report.render("a {x} <!-- bench:t --> b", {"t": "T"}) == "a {x} T b"
    with pytest.raises(KeyError, match=r"markers without a block: \['t'\]"):
        report.render("<!-- bench:t -->", {})
    with pytest.raises(KeyError, match=r"blocks without a marker: \['u'\]"):
        report.render("", {"u": "U"})


def test_a_workload_with_its_own_steps_is_pluggable():
    def step_builder(w):
        return (lambda: 1.0), []
    custom = Workload("W9", "a custom step", (1, 1), "relu", "softmax", 1, "float64", 0.1,
                      steps={"careful": step_builder, "microflow": step_builder})
    assert set(implementations.builders(custom)) == {"careful", "microflow"}
    row = run.bench(custom, ["careful", "microflow"], seconds=0.001, rounds=1, memory=False)
    assert set(row["times"]) == {"careful", "microflow"}


def test_the_chain_has_the_asked_number_of_forward_ops():
    graph, x, loss = chain(11)
    assert len([t for t in graph.tensors if t.op in ("Tanh", "Mul")]) == 10
