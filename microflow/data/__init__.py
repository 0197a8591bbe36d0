"""Data: preprocessing (``mf.data``: standardize, splits, minibatches, one-hot), the datasets
(``mf.datasets``) and model selection (``mf.model_selection``: k-fold, searches)."""

from microflow.data import datasets, model_selection, preprocessing
from microflow.data.preprocessing import (Standardizer, minibatches, one_hot, standardize,
                                          train_test_split)

__all__ = ["datasets", "model_selection", "preprocessing", "Standardizer", "minibatches",
           "one_hot", "standardize", "train_test_split"]


def __dir__():
    return __all__
