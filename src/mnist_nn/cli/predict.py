"""`mnist-nn predict`: read people's images of digits, or of written numbers."""

import argparse
import json
import sys
from pathlib import Path

from mnist_nn.cli.common import prepare_out_dir
from mnist_nn.errors import UserError


def add_predict(subcommands) -> None:
    predict = subcommands.add_parser(
        "predict",
        help="read your own images of digits, or of written numbers",
        description="Read the digit in each image (or with --number, the number written on one "
        "line): any size, colour or grey, dark ink on light paper or the reverse. Each digit is "
        "framed like MNIST first (--save-input shows how). Scores are calibrated probabilities; "
        "an image that is not a digit is said to be so, and an answer below 50% is 'unsure'.",
    )
    predict.add_argument("model", type=Path, help="a model file written by `train` (model.npz)")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="image files")
    predict.add_argument("--json", action="store_true", help="print the answers as JSON")
    predict.add_argument(
        "--number",
        action="store_true",
        help="read a number of up to 12 digits written on one line: each digit with its box "
        "(a line model, trained with --preset line, always reads numbers, whole)",
    )
    predict.add_argument(
        "--cut",
        action="store_true",
        help="with --number and a digit model: cut the number into digits that model reads, "
        "instead of reading it whole with the shipped line reader",
    )
    predict.add_argument(
        "--save-input",
        type=Path,
        metavar="DIR",
        help="save the 28x28 image the network received for each file",
    )
    predict.set_defaults(run=command_predict)


def command_predict(args: argparse.Namespace) -> int:
    from mnist_nn.nn.stack import reads_lines
    from mnist_nn.reading.line_reader import LineReader
    from mnist_nn.reading.reader import Reader
    from mnist_nn.saving.model_files import load_model

    network, metadata = load_model(args.model)
    if reads_lines(network.architecture.get("layers", "")):  # a line model reads numbers whole
        reader, args.number = LineReader(network, str(args.model)), True
    else:
        reader = Reader.from_model(network, metadata, what=str(args.model))
    if args.save_input is not None:
        prepare_out_dir(args.save_input)
    answers, failures, saved_names = [], 0, set()
    for path in args.images:
        try:
            if args.number:
                answer = _predict_number(path, reader, args.json, args.cut)
            else:
                answer = _predict_digit(path, reader, args.json)
        except UserError as error:
            failures += 1
            print(f"error: {error}", file=sys.stderr)
            answers.append({"image": str(path), "error": str(error)})
            continue
        if args.save_input is not None:
            answer["input"] = _save_inputs(path, answer.pop("pixels"), args.save_input, saved_names)
        answer.pop("pixels", None)
        answers.append(answer)
    if args.json:
        print(json.dumps(answers, indent=2))
    return 1 if failures else 0


def _predict_digit(path, reader, quiet: bool) -> dict:
    """One digit: the answer (digit, calibrated top 3, verdict), printed unless `quiet`."""
    from mnist_nn.reading.images import load_digit, read_number
    from mnist_nn.reading.reader import DIGIT, NOT_A_DIGIT

    reading = reader.read(load_digit(path)[None, :])[0]
    answer = {"image": str(path), **reading.to_dict(), "pixels": [reading.pixels]}
    answer["top3"] = answer.pop("top")
    if reading.verdict == NOT_A_DIGIT and reader.detector:
        # Not one digit: perhaps several? Said, so the user knows about --number.
        try:
            number = read_number(path, reader)
        except UserError:  # e.g. more marks than a number has: it is just not a digit
            number = None
        if number is not None and number.is_number:
            answer["number"] = number.number
    if not quiet:
        ranked = "  ".join(f"{t['digit']}: {t['probability']:.1%}" for t in answer["top3"])
        said = {DIGIT: str(reading.label), NOT_A_DIGIT: "not a digit"}.get(
            reading.verdict, "unsure, maybe " + " or ".join(str(d) for d, _ in reading.ranked[:2])
        )
        if "number" in answer:
            said = f"not one digit: the number {answer['number']}? (read it with --number)"
        print(f"{path}: {said}   ({ranked})")
    return answer


def _predict_number(path, reader, quiet: bool, cut: bool = False) -> dict:
    """A written number: the number, who read it, and each digit (box, reading, alternatives)."""
    from mnist_nn.reading.images import read_number

    number = read_number(path, reader, cut=cut)
    answer = {"image": str(path), **number.to_dict()}
    answer["pixels"] = [digit.pixels for digit in number.digits]
    if not quiet:
        print(f"{path}: {number.number}   (read by {number.reader})")
        for i, digit in enumerate(number.digits, start=1):
            left, top, right, bottom = digit.box
            print(f"  {i:>2}. {digit.describe():<44} at x {left}-{right}, y {top}-{bottom}")
    return answer


def _save_inputs(path, images: list, folder: Path, taken: set):
    """The 28x28 inputs the network saw, as PNGs: one name, or a list of them for a number."""
    import numpy as np
    from PIL import Image

    from mnist_nn.saving.files import unique_name

    names = []
    for i, pixels in enumerate(images):
        stem = Path(path).stem + (f".{i + 1}" if len(images) > 1 else "")
        saved = folder / unique_name(stem, ".28x28.png", taken)
        grey = (np.asarray(pixels).reshape(28, 28) * 255).round().astype("uint8")
        Image.fromarray(grey).save(saved)
        names.append(str(saved))
    return names[0] if len(names) == 1 else names
