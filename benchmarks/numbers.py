"""How well trained models read whole numbers, non-digits and digits they must still read.

    python -m benchmarks.numbers \\
        seed=model-seed.npz quick=model-quick.npz best=model-best.npz [--count 300]

Numbers are written from MNIST *test* digits the way people write them (`render_number`): one
pen per number (a thin pen, MNIST's, or a fat marker), the line slanted and the writing leaning,
digits a little up or down, on the paper photos of `user_images.py` (tints, grain, uneven light,
shadows, blue or black ink, JPEG). Two kinds of spacing: well apart, and touching or overlapping
neighbours. Reported per model: digits read right, whole numbers read right, and beside them the
digits of all the apart numbers each written alone the same way (a one-digit number) and read
one by one, to the power of the digit count (what a perfect cutter would get). Then "not a
digit": the share of drawn non-digits (`mnist_nn.reading.non_digits`, other drawings than the
detector learned from) turned away, and the share of MNIST's test digits and of the real handwriting
development set the model read before and still reads. The real numbers of
the folder MNIST_NN_NUMBERS_DIR names (other writers' work, not shipped) are a development
figure, as is a fold of the CAR-A bank-check amounts (MNIST_NN_CAR_A_DIR, `--fold`). A line
model (`--preset line`) reads the numbers whole. The time to read a 12-megapixel JPEG photo of
a number, decoding included, is measured too. Writes benchmarks/numbers.md (or `--out`).
"""

import argparse
import io
import os
import time
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.real_handwriting import handwriting
from benchmarks.user_images import INKS, PAPERS, page, strokes
from mnist_nn.data.dataset import load_dataset
from mnist_nn.data.framing import frame_digit
from mnist_nn.errors import UserError
from mnist_nn.nn.stack import reads_lines
from mnist_nn.reading.images import load_digit, read_number
from mnist_nn.reading.line_reader import LineReader
from mnist_nn.reading.non_digits import KINDS, non_digit_set
from mnist_nn.reading.number_folders import fold_of, read_numbers_folder
from mnist_nn.reading.reader import DIGIT, Reader
from mnist_nn.saving.model_files import load_model

HERE = Path(__file__).resolve().parent
NUMBERS = Path(os.environ.get("MNIST_NN_NUMBERS_DIR", "/nonexistent"))  # other writers' work
CAR_A = Path(os.environ.get("MNIST_NN_CAR_A_DIR", "/nonexistent"))  # ../shared/data/car-a
SPACINGS = {"apart": (0.15, 0.45), "touching": (-0.12, 0.0)}  # gap, in digit heights
PHOTO, PHOTOS = (4000, 3000), 5  # 12-megapixel photos of numbers, timed as they are read


def render_number(digits: np.ndarray, spacing: str, rng, photo: tuple | None = None) -> bytes:
    """(k, 28, 28) MNIST digits written as one number on a paper photo: the file's bytes.
    `photo` (width, height): a photo that size, the number in its middle, a tenth as tall."""
    height = int(rng.uniform(120, 220))  # of the 28x28 field; the ink is about 20/28 of it
    if photo is not None:
        height = photo[1] // 10
    pen = rng.choice(["pen", "thin", "marker"])
    pieces = []
    for digit in digits:
        coverage = strokes(digit, height, pen, rng)
        columns = np.flatnonzero(coverage.max(axis=0) > 0.05)
        pieces.append(coverage[:, columns[0] : columns[-1] + 1])
    low, high = SPACINGS[spacing]
    # Overlap never more than half the narrower neighbour (a 1 is thin).
    gaps = [
        max(int(rng.uniform(low, high) * 0.7 * height), -min(a.shape[1], b.shape[1]) // 2)
        for a, b in zip(pieces[:-1], pieces[1:], strict=True)
    ]
    width = sum(p.shape[1] for p in pieces) + sum(gaps) + 1
    tilt = np.tan(np.radians(rng.uniform(-5, 5)))  # the line's slope
    rise = int(abs(tilt) * width) + height // 5
    line = np.zeros((height + 2 * rise, width), dtype=np.float32)
    left = 0
    for i, piece in enumerate(pieces):
        top = rise + int(tilt * left) + int(rng.uniform(-0.05, 0.05) * height)
        region = line[top : top + height, left : left + piece.shape[1]]
        np.maximum(region, piece, out=region)  # touching neighbours overlap here
        left += piece.shape[1] + (gaps[i] if i < len(gaps) else 0)
    lean = np.tan(np.radians(rng.uniform(-12, 12)))  # the writing's slant
    line = np.asarray(
        Image.fromarray(line).transform(
            line.shape[::-1], Image.AFFINE, (1, lean, -lean * line.shape[0] / 2, 0, 1, 0),
            Image.BILINEAR,
        )
    )  # fmt: skip
    margin = height // 2
    width, tall = (
        (line.shape[1] + 2 * margin, line.shape[0] + 2 * margin) if photo is None else photo
    )
    sheet = page(tall, width, rng.choice(list(PAPERS)), rng)
    ink = np.array(INKS[rng.choice(list(INKS))], dtype=np.float32)
    coverage = line[..., None] * rng.uniform(0.85, 1.0)
    top, left = (tall - line.shape[0]) // 2, (width - line.shape[1]) // 2
    inner = sheet[top : top + line.shape[0], left : left + line.shape[1]]
    inner[:] = inner * (1 - coverage) + ink * coverage
    buffer = io.BytesIO()
    picture = Image.fromarray(np.clip(sheet, 0, 255).astype(np.uint8))
    if rng.random() < 0.5 or photo is not None:  # a camera's photos are JPEGs
        picture.save(buffer, format="JPEG", quality=int(rng.uniform(75, 95)))
    else:
        picture.save(buffer, format="PNG")
    return buffer.getvalue()


def photos_read(reader, photos: list, truths: list[str]) -> tuple[int, float]:
    """(photos read right, the median seconds to read one, decoding included)."""
    right, seconds = 0, []
    for data, truth in zip(photos, truths, strict=True):
        clock = time.perf_counter()
        try:
            read = read_number(io.BytesIO(data), reader, "photo", cut=True).number
        except UserError:
            read = ""
        seconds.append(time.perf_counter() - clock)
        right += read == truth
    return right, float(np.median(seconds))


def framed_alone(data: bytes, name: str) -> np.ndarray:
    """A digit written alone, framed; blank where the framing refuses it (a digit whose pen
    lifted into two marks one above the other): read wrong, as a user's would be."""
    try:
        return load_digit(io.BytesIO(data), name=name)
    except UserError:
        return np.zeros(784, dtype=np.float32)


def digits_right(expected: str, read: str) -> int:
    """Digits read right, lined up with the expected ones (a missed or extra digit shifts none)."""
    return sum(block.size for block in SequenceMatcher(None, expected, read).get_matching_blocks())


def numbers_figures(reader, files: list, truths: list[str]) -> tuple[float, float]:
    """(share of digits, share of whole numbers) read right, by `reader` itself: a digit
    model's cutting the numbers into digits, a line model's reading them whole."""
    digits = whole = 0
    for data, truth in zip(files, truths, strict=True):
        try:
            read = read_number(io.BytesIO(data), reader, "generated", cut=True).number
        except UserError:
            read = ""
        digits += digits_right(truth, read)
        whole += read == truth
    return digits / sum(map(len, truths)), whole / len(truths)


def kind_of_miss(truth: str, read: str) -> str:
    """What went wrong, from the edits that turn the truth into the reading: a digit inserted (a
    separator, a closing mark or a flag read as a digit), dropped, misread, or two merged."""
    kinds = []
    for operation, i0, i1, j0, j1 in SequenceMatcher(None, truth, read).get_opcodes():
        if operation == "insert":
            kinds.append("inserted")
        elif operation == "delete":
            kinds.append("dropped")
        elif operation == "replace":
            kinds.append({True: "misread", False: "merged" if i1 - i0 > j1 - j0 else "split"}[
                i1 - i0 == j1 - j0])  # fmt: skip
    return ", ".join(dict.fromkeys(kinds)) or "right"


def real_numbers(reader, entries) -> tuple[int, int, list[str], float] | None:
    """(right, total, misses with their kind, seconds per number) on real numbers: `entries`
    (path, number), or None where there are none. Read by `reader` itself, as everywhere here:
    a digit model cutting each number, a line model reading it whole."""
    if not entries:
        return None
    misses, start = [], time.perf_counter()
    for path, number in entries:
        try:
            read = read_number(path, reader, path.name, cut=True).number
        except UserError as error:
            read = f"error: {error}"
        if read != number:
            kind = "no answer" if read.startswith("error") else kind_of_miss(number, read)
            misses.append(f"{path.name}: {number} read {read} ({kind})")
    seconds = (time.perf_counter() - start) / len(entries)
    return len(entries) - len(misses), len(entries), misses, seconds


def folder_entries(folder: Path, fold: int | None = None) -> list:
    """(path, number) of a numbers folder (all, or fold `fold`), or [] where it is absent."""
    if not (folder / "labels.csv").is_file():
        return []
    entries = read_numbers_folder(folder)
    if fold is None:
        return entries
    return [entries[i] for i in sorted(fold_of(len(entries), fold))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="NAME=MODEL.npz")
    parser.add_argument("--count", type=int, default=300, help="numbers of each spacing")
    parser.add_argument("--length", type=int, default=4, help="digits per number")
    parser.add_argument("--non-digits", type=int, default=1200)
    parser.add_argument("--car-a", type=Path, default=CAR_A, metavar="DIR",
                        help="the bank-check amounts (default: $MNIST_NN_CAR_A_DIR)")  # fmt: skip
    parser.add_argument("--fold", type=int, default=0, choices=range(10),
                        help="the CAR-A fold read (the one the line models held out)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=HERE / "numbers.md",
                        help="the results' page (default: benchmarks/numbers.md)")  # fmt: skip
    args = parser.parse_args()
    development = folder_entries(NUMBERS)
    checks = folder_entries(args.car_a, args.fold)
    test = load_dataset("mnist").test
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    chosen = rng.choice(len(test), (2, args.count, args.length))
    generated = {
        spacing: [render_number(test.images[row].reshape(-1, 28, 28), spacing, rng)
                  for row in chosen[i]]
        for i, spacing in enumerate(SPACINGS)
    }  # fmt: skip
    truths = {
        spacing: ["".join(map(str, test.labels[row])) for row in chosen[i]]
        for i, spacing in enumerate(SPACINGS)
    }
    # Each digit of the apart numbers written alone, the same way (a one-digit number).
    alone_index = chosen[0].ravel()
    alone = np.stack([framed_alone(render_number(test.images[i][None].reshape(1, 28, 28),
                                                 "apart", rng), f"#{i}")
                      for i in alone_index])  # fmt: skip
    canvases, kinds = non_digit_set(args.non_digits, 7, test.images, test.labels)
    keep = [i for i, canvas in enumerate(canvases) if frame_digit(canvas) is not None]
    non_digits = np.stack([frame_digit(canvases[i]).reshape(-1) for i in keep])
    kinds = np.array(kinds)[keep]
    photos = [render_number(test.images[row].reshape(-1, 28, 28), "apart", rng, PHOTO)
              for row in chosen[0][:PHOTOS]]  # fmt: skip
    real = handwriting()
    print(f"wrote and framed the test images in {time.perf_counter() - start:.0f} s")
    number_rows, reject_rows, notes = [], [], []
    for name, path in (model.split("=", 1) for model in args.models):
        network, metadata = load_model(path)
        lines = reads_lines(network.architecture.get("layers", ""))
        reader = LineReader(network) if lines else Reader.from_model(network, metadata)
        cells = ["(reads lines)"] * 2
        if not lines:
            single = np.mean(network.predict(alone) == test.labels[alone_index])
            cells = [f"{single:.1%}", f"{single**args.length:.1%}"]
        for spacing in SPACINGS:
            digits, whole = numbers_figures(reader, generated[spacing], truths[spacing])
            cells += [f"{digits:.1%}", f"{whole:.1%}"]
        for label, entries in (("dev", development), (f"CAR-A fold {args.fold}", checks)):
            measured = real_numbers(reader, entries)
            if measured is None:
                cells.append("absent")
                continue
            right, total, misses, seconds = measured
            cells.append(f"{right / total:.1%} ({right}/{total}), {seconds * 1000:.0f} ms each")
            notes += [f"- {name}, {label}: {miss}" for miss in misses]
        right, seconds = photos_read(reader, photos, truths["apart"][:PHOTOS])
        cells.append(f"{seconds * 1000:.0f} ms ({right}/{len(photos)} read right)")
        number_rows.append(f"| {name} | " + " | ".join(cells) + " |")
        print(number_rows[-1], flush=True)
        if lines:
            reject_rows.append(f"| {name} | (a line reader: not measured) | | | |")
            continue
        verdicts = np.array([r.verdict for r in reader.read(non_digits)])
        per_kind = ", ".join(
            f"{kind} {np.mean(verdicts[kinds == kind] != DIGIT):.0%}" for kind in KINDS
        )
        kept = []
        for images, labels in ((test.images, test.labels), real or (None, None)):
            if images is None:
                kept.append("absent")
                continue
            read_before = network.predict(images) == labels
            readings = reader.read(images[read_before])
            kept.append(f"{np.mean([r.verdict == DIGIT for r in readings]):.2%}")
        drawn = np.isin(kinds, ["letter", "shape", "scribble", "strokes"])
        reject_rows.append(
            f"| {name} | {np.mean(verdicts[drawn] != DIGIT):.1%} | "
            f"{np.mean(verdicts != DIGIT):.1%} ({per_kind}) | {kept[0]} | {kept[1]} |"
        )
        print(reject_rows[-1], flush=True)
    spacing_heads = " | ".join(f"{s}: digits | {s}: numbers" for s in SPACINGS)
    lines = [
        '# Reading whole numbers, and saying "not a digit"',
        "",
        f"Measured by `python -m benchmarks.numbers` on {time.strftime('%Y-%m-%d')}: "
        f"{args.count} generated {args.length}-digit numbers of each spacing, written from MNIST "
        'test digits on paper photos. "alone": the digits of the apart numbers, each '
        "written alone the same way (a one-digit number) and read one by one, and that to the "
        "power of the digit count (what a perfect cutter would get). "
        "Real numbers: the 37 of the development set, and fold "
        f"{args.fold} of the {len(checks)} CAR-A bank-check amounts of that fold (the line "
        "models were trained without it); development figures, with the time each took to read. "
        f"A 12-megapixel photo: {PHOTOS} JPEG photos 4000x3000 of an apart number a tenth of "
        "the photo high, the median time to read one (decoding included).",
        "",
        f"| model | alone | alone^{args.length} | {spacing_heads} | real numbers (dev) | "
        f"CAR-A fold {args.fold} | a 12-megapixel photo of a number |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *number_rows,
        "",
        f"Not a digit: {len(non_digits)} drawn non-digits (other drawings than the detector "
        "learned from), and the digits each model read right before (MNIST's 10,000 test digits; "
        "the 91 real digits of the handwriting development set) that it still reads as digits "
        '(neither "unsure" nor "not a digit").',
        "",
        "| model | drawn non-digits turned away (letters, shapes, scribbles, strokes) | "
        "with two digits and pieces of digits (per kind) | MNIST test digits still read | "
        "real digits still read (dev) |",
        "|---|---|---|---|---|",
        *reject_rows,
        "",
        "Real numbers missed, with the kind of miss (inserted: a mark read as a digit; "
        "dropped; misread; merged: two digits read as one):",
        "",
        *(notes or ["- none"]),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
