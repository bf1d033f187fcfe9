"""`MLPClassifier`: this library's network as a scikit-learn estimator.

    from mnist_nn import MLPClassifier
    clf = MLPClassifier(random_state=0).fit(X, y)      # the seed design, on your data
    clf.predict(X_new), clf.predict_proba(X_new), clf.score(X_test, y_test)

The same network, training loop and optimizers as `python main.py` (nothing is reimplemented:
`fit` builds a `Trainer` and runs its loop), with scikit-learn's conventions: parameters stored
unchanged by `__init__`, checked in `fit`; learned attributes end in `_`; any number of features
and classes; labels of any kind (strings too). So it works in a `Pipeline`, `GridSearchCV` or
`cross_val_score`. Models are saved in the project's own format (`save`/`load`: `.npz` + JSON,
never pickle). Defaults are the seed design; `random_state=None` draws a seed, an int fixes it
(`MLPClassifier(random_state=0)` on MNIST ends at exactly the weights `python main.py` writes).
"""

import inspect
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from mnist_nn.config import TrainConfig, settings
from mnist_nn.data.dataset import Dataset, Split
from mnist_nn.errors import UserError, python_word
from mnist_nn.evaluate.calibration import calibrate, model_temperature
from mnist_nn.train.callbacks import ProgressBar
from mnist_nn.train.loop import Trainer

# The estimator's parameters are the settings it takes ("estimator" among their front ends), under
# scikit-learn's names where it has one for the same thing: this map is the only place they differ.
SCIKIT_LEARN_NAMES = {"hidden_sizes": "hidden_layer_sizes", "seed": "random_state"}


def estimator_word(name: str, value: str | None) -> str:
    """A setting named in a message as the estimator's parameters spell it: hidden_layer_sizes."""
    return python_word(SCIKIT_LEARN_NAMES.get(name, name), value)


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A multi-layer perceptron trained by this library's loop; defaults are the seed design.

    Parameters are the library's training settings (see `config.py`, or `mnist-nn train --help`)
    under scikit-learn's names where it has one: `hidden_layer_sizes` (the CLI's --hidden),
    `random_state` (--seed), `early_stopping` with `validation_fraction` and `n_iter_no_change`
    (--early-stopping with a validation split taken from the data given to `fit`).

    Attributes: `classes_`, `n_features_in_`, `loss_curve_` (training loss per epoch),
    `validation_scores_` (validation accuracy per epoch, with early stopping), `history_` (every
    epoch's record), `n_iter_` (epochs run), `coefs_` and `intercepts_` (each layer's W and b).
    """

    def __init__(self, **parameters):
        # The parameters are made from the declared settings (see `estimator_parameters`): a new
        # setting is a parameter with no change here. scikit-learn reads them from the signature.
        bound = SIGNATURE.bind(self, **parameters)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            if name != "self":
                setattr(self, name, value)

    # --- training -------------------------------------------------------------------------

    def fit(self, X, y):
        """Train for `epochs` epochs (more epochs on the same network with `warm_start`)."""
        X, y = validate_data(self, X, y, dtype=self.dtype, reset=not self._continuing())
        check_classification_targets(y)
        if not self._continuing():
            self.classes_ = np.unique(y)
            self._start(X.shape[1])
        config = self._trainer.config
        validation = None
        if self.early_stopping:
            X, X_val, y, y_val = self._validation_split(X, y, config.seed)
            validation = self._split(X_val, y_val)
        self._train(Dataset("arrays", "fit", self._split(X, y), None, validation,
                            classes=len(self.classes_)), epochs=config.epochs)  # fmt: skip
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing the same network; `classes` is needed the first
        time (all the labels there will ever be), as in scikit-learn."""
        first = _check_partial_fit_first_call(self, classes)
        X, y = validate_data(self, X, y, dtype=self.dtype, reset=first)
        check_classification_targets(y)
        if first:
            self._start(X.shape[1], early_stopping=False)  # no validation split per call
        self._train(Dataset("arrays", "partial_fit", self._split(X, y), None,
                            classes=len(self.classes_)), epochs=1)  # fmt: skip
        return self

    def _continuing(self) -> bool:
        return bool(self.warm_start) and hasattr(self, "_trainer")

    def _config(self, early_stopping: bool) -> TrainConfig:
        """The library's TrainConfig for these parameters, checked (a ValueError if not)."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, int | np.integer) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if not isinstance(sizes, list | tuple | np.ndarray) or not all(
            isinstance(size, int | np.integer) and not isinstance(size, bool) for size in sizes
        ):
            raise ValueError(
                f"hidden_layer_sizes: {sizes!r} is not a number of units or a list of them, "
                "e.g. 128 or (512, 256)"
            )
        hidden = tuple(sizes)
        if isinstance(self.random_state, int | np.integer):
            seed = int(self.random_state)  # random_state=0 is the seed run's --seed 0
        else:
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        given = {
            name: getattr(self, SCIKIT_LEARN_NAMES.get(name, name))
            for name in settings("estimator")
        }
        config = TrainConfig(
            **{**given, "hidden_sizes": tuple(int(size) for size in hidden), "seed": seed},
            early_stopping=int(self.n_iter_no_change) if early_stopping else 0,
        )
        try:
            return config.validated("estimator")
        except UserError as error:
            raise ValueError(error.worded(estimator_word)) from None

    def _start(self, n_features: int, early_stopping=None) -> None:
        """A new network (and optimizer, and generator) for these parameters."""
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs examples of at least two classes; got one class "
                f"({self.classes_[0]!r})"
            )
        stopping = self.early_stopping if early_stopping is None else early_stopping
        config = self._config(stopping)
        self._encoder = LabelEncoder().fit(self.classes_)
        callbacks = [ProgressBar(enabled=bool(self.verbose))]
        try:  # the trainer refuses augmentation of inputs that are not 28x28 images
            self._trainer = Trainer(config, n_features, len(self.classes_), callbacks)
        except UserError as error:
            raise ValueError(error.worded(estimator_word)) from None

    def _split(self, X, y) -> Split:
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(f"labels {unknown.tolist()} are not among classes_ {self.classes_}")
        return Split(np.ascontiguousarray(X), self._encoder.transform(y).astype(np.int64))

    def _validation_split(self, X, y, seed: int):
        """Hold `validation_fraction` of the data out for early stopping (stratified if it can)."""
        counts = np.unique(y, return_counts=True)[1]
        stratify = y if counts.min() >= 2 else None
        try:
            return train_test_split(
                X, y, test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        except ValueError as error:
            raise ValueError(
                f"early_stopping: cannot hold out a validation split ({error})"
            ) from None

    def _train(self, dataset: Dataset, epochs: int) -> None:
        trainer = self._trainer
        try:
            trainer.fit(dataset, epochs=epochs)
        except UserError as error:  # e.g. a diverging learning rate
            raise ValueError(error.worded(estimator_word)) from None
        finally:
            trainer.dataset = None  # keep no reference to the training data in the model
        self._set_learned_attributes()
        self.temperature_ = calibrate(trainer.network, dataset)["temperature"]

    def _set_learned_attributes(self) -> None:
        """The public learned attributes, from the trainer's state and network."""
        state, dense = self._trainer.state, self._trainer.network.weighted_layers()
        self.history_, self.n_iter_ = state.history, len(state.history)
        self.loss_curve_ = [record["train_loss"] for record in state.history]
        scores = [record["val_accuracy"] for record in state.history if "val_accuracy" in record]
        self.validation_scores_ = scores or None
        self.best_epoch_ = state.best_epoch
        self.coefs_ = [layer.weight for layer in dense]
        self.intercepts_ = [layer.bias for layer in dense]

    # --- using it ---------------------------------------------------------------------------

    def predict_proba(self, X):
        """(n_samples, n_classes) probabilities, columns in the order of `classes_`."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=self.dtype, reset=False)
        scores = self._trainer.network.scores(X)  # MSE: independent sigmoid outputs
        totals = scores.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):  # all outputs 0: no preference
            return np.where(totals > 0, scores / totals, 1.0 / scores.shape[1])

    def predict(self, X):
        probabilities = self.predict_proba(X)  # checks first that the model is fitted
        return self.classes_[probabilities.argmax(axis=1)]

    def read_digit(self, image) -> dict:
        """An image of one digit (a path or a file object) -> the answer `mnist-nn predict`
        gives: verdict ("digit", "unsure" or "not a digit"), digit, calibrated top 3. The
        image is framed like MNIST first, so the model must take 784 pixels."""
        from mnist_nn.reading.images import load_digit

        return self._reader().read(load_digit(image)[None, :])[0].to_dict()

    def read_number(self, image) -> dict:
        """An image of a number written on one line -> {"number": "2024", "digits": [...]},
        each digit with its box in the image, its reading and alternatives, as
        `mnist-nn predict --number` reads it."""
        from mnist_nn.reading.images import read_number

        return read_number(image, self._reader()).to_dict()

    def _reader(self):
        from mnist_nn.reading.reader import Reader

        check_is_fitted(self)
        temperature = getattr(self, "temperature_", 1.0)
        try:
            return Reader.for_network(self._trainer.network, temperature, self.classes_.tolist())
        except UserError as error:
            raise ValueError(str(error)) from None

    @property
    def network_(self):
        """The trained `Network` itself (layers, forward, backward), for a closer look."""
        check_is_fitted(self)
        return self._trainer.network

    # --- the project's model format ---------------------------------------------------------

    def save(self, path) -> None:
        """Write the fitted model as an mnist-nn model file (`.npz` + JSON, no pickle)."""
        from mnist_nn.saving.model_files import save_model

        check_is_fitted(self)
        params = {**self.get_params(), "random_state": self._trainer.config.seed}
        params["hidden_layer_sizes"] = list(self._trainer.config.hidden_sizes)
        metadata = {
            "dataset": "arrays",
            "calibration": {"temperature": getattr(self, "temperature_", 1.0)},
            "config": self._trainer.config.to_dict(),
            "history": self.history_,
            "estimator": {"params": params, "classes": self.classes_.tolist()},
        }
        save_model(Path(path), self._trainer.network, metadata)

    @classmethod
    def load(cls, path) -> "MLPClassifier":
        """A fitted estimator from a file written by `save` (predicts at once; with
        `warm_start`, `fit` goes on training from the stored weights)."""
        from mnist_nn.saving.model_files import load_model

        network, metadata = load_model(path)
        stored = metadata.get("estimator")
        if not isinstance(stored, dict):
            raise UserError(f"{path}: a model file, but not one written by MLPClassifier.save")
        params, classes = stored.get("params"), stored.get("classes")
        known = set(SIGNATURE.parameters) - {"self"}
        damaged = f"{path}: damaged estimator metadata"
        if not isinstance(params, dict) or not set(params) <= known:
            raise UserError(f"{damaged} (its parameters are not MLPClassifier's)")
        if not isinstance(classes, list) or len(classes) != network.sizes[-1]:
            raise UserError(f"{damaged} ({network.sizes[-1]} outputs, but not as many classes)")
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        try:
            estimator = cls(**params)
            estimator.classes_ = np.asarray(classes)
            estimator.n_features_in_ = network.sizes[0]
            estimator._start(network.sizes[0])
        except (ValueError, TypeError) as error:
            raise UserError(f"{damaged} ({error})") from None
        mine, saved = estimator._trainer.network.parameters(), network.parameters()
        pairs = list(zip(mine, saved, strict=False))
        if len(mine) != len(saved) or any(a.shape != b.shape for (a, _), (b, _) in pairs):
            raise UserError(f"{damaged} (its hidden_layer_sizes do not match the weights)")
        for (parameter, _), (saved, _) in pairs:
            parameter[...] = saved
        estimator._trainer.state.history = list(metadata.get("history") or [])
        estimator._set_learned_attributes()
        estimator.temperature_ = model_temperature(metadata) or 1.0
        return estimator


# scikit-learn's own parameters, which are not training settings of the library: early stopping
# on a fraction of the data given to `fit` (the library's --early-stopping and --val-size).
OWN_PARAMETERS = {
    "early_stopping": False,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
    "verbose": False,
    "warm_start": False,
}
# Where scikit-learn's default differs from the setting's: random_state=None draws a seed.
OWN_DEFAULTS = {"random_state": None}


def estimator_parameters(options=None) -> dict:
    """{name: default} of MLPClassifier's parameters: every setting the estimator takes, under
    scikit-learn's name where it has one (SCIKIT_LEARN_NAMES), then its own."""
    parameters = {}
    for name, option in settings("estimator", options).items():
        public = SCIKIT_LEARN_NAMES.get(name, name)
        parameters[public] = OWN_DEFAULTS.get(public, option.default)
    return {**parameters, **OWN_PARAMETERS}


SIGNATURE = inspect.Signature(
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in estimator_parameters().items()
    ]
)
MLPClassifier.__init__.__signature__ = SIGNATURE
