"""CheckFinite tests its small inputs together, exactly, and every other input with one sum, which
only screens: finite entries whose sum overflows still pass, and a NaN or Inf anywhere is still
named."""

import numpy as np
import pytest

import microflow as mf
from microflow.core.errors import NumericsError
from microflow.core.ops.base import apply
from microflow.core.ops.state import CheckFinite


def guard(*values):
    tensors = [mf.constant(np.asarray(v, dtype="float64")) for v in values]
    labels = [f"input {i}" for i in range(1, len(values))]
    return apply(CheckFinite("the loss is not finite", labels=labels), tensors)


# The screening sum may warn (overflow, inf - inf) where it fails; fit() runs under errstate.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_finite_entries_whose_sum_overflows_pass():
    big = np.full(4, 1e308)
    assert mf.Session().run(guard(1.0, big, -big)) == 1.0


@pytest.mark.parametrize("bad, message", [(np.nan, "input 2 is not finite"),
                                          (np.inf, "input 2 is not finite"),
                                          (-np.inf, "input 2 is not finite")])
def test_a_nan_or_inf_in_any_input_is_named(bad, message):
    with pytest.raises(NumericsError, match=message):
        mf.Session().run(guard(1.0, [1.0, 2.0], [3.0, bad]))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_infinities_of_both_signs_do_not_cancel():
    with pytest.raises(NumericsError, match="input 1 is not finite"):
        mf.Session().run(guard(0.0, [np.inf, -np.inf]))


def test_a_non_finite_loss_is_named_first():
    with pytest.raises(NumericsError, match="the loss is not finite"):
        mf.Session().run(guard(np.nan, [np.inf]))



def mixed_guard(bad):
    """A guard over a scalar, a small and a large constant and a fed vector of unknown length
    (screened in one sum, the others one by one), with an Inf in input ``bad`` (None: none);
    and its feed."""
    values = [np.ones(()), np.ones(3), np.ones(5000), np.ones(7)]
    if bad is not None:
        values[bad].flat[-1] = np.inf
    fed = mf.placeholder((None,), dtype="float64", name="fed")
    tensors = [mf.constant(v) for v in values[:3]] + [fed]
    labels = [f"input {i}" for i in range(1, 4)]
    return apply(CheckFinite("the loss is not finite", labels=labels), tensors), {fed: values[3]}


@pytest.mark.parametrize("limit", [None, 0], ids=["generated", "interpreted"])
@pytest.mark.parametrize("bad, message", [(0, "the loss"), (1, "input 1"), (2, "input 2"),
                                          (3, "input 3")])
def test_inputs_small_large_and_of_unknown_shape_are_all_checked(bad, message, limit,
                                                                 monkeypatch):
    from microflow.core import session
    if limit is not None:
        monkeypatch.setattr(session, "CODEGEN_LIMIT", limit)
    assert mf.Session().run(*mixed_guard(None)) == 1.0
    with pytest.raises(NumericsError, match=f"{message} is not finite"):
        mf.Session().run(*mixed_guard(bad))


@pytest.mark.parametrize("kind", ["float32", "mixed dtypes", "not contiguous", "many entries"])
def test_small_inputs_screened_together_still_name_a_nan(kind):
    dtypes = {"float32": ("float32", "float32"), "mixed dtypes": ("float32", "float64")}
    first, second = dtypes.get(kind, ("float64", "float64"))
    size = 1000 if kind == "many entries" else 6           # summed by numpy, or by Python
    a = mf.constant(np.ones(size, first))
    b = mf.constant(np.ones((3, 2), second))
    if kind == "not contiguous":
        b = mf.transpose(b)                                 # a view: its bytes are not in order
    bad = np.ones((3, 2), second)
    bad[1, 0] = np.nan
    fed = mf.placeholder((), dtype="float64", name="loss")
    checked = apply(CheckFinite("the loss is not finite", labels=["a", "b", "c"]),
                    [fed, a, b, mf.transpose(mf.constant(bad)) if kind == "not contiguous"
                     else mf.constant(bad)])
    sess = mf.Session()
    with pytest.raises(NumericsError, match="c is not finite"):
        sess.run(checked, {fed: 1.0})
    clean = apply(CheckFinite("the loss is not finite", labels=["a", "b"]), [fed, a, b])
    assert sess.run(clean, {fed: 2.0}) == 2.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_small_inputs_bit_test_agrees_with_isfinite_on_every_kind_of_number(dtype):
    from microflow.core.ops.state import _CODES, _finite_test
    dtype = np.dtype(dtype)
    unsigned = np.dtype(f"u{dtype.itemsize}")
    rng = np.random.default_rng(0)
    info = np.finfo(dtype)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, info.max, -info.max,
                        info.tiny, info.smallest_subnormal, 1.0], dtype)
    # random bit patterns, a quarter of them with every exponent bit set (NaNs with any
    # payload, the infinities), and the special numbers in every position
    bits = rng.integers(0, np.iinfo(unsigned).max, (3000, 3), dtype=unsigned, endpoint=True)
    exponent = special[2:3].view(unsigned)[0]
    bits[::4, rng.integers(0, 3)] |= exponent
    values = np.concatenate([bits.view(dtype), rng.choice(special, (3000, 3))])
    test = _finite_test(_CODES[dtype], 3 * dtype.itemsize)
    for row in values:
        pair, single = row[:2].copy(), row[2:].reshape(()).copy()
        assert test((pair, single)) == bool(np.isfinite(row).all()), row
    # not contiguous, or another size than planned: the sum of all entries
    assert test((np.ones(4, dtype)[::2], np.ones((), dtype)))
    assert not test((np.array([np.inf, 1.0], dtype)[::-1], np.ones((), dtype)))
    assert not test((np.ones(2, dtype), np.full((), np.nan, dtype), np.ones(1, dtype)))


@pytest.mark.parametrize("entries", [200, 1000])       # past the bit test: numpy's sum
def test_many_small_entries_together_are_tested_by_a_sum_of_their_bytes(entries):
    from microflow.core.ops.state import _BIT_TEST, _finite_test
    test = _finite_test("d", entries * 8 + 8)
    assert entries * 8 > _BIT_TEST
    values = np.linspace(-1e300, 1e300, entries)
    assert test((values, np.ones(())))
    for bad in (np.nan, np.inf, -np.inf):
        spoiled = values.copy()
        spoiled[entries // 3] = bad
        assert not test((spoiled, np.ones(())))
        assert not test((values, np.full((), bad)))


def test_a_large_input_is_screened_by_blas_in_any_layout():
    from microflow.core.ops.state import _screening_sum
    rng = np.random.default_rng(0)
    for array in (rng.standard_normal((300, 40)), np.asfortranarray(rng.standard_normal((30, 7))),
                  rng.standard_normal((4, 5, 6)).astype(np.float32),
                  rng.standard_normal((8, 9))[:, ::2], rng.standard_normal(50)):
        assert _screening_sum(array) == pytest.approx(float(array.sum()), rel=1e-5, abs=1e-9)
        spoiled = array.copy(order="K")
        spoiled.flat[7] = np.nan
        assert not np.isfinite(_screening_sum(spoiled))
