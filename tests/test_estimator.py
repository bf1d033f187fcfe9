"""MLPClassifier: a scikit-learn estimator over the library's own network and loop."""

import hashlib
import json
import re

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mnist_nn import MLPClassifier
from mnist_nn.errors import UserError

from helpers import seed_weights_sha256

FAST = {"activation": "relu", "loss": "cross_entropy", "optimizer": "momentum"}


def expected_failures(estimator) -> dict:
    """Checks MLPClassifier is known not to pass, with the reason (none so far)."""
    return {}


@parametrize_with_checks([MLPClassifier()], expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)


def test_learns_digits_in_a_pipeline_and_cross_validates(digits):
    X_train, X_test, y_train, y_test = digits
    model = make_pipeline(
        StandardScaler(), MLPClassifier(**FAST, learning_rate=0.001, random_state=0)
    )
    assert model.fit(X_train, y_train).score(X_test, y_test) > 0.95
    scores = cross_val_score(
        MLPClassifier(**FAST, learning_rate=0.001, random_state=0), X_train, y_train, cv=3
    )
    assert len(scores) == 3 and scores.min() > 0.9


def test_grid_search_on_a_tabular_set():
    X, y = load_breast_cancer(return_X_y=True)
    search = GridSearchCV(
        make_pipeline(MinMaxScaler(), MLPClassifier(**FAST, random_state=0, epochs=10)),
        {
            "mlpclassifier__learning_rate": [0.0001, 0.001],
            "mlpclassifier__hidden_layer_sizes": [(16,), (32, 16)],
        },
        cv=3,
    )
    search.fit(X, y)
    assert search.best_score_ > 0.9 and len(search.cv_results_["params"]) == 4


def test_string_labels_any_number_of_classes_and_learned_attributes(digits):
    X_train, X_test, y_train, y_test = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    keep = y_train < 3  # three classes, 64 features
    model = MLPClassifier(**FAST, learning_rate=0.001, random_state=0, epochs=5)
    model.fit(X_train[keep], names[y_train[keep]])
    assert list(model.classes_) == ["one", "two", "zero"]
    assert set(model.predict(X_test[y_test < 3])) <= {"zero", "one", "two"}
    assert model.predict_proba(X_test[:4]).shape == (4, 3)
    assert model.n_features_in_ == 64 and model.n_iter_ == 5 and len(model.loss_curve_) == 5
    assert [w.shape for w in model.coefs_] == [(64, 128), (128, 3)]
    assert [b.shape for b in model.intercepts_] == [(128,), (3,)]
    assert model.validation_scores_ is None and len(model.history_) == 5


def test_partial_fit_and_warm_start_continue_the_same_run(digits):
    X, _, y, _ = digits
    two_epochs = MLPClassifier(random_state=0, epochs=2).fit(X, y)
    stepwise = MLPClassifier(random_state=0, epochs=2)
    stepwise.partial_fit(X, y, classes=np.arange(10)).partial_fit(X, y)
    warm = MLPClassifier(random_state=0, epochs=1, warm_start=True).fit(X, y).fit(X, y)
    assert stepwise.n_iter_ == warm.n_iter_ == 2
    for other in (stepwise, warm):
        for a, b in zip(two_epochs.coefs_, other.coefs_, strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)


def test_early_stopping_holds_out_a_validation_split(digits):
    X, _, y, _ = digits
    model = MLPClassifier(**FAST, learning_rate=0.001, random_state=0, epochs=40,
                          early_stopping=True, n_iter_no_change=2).fit(X, y)  # fmt: skip
    assert len(model.validation_scores_) == model.n_iter_ < 40
    assert max(model.validation_scores_) == model.validation_scores_[model.best_epoch_ - 1]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"augment_shift": 2}, "augmentation moves the pixels of 28x28 images or of lines, so X"),
        ({"learning_rate": -1}, "learning_rate: -1 is not a number above 0"),
        ({"activation": "no-such-activation"}, "activation: 'no-such-activation' is not one"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes: 0 is not a whole number from 1"),
    ],
)
def test_bad_parameters_are_one_line_value_errors(digits, params, message):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**params).fit(X, y)


def test_saves_and_loads_through_the_model_format(tmp_path, digits):
    X_train, X_test, y_train, _ = digits
    labels = np.array(list("abcdefghij"))[y_train]
    model = MLPClassifier(**FAST, learning_rate=0.001, random_state=3, epochs=3).fit(
        X_train, labels
    )
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:  # no pickle inside
        assert "metadata" in archive.files
    loaded = MLPClassifier.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    assert list(loaded.predict(X_test[:5])) == list(model.predict(X_test[:5]))
    assert loaded.get_params() == {**model.get_params(), "hidden_layer_sizes": (128,)}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda stored: stored.update(params=["x"]), "its parameters are not MLPClassifier's"),
        (lambda stored: stored["params"].update(colour="red"), "not MLPClassifier's"),
        (lambda stored: stored.update(classes=[1, 2]), "10 outputs, but not as many classes"),
        (lambda stored: stored["params"].update(hidden_layer_sizes=[64]), "do not match"),
        (lambda stored: stored["params"].update(hidden_layer_sizes=None), "hidden_layer_sizes"),
        (lambda stored: stored["params"].update(learning_rate=-1), "learning_rate: -1"),
    ],
)
def test_a_crafted_estimator_file_is_refused_in_one_line(tmp_path, digits, change, message):
    from mnist_nn.saving.model_files import read_arrays

    X_train, _, y_train, _ = digits
    MLPClassifier(**FAST, random_state=0, epochs=1).fit(X_train, y_train).save(tmp_path / "m.npz")
    arrays = read_arrays(tmp_path / "m.npz")
    metadata = json.loads(str(arrays["metadata"]))
    change(metadata["estimator"])
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(UserError, match=re.escape(message)) as refused:
        MLPClassifier.load(tmp_path / "m.npz")
    assert "\n" not in str(refused.value)


def test_hidden_layer_sizes_of_the_wrong_kind_is_a_value_error(digits):
    X_train, _, y_train, _ = digits
    for sizes in (None, "128", 1.5, True):
        with pytest.raises(ValueError, match="is not a number of units or a list of them"):
            MLPClassifier(hidden_layer_sizes=sizes).fit(X_train, y_train)


@pytest.mark.slow
def test_ends_at_exactly_the_weights_python_main_py_writes(mnist_dir, monkeypatch):
    """MNIST's training images as float32 / 255 and their labels: the seed run, bit for bit."""
    from mnist_nn.data.sources import load_mnist_arrays

    expected = seed_weights_sha256()  # (first: skips before training on an unknown kernel)
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    arrays, _ = load_mnist_arrays()
    X = np.asarray(arrays["train_images"]).reshape(60000, 784).astype(np.float32) / 255
    model = MLPClassifier(random_state=0).fit(X, arrays["train_labels"])
    digest = hashlib.sha256()
    for weight, bias in zip(model.coefs_, model.intercepts_, strict=True):
        digest.update(weight.tobytes())
        digest.update(bias.tobytes())
    assert digest.hexdigest() == expected


def test_it_reads_images_of_digits_and_numbers_as_predict_does(tmp_path, offline):
    from PIL import Image, ImageDraw

    from mnist_nn.data.dataset import load_dataset

    digits = load_dataset("digits")
    settings = {"activation": "relu", "loss": "cross_entropy", "learning_rate": 0.001}
    clf = MLPClassifier(**settings, epochs=3, random_state=0)
    clf.fit(digits.train.images, digits.train.labels)
    assert clf.temperature_ > 0
    picture = Image.new("L", (600, 300), 255)
    for x in (150, 450):
        ImageDraw.Draw(picture).line([(x, 40), (x, 260)], fill=0, width=24)
    picture.save(tmp_path / "11.png")
    number = clf.read_number(tmp_path / "11.png")
    assert len(number["number"]) == 2 and len(number["digits"]) == 2
    assert clf.read_digit(tmp_path / "11.png")["verdict"] in ("digit", "unsure", "not a digit")
    clf.save(tmp_path / "model.npz")
    assert MLPClassifier.load(tmp_path / "model.npz").temperature_ == clf.temperature_
    small = MLPClassifier(epochs=1).fit(digits.train.images[:, :64], digits.train.labels)
    with pytest.raises(ValueError, match="cannot read images"):
        small.read_number(tmp_path / "11.png")


def test_too_many_classes_or_weights_for_the_data_are_value_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="20,000 classes, over the limit of 1,000"):
        MLPClassifier().fit(rng.random((20_000, 3)), np.arange(20_000))
    with pytest.raises(ValueError, match="weights, over the limit of 100,000,000"):
        MLPClassifier(hidden_layer_sizes=(8000,)).fit(rng.random((4, 20_000)), [0, 1, 0, 1])


def test_the_layers_parameter_builds_a_convolutional_classifier(digits):
    X_train, X_test, y_train, y_test = digits
    model = MLPClassifier(layers="conv8x3 pool dense32", activation="relu", loss="cross_entropy",
                          optimizer="adam", learning_rate=0.003, epochs=8, batch_size=32,
                          random_state=0).fit(X_train, y_train)  # fmt: skip
    assert model.score(X_test, y_test) > 0.85
    assert [coef.shape for coef in model.coefs_] == [(9, 8), (72, 32), (32, 10)]
    with pytest.raises(ValueError, match="not a square image"):
        MLPClassifier(layers="conv4x3").fit(X_train[:, :30], y_train)
