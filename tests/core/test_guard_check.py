"""CheckFinite tests every input with one sum each; the sum only screens: finite entries whose sum
overflows still pass, and a NaN or Inf anywhere is still named."""

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
