"""Hostile and clumsy images: only the listed formats, sizes and a decoder's memory checked before
anything is allocated, every ordinary mode read, and what is not writing said to be so.
"""

import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_nn.cli.parser import main

from helpers import base_folder, peak_megabytes, saved, start_serve, written

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\n"


def test_an_eps_upload_is_never_handed_to_ghostscript(served, tmp_path, capsys):
    base, _, _, _ = served
    answer = httpx.post(f"{base}/api/predict", files={"file": ("x.eps", EPS)}, timeout=10)
    assert (
        answer.status_code == 400 and "not an image of a format read here" in answer.json()["error"]
    )
    (tmp_path / "digit.eps").write_bytes(EPS)
    model = next(Path(base_folder(served)).glob("model.npz"))
    assert main(["predict", str(model), str(tmp_path / "digit.eps")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_six_80_megapixel_uploads_at_once_keep_the_server_small(served, tmp_path):
    """Each a ~100 KB PNG that would decode to 81 megapixels: refused before decoding, fast,
    and the server's peak memory stays far below 500 MB."""
    from PIL import Image

    base, _, _, pid = served
    buffer = io.BytesIO()
    Image.new("L", (9000, 9000), 255).save(buffer, format="PNG", optimize=True)
    huge = buffer.getvalue()
    assert len(huge) < 200_000

    def upload(_):
        return httpx.post(f"{base}/api/predict", files={"file": ("big.png", huge)}, timeout=30)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(upload, range(6)))
    assert {answer.status_code for answer in answers} == {400}
    assert "over the limit of 16 megapixels for PNG" in answers[0].json()["error"]
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    assert peak_kb < 500_000, f"serve peaked at {peak_kb // 1024} MB"


def test_a_small_png_of_80_megapixels_is_refused_before_decoding(tmp_path):
    from PIL import Image

    Image.new("L", (9000, 9000), 255).save(tmp_path / "huge.png", optimize=True)
    assert (tmp_path / "huge.png").stat().st_size < 200_000
    model = tmp_path / "model.npz"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    code = (
        "from mnist_nn.cli.parser import main; import sys; "
        f"sys.exit(main(['predict', {str(model)!r}, {str(tmp_path / 'huge.png')!r}]))"
    )
    megabytes, exit_code, err = peak_megabytes(code)
    assert exit_code == 1 and "81000000" not in err
    assert "9000x9000 pixels is over the limit of 16 megapixels for PNG" in err
    assert megabytes < 500


@pytest.mark.slow
def test_hostile_numbers_are_answered_in_one_line_and_bounded_memory(tmp_path):
    """A 100-digit scrawl, an image of pure noise and a 12,000 px wide strip, read as numbers."""
    import numpy as np
    from PIL import Image, ImageDraw

    scrawl = Image.new("L", (1300, 200), 255)
    for i in range(100):
        ImageDraw.Draw(scrawl).line([(20 + 12 * i, 40), (24 + 12 * i, 160)], fill=0, width=4)
    scrawl.save(tmp_path / "scrawl.png")
    noise = np.random.default_rng(0).integers(0, 256, (1500, 1500), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    strip = Image.new("L", (12_000, 200), 255)
    for x in range(300, 12_000, 400):
        ImageDraw.Draw(strip).line([(x, 30), (x + 40, 170)], fill=0, width=20)
    strip.save(tmp_path / "strip.png")
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    images = [str(tmp_path / f"{name}.png") for name in ("scrawl", "noise", "strip")]
    code = (
        "from mnist_nn.cli.parser import main; import sys; "
        f"sys.exit(main(['predict', {str(tmp_path / 'model.npz')!r}, *{images!r}, '--number']))"
    )
    megabytes, exit_code, err = peak_megabytes(code)
    assert exit_code == 1 and "Traceback" not in err
    assert "scrawl.png: 100 separate marks: more than a number of" in err
    # 29 slanted strokes, read by the shipped line reader: one line 75 times as long as high
    assert "strip.png" in err and "times as long as it is high" in err
    assert all(line.startswith("error: ") for line in err.strip().splitlines())
    assert megabytes < 500


def test_predict_save_input_keeps_one_picture_per_file(tmp_path, offline, capsys):
    from PIL import Image, ImageDraw

    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        picture = Image.new("L", (100, 100), 255)
        ImageDraw.Draw(picture).line([(50, 10), (50 if folder == "a" else 20, 90)], 0, width=8)
        picture.save(tmp_path / folder / "digit.png")
    argv = ["predict", str(tmp_path / "model.npz"), str(tmp_path / "a" / "digit.png")]
    assert (
        main([*argv, str(tmp_path / "b" / "digit.png"), "--save-input", str(tmp_path / "in")]) == 0
    )
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == [
        "digit-2.28x28.png",
        "digit.28x28.png",
    ]


@pytest.mark.slow
def test_many_large_uploads_of_every_format_at_once_share_one_decode_budget(served):
    """Eight small WebP files of 40 megapixels (which cannot be decoded reduced) are refused
    before decoding; eight 15-megapixel PNGs at once are read, one decode budget between them,
    and the server's peak memory stays under 500 MB (the shipped line reader, which reads the
    numbers, is loaded and run beside the digit model)."""
    from PIL import Image

    base, _, _, pid = served
    webp, png = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (8000, 4999), "white").save(webp, format="WEBP", quality=10)
    picture = Image.new("RGBA", (3870, 3870), (255, 255, 255, 255))
    picture.paste((0, 0, 0, 255), (1800, 1000, 2000, 2900))  # a thick 1
    picture.save(png, format="PNG", optimize=True)
    assert len(webp.getvalue()) < 300_000 and len(png.getvalue()) < 1_000_000

    def upload(data):
        return httpx.post(f"{base}/api/predict", files={"file": ("x", data)}, timeout=120)

    # The server is shared by this module's tests: its high-water mark is reset (Linux's
    # clear_refs), so that the peak measured is this test's, not an earlier test's.
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(upload, [webp.getvalue()] * 8 + [png.getvalue()] * 8))
    assert {answer.status_code for answer in answers[:8]} == {400}
    assert "over the limit of 16 megapixels for WEBP" in answers[0].json()["error"]
    assert {answer.status_code for answer in answers[8:]} == {200}
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    assert peak_kb < 500_000, f"serve peaked at {peak_kb // 1024} MB"


def every_mode() -> dict:
    grey = written()
    colour = Image.merge("RGB", [grey, grey.point(lambda v: 255 if v > 128 else 30), grey])
    palette = colour.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    white_on_clear = Image.new("RGBA", grey.size, (0, 0, 0, 0))
    white_on_clear.paste((255, 255, 255, 255), mask=grey.point(lambda v: 255 - v))
    # EXIF whose first entry points past the end of the block
    garbage = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\xff\xff\xff\xff"
    return {
        "GIF of a palette": saved(palette, format="GIF"),
        "palette PNG, transparent": saved(palette, format="PNG", transparency=0),
        "1-bit PNG": saved(grey.convert("1"), format="PNG"),
        "1-bit TIFF": saved(grey.convert("1"), format="TIFF"),
        "16-bit grey PNG": saved(
            Image.fromarray(np.asarray(grey).astype(np.uint16) * 257), format="PNG"
        ),
        "CMYK JPEG": saved(grey.convert("CMYK"), format="JPEG"),
        "JPEG with garbage EXIF": saved(grey.convert("RGB"), format="JPEG", exif=garbage),
        "white ink on a transparent canvas": saved(white_on_clear, format="PNG"),
    }


@pytest.mark.filterwarnings("ignore:Corrupt EXIF")  # kept quiet outside pytest: see below
@pytest.mark.parametrize("kind", list(every_mode()))
def test_images_of_every_ordinary_mode_are_read_as_their_grey_version_is(kind):
    from mnist_nn.reading.images import greys, read_image

    expected = greys(read_image(saved(written(), format="PNG"), "grey"))
    got = greys(read_image(every_mode()[kind], kind))
    assert got.shape == expected.shape == (300, 800)  # reduced by 3 to within 1024 px
    dark = lambda image: image < 0.5  # noqa: E731 - the ink, whichever way round it is
    ink = dark(got) if dark(got).mean() < 0.5 else ~dark(got)
    assert np.mean(ink != dark(expected)) < 0.01, kind


def test_pillows_warnings_about_an_image_do_not_reach_the_user(tmp_path):
    """A JPEG whose EXIF is damaged is read; Pillow's warning about it is not printed."""

    (tmp_path / "exif.jpg").write_bytes(every_mode()["JPEG with garbage EXIF"].getvalue())
    code = (
        "import sys; from mnist_nn.reading.images import greys, read_image; "
        "print(greys(read_image(sys.argv[1], 'x')).shape)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "exif.jpg")], capture_output=True, text=True
    )
    assert done.returncode == 0 and "(300, 800)" in done.stdout
    assert done.stderr == "", done.stderr


def test_a_png_bomb_of_50000_by_50000_says_it_is_too_large(tmp_path, capsys):
    import struct
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 50_001 * 100)
    bomb = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
    (tmp_path / "bomb.png").write_bytes(bomb)
    model = tmp_path / "model.npz"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(tmp_path / "bomb.png")]) == 1
    err = capsys.readouterr().err
    assert "claims more than" in err and "over the limit of 16" in err and err.count("\n") == 1


def progressive(subsampling: int) -> bytes:
    picture = Image.new("RGB", (8000, 5000), (240, 240, 235))
    ImageDraw.Draw(picture).line([(3000, 1000), (3000, 4000)], fill=(20, 20, 20), width=300)
    return saved(picture, format="JPEG", progressive=True, subsampling=subsampling).getvalue()


@pytest.mark.slow
def test_eight_progressive_8000x5000_jpegs_at_once_keep_the_server_under_500_mb(served, tmp_path):
    """A progressive JPEG's decoder holds every coefficient of the whole image (2 bytes each):
    its decodes are budgeted for that, so eight at once wait their turn; one whose coefficients
    alone are over the budget is refused before decoding."""
    folder = base_folder(served)
    server, base, _ = start_serve(folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        half_chroma, full_chroma = progressive(2), progressive(0)  # 4:2:0 and 4:4:4
        assert len(half_chroma) < 1_000_000

        def upload(data):
            return httpx.post(f"{base}/api/predict", files={"file": ("x.jpg", data)}, timeout=300)

        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(upload, [half_chroma] * 8 + [full_chroma] * 2))
        assert [answer.status_code for answer in answers] == [200] * 8 + [400] * 2
        assert "a progressive JPEG of 8000x5000 pixels needs about" in answers[-1].json()["error"]
        status = Path(f"/proc/{server.pid}/status").read_text()
        peak_kb = int(
            next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]
        )
        assert peak_kb < 500_000, f"serve peaked at {peak_kb // 1024} MB"
    finally:
        server.terminate()
        server.wait(timeout=10)


def noise() -> Image.Image:
    return Image.fromarray((np.random.default_rng(0).random((1000, 1000)) * 255).astype(np.uint8))


def written_downwards() -> Image.Image:
    """1984 written one digit above another."""
    picture = Image.new("L", (300, 1300), 255)
    pen = ImageDraw.Draw(picture)
    pen.line([(150, 50), (150, 300)], fill=0, width=25)
    pen.ellipse([(90, 360), (210, 480)], outline=0, width=25)
    pen.line([(205, 420), (190, 620)], fill=0, width=25)
    pen.ellipse([(95, 680), (205, 780)], outline=0, width=25)
    pen.ellipse([(85, 770), (215, 900)], outline=0, width=25)
    pen.line([(180, 960), (100, 1120)], fill=0, width=25)
    pen.line([(100, 1120), (220, 1120)], fill=0, width=25)
    pen.line([(180, 1040), (180, 1220)], fill=0, width=25)
    return picture


def smiley() -> Image.Image:
    """A face drawn on the page's pad (white on black, twice as wide as tall)."""
    picture = Image.new("L", (560, 280), 0)
    pen = ImageDraw.Draw(picture)
    pen.ellipse([(160, 20), (400, 260)], outline=255, width=14)
    pen.line([(228, 70), (228, 110)], fill=255, width=14)
    pen.line([(332, 70), (332, 110)], fill=255, width=14)
    pen.arc([(210, 120), (350, 220)], start=20, end=160, fill=255, width=14)
    return picture


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    argv = ["train", "--dataset", "digits", "--preset", "quick", "--epochs", "2"]
    assert main([*argv, "--out", str(folder)]) == 0
    return folder / "model.npz"


@pytest.mark.parametrize(
    "picture, said",
    [(noise, "noise, not writing"), (written_downwards, "4 marks one above another")],
    ids=["noise", "written-downwards"],
)
def test_noise_and_a_number_written_downwards_are_neither_a_digit_nor_a_number(
    picture, said, digits_model, tmp_path, capsys
):
    from fastapi.testclient import TestClient

    from mnist_nn.web.app import create_app

    path = tmp_path / "image.png"
    picture().save(path)
    capsys.readouterr()
    for flags in ([], ["--number"]):
        assert main(["predict", str(digits_model), str(path), *flags]) == 1
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
    client = TestClient(create_app(digits_model, "digits"))
    answer = client.post("/api/predict", files={"file": ("x.png", path.read_bytes())})
    assert answer.status_code == 400 and said in answer.json()["error"]


def test_a_face_drawn_on_the_pad_is_not_a_digit(digits_model, tmp_path, capsys):
    from fastapi.testclient import TestClient

    from mnist_nn.web.app import create_app

    path = tmp_path / "face.png"
    smiley().save(path)
    client = TestClient(create_app(digits_model, "digits"))
    answer = client.post("/api/predict", files={"file": ("pad.png", path.read_bytes())}).json()
    assert answer["verdict"] == "not a digit" and answer["is_number"] is False
    assert main(["predict", str(digits_model), str(path), "--number", "--json"]) == 0
    [read] = json.loads(capsys.readouterr().out)
    assert read["number"] == "?" and read["digits"][0]["verdict"] == "not a digit"
