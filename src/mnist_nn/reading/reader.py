"""From framed 28x28 images to answers a person can trust: the digit, how sure, or "not a digit".

Each image gets two opinions:
- the model's, as calibrated probabilities p = softmax(z / T) (`evaluate/calibration.py`; T = 1
  for a model file that records no temperature);
- the detector's (`detector.py`): P(not a digit).
The verdict: "not a digit" when the detector's P(not a digit) is over its limit; "unsure" when
the calibrated top probability is below UNSURE_BELOW (the top guesses are given); else "digit".
The CLI, the web page, the JSON API and the estimator all answer through `Reader`, and ask the
two questions of a model here: can it read images at all (`check_reads_images`), and does the
detector speak for it (`reads_digits`).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from mnist_nn.errors import UserError
from mnist_nn.evaluate.calibration import model_temperature, softmax

NOT_A_DIGIT, UNSURE, DIGIT = "not a digit", "unsure", "digit"
UNSURE_BELOW = 0.5  # a calibrated top probability below this is a guess, and said to be one
TOP = 3  # alternatives given with every answer


@dataclass
class Reading:
    """One image's answer. `ranked`: (label, calibrated probability), best first (TOP of them)."""

    verdict: str
    ranked: list
    # The detector's P(not a digit) (among a number's digits: given that); 1 for a mark inside
    # another's closed loop, which no digit has.
    not_digit: float
    box: tuple | None = None  # (left, top, right, bottom) in the original image, for numbers
    pixels: np.ndarray | None = field(default=None, repr=False)  # the (784,) framed input
    probabilities: np.ndarray | None = field(default=None, repr=False)  # all C, calibrated

    @property
    def label(self):
        return self.ranked[0][0]

    @property
    def probability(self) -> float:
        return self.ranked[0][1]

    def describe(self) -> str:
        """One line: "7 (98.1%)", "unsure: 4 (45.0%) or 9 (41.2%)", "not a digit (... 4?)"."""
        if self.verdict == DIGIT:
            return f"{self.label} ({self.probability:.1%})"
        guesses = " or ".join(f"{label} ({p:.1%})" for label, p in self.ranked[:2])
        if self.verdict == UNSURE:
            return f"unsure: {guesses}"
        return f"not a digit (if it were one: {guesses})"

    def to_dict(self) -> dict:
        answer = {
            "verdict": self.verdict,
            "digit": self.label if self.verdict != NOT_A_DIGIT else None,
            "probability": self.probability,
            "top": [{"digit": label, "probability": p} for label, p in self.ranked],
            "not_digit": self.not_digit,
        }
        if self.box is not None:
            answer["box"] = [int(v) for v in self.box]
        return answer


class Reader:
    """A trained network, its temperature and the detector: (N, 784) framed images -> Readings."""

    def __init__(self, network, temperature: float = 1.0, class_names=None, detector=True):
        self.network = network
        self.temperature = temperature
        self.class_names = class_names
        self.detector = detector  # False: never say "not a digit" (e.g. data that is not MNIST's)

    @classmethod
    def for_network(cls, network, temperature=None, class_names=None, what="this model"):
        """The reader of a trained network (a UserError if it cannot read images), with the
        detector of non-digits for a model of MNIST's ten digits: a model of other classes only
        ever picks among its own."""
        check_reads_images(network.sizes[0], what)
        digits = reads_digits(network.sizes[-1], class_names)
        names = None if digits else class_names
        return cls(network, temperature or 1.0, names, detector=digits)

    @classmethod
    def from_model(cls, network, metadata: dict, what="this model") -> "Reader":
        """The reader a model file describes, with its temperature if it records one."""
        names = metadata.get("class_names")
        return cls.for_network(network, model_temperature(metadata), names, what)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 784) -> (N, C) calibrated probabilities."""
        return softmax(self.network.logits(images), self.temperature)

    def read(self, images: np.ndarray) -> list[Reading]:
        images = np.asarray(images, dtype=self.network.dtype)
        probabilities = self.probabilities(images)
        if self.detector:
            from mnist_nn.reading.detector import not_digit_probability

            not_digit, limit = not_digit_probability(images)
            # A mark inside another's closed loop (a face's eyes and mouth) is in no digit.
            faces = [mark_inside_a_loop(image.reshape(28, 28) > 0.3) for image in images]
            not_digit = np.where(faces, 1.0, not_digit)
        else:
            not_digit, limit = np.zeros(len(images)), 1.0
        names = self.class_names
        readings = []
        for row, p_not, pixels in zip(probabilities, not_digit, images, strict=True):
            order = np.argsort(-row, kind="stable")[:TOP]
            ranked = [(names[i] if names else int(i), float(row[i])) for i in order]
            verdict = verdict_of(p_not, ranked[0][1], limit)
            readings.append(Reading(verdict, ranked, float(p_not), None, pixels, row))
        return readings


def mark_inside_a_loop(ink: np.ndarray) -> bool:
    """Whether, in a mask of ink, a separate mark lies wholly inside a closed loop: a face (eyes
    and a mouth in a circle), a target; never one digit (in none of MNIST's 10,000 test digits
    framed, 27 of its 60,000 training ones; docs/lab-notes.md). A mark is inside a loop when the
    paper around the image does not reach it."""
    ink = np.pad(ink, 1)  # a margin of paper all round, so that "outside" is one region
    labels, count = ndimage.label(ink, structure=np.ones((3, 3)))  # diagonal pixels connect ink
    if count < 2:
        return False
    paper, _ = ndimage.label(~ink, structure=CROSS)  # ... so paper connects only across edges
    outside = ndimage.binary_dilation(paper == paper[0, 0], CROSS)  # and the ink it touches
    return len(np.unique(labels[outside & ink])) < count


CROSS = ndimage.generate_binary_structure(2, 1)


def check_reads_images(inputs: int, what: str = "this model") -> None:
    """A UserError unless a model of `inputs` values per example can read images: an image is
    framed into MNIST's 28x28 pixels, so the model must take 784."""
    if inputs != 28 * 28:
        raise UserError(
            f"{what} takes {inputs} values per example, not the 784 pixels of a 28x28 image: "
            "it cannot read images"
        )


def reads_digits(classes: int, class_names=None) -> bool:
    """Whether a model reads MNIST's ten digits (no names of its own, or the names 0 to 9): only
    then does the detector of non-digits, which learned MNIST's digits, speak for it."""
    return classes == 10 and (not class_names or list(class_names) == list(range(10)))


def verdict_of(not_digit: float, probability: float, limit: float) -> str:
    """The verdict: "not a digit" over the limit, "unsure" under UNSURE_BELOW, else "digit"."""
    if not_digit > limit:
        return NOT_A_DIGIT
    return UNSURE if probability < UNSURE_BELOW else DIGIT
