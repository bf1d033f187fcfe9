"""A hard test set made from MNIST *test* digits: each redrawn the way people's own images look.

Every digit gets a random mix of: white, grey, beige or blue-tinted paper with grain; light that
falls off to one side; a soft shadow; black or blue ink; a thin pen or a fat marker; drawn large
on a 600x800 page or small in a 3000x4000 photo; a ruled line across the page; saved as PNG or
JPEG, sometimes stored sideways with an EXIF tag that says so, sometimes as a transparent PNG
drawing. `render` makes one such file; `python -m benchmarks.user_images DIR` writes a set.
"""

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

PAPERS = {"white": (250, 250, 248), "grey": (205, 205, 200), "beige": (235, 222, 195),
          "blue-tint": (220, 228, 240)}  # fmt: skip
INKS = {"black": (25, 25, 30), "blue": (30, 50, 150)}
JPEG_MAGIC = b"\xff\xd8"


def strokes(digit: np.ndarray, size: int, pen: str, rng) -> np.ndarray:
    """A 28x28 MNIST digit (values in [0, 1]) as pen strokes `size` pixels tall: (size, size)
    ink coverage in [0, 1]."""
    big = np.asarray(Image.fromarray(digit.astype(np.float32)).resize((size, size), Image.BICUBIC))
    mask = big > 0.5
    # Other pens follow the writer's path (the stroke's skeleton) at their own width.
    # (Grown by the distance transform: the same pixels as a dilation by a disk, much faster.)
    if pen == "thin":  # a ballpoint: a few pixels wide
        mask = ndimage.distance_transform_edt(~skeletonize(mask)) <= max(1, size // 150)
    elif pen == "marker":  # a fat felt pen: a sixth of the digit's height, MNIST's is an eighth
        mask = ndimage.distance_transform_edt(~skeletonize(mask)) <= max(2, size // 12)
    coverage = ndimage.gaussian_filter(mask.astype(np.float32), sigma=max(0.7, size / 400))
    return np.clip(coverage * rng.uniform(0.8, 1.0), 0, 1)


def page(height: int, width: int, paper: str, rng) -> np.ndarray:
    """(height, width, 3) paper: a tint, grain, light falling off to one side, maybe a shadow."""
    colour = np.array(PAPERS[paper], dtype=np.float32)
    light = np.linspace(rng.uniform(0.75, 0.95), 1.0, width, dtype=np.float32)[None, :, None]
    if rng.random() < 0.5:
        light = light[:, ::-1]
    sheet = colour * light + rng.normal(0, 6, (height, width, 1)).astype(np.float32)
    if rng.random() < 0.4:  # a soft shadow of a hand or a phone over one corner
        rows, cols = np.ogrid[:height, :width]
        corner = (rng.uniform(0, height), rng.uniform(0, width))
        distance = np.hypot(rows - corner[0], cols - corner[1]) / max(height, width)
        sheet *= (1 - 0.35 * np.exp(-((distance / 0.35) ** 2)))[..., None]
    return sheet


def render(digit: np.ndarray, rng) -> tuple[bytes, str]:
    """One user-like image file of `digit` (28x28 in [0, 1]): its bytes and a short description."""
    paper, ink = rng.choice(list(PAPERS)), rng.choice(list(INKS))
    pen = rng.choice(["pen", "thin", "marker"])
    photo = rng.random() < 0.1  # the digit small in a big phone photo
    height, width = (4000, 3000) if photo else (800, 600)
    size = int(rng.uniform(300, 450)) if photo else int(rng.uniform(250, 500))
    if rng.random() < 0.1:  # a transparent drawing: ink only, no paper
        coverage = strokes(digit, size, pen, rng)
        rgba = np.zeros((size + 40, size + 40, 4), dtype=np.uint8)
        rgba[20:-20, 20:-20, :3] = INKS[ink]
        rgba[20:-20, 20:-20, 3] = np.round(255 * coverage)
        buffer = io.BytesIO()
        Image.fromarray(rgba).save(buffer, format="PNG")
        return buffer.getvalue(), f"transparent PNG, {ink} {pen}"
    sheet = page(height, width, paper, rng)
    top, left = int(rng.uniform(0, height - size)), int(rng.uniform(0, width - size))
    coverage = strokes(digit, size, pen, rng)[..., None]
    patch = sheet[top : top + size, left : left + size]
    sheet[top : top + size, left : left + size] = patch * (1 - coverage) + (
        np.array(INKS[ink]) * coverage
    )
    ruled = rng.random() < 0.25
    if ruled:  # a ruled line across the page, below or through the digit
        row = (
            top + int(rng.uniform(0.7, 1.1) * size) if top + size < height - 10 else top + size // 2
        )
        row = min(row, height - 3)
        sheet[row : row + max(2, height // 400)] = (120, 140, 200)
    picture = Image.fromarray(np.clip(sheet, 0, 255).astype(np.uint8))
    exif, turned = None, rng.random() < 0.2
    if turned:  # stored sideways, as phones do, with the tag that turns it back
        picture = picture.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
    jpeg = photo or rng.random() < 0.5
    buffer = io.BytesIO()
    options = {"format": "JPEG", "quality": int(rng.uniform(70, 95))} if jpeg else {"format": "PNG"}
    picture.save(buffer, **options, **({"exif": exif} if exif else {}))
    what = [paper, "paper", ink, pen, "photo" if photo else "page", options["format"]]
    what += ["ruled"] * ruled + ["EXIF-turned"] * turned
    return buffer.getvalue(), " ".join(what)


def main() -> None:
    from mnist_nn.data.dataset import load_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the images and labels.csv")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    test = load_dataset("mnist").test
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["file,label,description"]
    for i in range(args.count):
        data, what = render(test.images[i].reshape(28, 28), rng)
        suffix = "jpg" if data.startswith(JPEG_MAGIC) else "png"
        name = f"{i:04d}.{suffix}"
        (args.out / name).write_bytes(data)
        lines.append(f"{name},{test.labels[i]},{what}")
    (args.out / "labels.csv").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.count} images and labels.csv to {args.out}")


if __name__ == "__main__":
    main()
