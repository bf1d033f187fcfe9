"""The model being served and the page's answers: an uploaded image or drawn pixels read by the
library's Reader, with what the page shows beside the answer (the 28x28 input, the hidden
activations, the first convolution's feature maps). No rule of its own: the framing, the reading
and the evaluation are the library's.
"""

import io
import json
import threading
from pathlib import Path

import numpy as np
from fastapi import HTTPException

from mnist_nn.errors import UserError
from mnist_nn.reading.images import read_digit_and_number
from mnist_nn.reading.reader import Reader
from mnist_nn.saving.model_files import load_model
from mnist_nn.web.session import weight_images


def read_image_upload(data: bytes, reader: Reader) -> dict:
    """Image file bytes -> the page's answer: the digit (framed as `predict` frames it) and the
    number written on it; a bad image is a 400."""
    try:
        pixels, number = read_digit_and_number(io.BytesIO(data), reader, name="the upload")
    except UserError as error:
        raise HTTPException(400, str(error)) from None
    answer = page_answer(reader, pixels)
    no_number = {"number": None, "is_number": False, "digits": []}
    answer.update(number.to_dict() if number else no_number)
    if number and number.is_number:
        seen_by_digit(reader, number.digits, answer["digits"])
    return answer


def seen_by_digit(reader: Reader, readings: list, digits: list[dict]) -> None:
    """Each digit of a number as the network received it, its own 28x28 frame, and the hidden
    activations it gave: what the page shows for the digit under the pointer."""
    framed = [
        (i, reading.pixels) for i, reading in enumerate(readings) if reading.pixels is not None
    ]
    if not framed:
        return
    network = reader.network
    _, hidden = network.explain(np.stack([pixels for _, pixels in framed]).astype(network.dtype))
    for row, (i, pixels) in enumerate(framed):
        digits[i]["input"] = [round(float(p), 4) for p in pixels]
        digits[i]["hidden"] = [round(float(a), 4) for a in hidden[0][row]] if hidden else []


def read_json_upload(data: bytes, reader: Reader) -> dict:
    """JSON pixels (already framed) -> the page's answer for one digit."""
    return page_answer(reader, pixels_from_json(data))


def pixels_from_json(data: bytes) -> np.ndarray:
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: "[" nested 100,000 deep
        raise HTTPException(400, "the body is not valid JSON") from None
    values = payload.get("pixels") if isinstance(payload, dict) else None
    if not isinstance(values, list) or len(values) != 784:
        count = len(values) if isinstance(values, list) else "no"
        raise HTTPException(400, f'expected {{"pixels": [784 numbers]}}, got {count} values')
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise HTTPException(400, "every pixel must be a number")
    try:
        pixels = np.array(values, dtype=np.float64)
    except OverflowError:  # an integer of 4,000 digits
        pixels = np.full(1, np.inf)
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
        raise HTTPException(
            400, "pixels must be finite numbers in [0, 1] (NaN and infinity are not)"
        )
    return pixels.astype(np.float32)


class Predictor:
    """A model being served and what is derived from it (the test set's confusion matrix,
    computed once, on first use)."""

    def __init__(self, network, metadata: dict, test_split=None):
        self.reader = Reader.from_model(network, metadata)  # a UserError if it reads no images
        self.network, self.metadata = network, metadata
        self.dtype = self.metadata["dtype"]
        self._evaluation, self._failure = None, None
        self._lock = threading.Lock()  # many first requests at once evaluate once
        self._test_split = test_split  # known already when the model was trained here

    @classmethod
    def from_file(cls, path: Path) -> "Predictor":
        return cls(*load_model(path))

    def evaluation(self) -> dict:
        """Confusion matrix and predictions on the model's test set: computed once (under a
        lock), and a test set that cannot be had is remembered, not looked for again."""
        with self._lock:
            if self._evaluation is None and self._failure is None:
                self._evaluate()
        if self._failure is not None:
            raise HTTPException(503, self._failure)
        return self._evaluation

    def _evaluate(self) -> None:
        from mnist_nn.data.dataset import load_dataset
        from mnist_nn.evaluate.metrics import evaluate

        name = str(self.metadata.get("dataset", "mnist"))
        split = self._test_split
        if split is None:
            try:
                if name not in ("mnist", "digits"):  # the user's own data file: not here
                    raise UserError(name)
                split = load_dataset(name).test
            except UserError:  # e.g. no MNIST here: say so, without the server's paths
                self._failure = f"the {name} test set is not available on this server"
                return
        split = type(split)(split.images.astype(self.dtype), split.labels)
        self._evaluation = {"dataset": name, "split": split, **evaluate(self.network, split)}


def page_answer(reader: Reader, pixels: np.ndarray) -> dict:
    """What the page shows for one (784,) input: the verdict and the digit, the ten calibrated
    probabilities, the input itself and the first hidden layer's activations."""
    network = reader.network
    pixels = pixels.astype(network.dtype)
    reading = reader.read(pixels[None, :])[0]
    probabilities = reading.probabilities
    _, hidden = network.explain(pixels[None, :])
    maps = network.feature_maps(pixels[None, :])
    return {
        **reading.to_dict(),
        "digit": int(probabilities.argmax()),  # the bar to mark (a class's name is in `top`)
        "probabilities": [round(float(p), 6) for p in probabilities],
        "input": [round(float(p), 4) for p in pixels],  # the 28x28 the network received
        "hidden": [round(float(a), 4) for a in hidden[0][0]] if hidden else [],
        "feature_maps": None if maps is None else feature_map_images(maps[0]),
    }


def feature_map_images(maps: np.ndarray) -> dict:
    """A network's first convolution's (F, Ho, Wo) maps of one image, for the page: each scaled
    to its own largest |value| as bytes (128 is zero), as the live weights are sent."""
    count, height, width = maps.shape
    pixels = weight_images(maps.reshape(count, -1).T, units=count)
    return {"count": count, "height": height, "width": width, "pixels": pixels}
