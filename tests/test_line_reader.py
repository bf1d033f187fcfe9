"""The line reader: a stack that ends in columns, trained with CTC through the one training loop,
saved and loaded like any model, and reading a picture of a number whole."""

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import Dataset, Split
from mnist_nn.data.framing import frame_line
from mnist_nn.data.lines import EXTRAS, HEIGHT, make_lines
from mnist_nn.errors import UserError
from mnist_nn.estimator import MLPClassifier
from mnist_nn.nn.network import build_network
from mnist_nn.nn.stack import LINE_WIDTH, column_positions, parse_stack, plan_network
from mnist_nn.presets import PRESETS
from mnist_nn.reading.line_reader import LineReader
from mnist_nn.saving.model_files import load_model, save_model
from mnist_nn.train.loop import Trainer, exactly_right

SMALL = "conv8x3 bn pool conv16x3 bn pool conv16x3 bn conv16x3 bn columns"  # the preset, narrower


@pytest.mark.parametrize(
    "stack",
    ["columns conv8x3", "conv8x3 columns columns", "conv8x3 dense8 columns",
     "conv8x3 columns pool"],
)  # fmt: skip
def test_columns_come_once_after_the_image_layers(stack):
    with pytest.raises(ValueError, match="columns comes once|image layers come first"):
        parse_stack(stack)


def test_after_columns_each_layer_answers_once_per_column():
    plan = plan_network(HEIGHT * LINE_WIDTH, 11, layers=PRESETS["line"].layers)
    columns = next(layer for layer in plan if layer.kind == "columns")
    assert columns.input_shape == (128, 1, 26) and columns.output_shape == (5 * 128,)
    assert plan[-2].kind == "dense" and plan[-2].weight_shape == (5 * 128, 128)
    assert plan[-1].kind == "output" and plan[-1].weight_shape == (128, 11)


def test_a_column_sees_exactly_the_pixels_its_position_says():
    """A bar drawn at pixel column x changes the outputs of columns whose receptive field holds
    it, centred on stride·t + offset, and of no other: 26 px wide for the preset's convolutions
    (4t to 4t + 25), and two columns (8 px) more either side for its columns5."""
    network = build_network([HEIGHT * LINE_WIDTH, 11], np.random.default_rng(0), "float64",
                            "relu", "ctc", layers=PRESETS["line"].layers)  # fmt: skip
    stride, offset = column_positions(PRESETS["line"].layers)
    assert (stride, offset) == (4, 12.5)
    blank = np.zeros((1, HEIGHT, LINE_WIDTH))
    before = network.forward(blank.reshape(1, -1)).copy()
    for x in (14, 40, 77, 110):
        barred = blank.copy()
        barred[0, 4:24, x] = 1.0
        change = np.abs(network.forward(barred.reshape(1, -1)) - before).max(axis=1)
        changed = np.flatnonzero(change > 1e-12)
        assert len(changed) and np.all(np.abs(stride * changed + offset - x) <= 12.5 + 8), x
        assert np.abs(stride * changed + offset - x).max() > 12.5  # the neighbours' too


def test_ctc_goes_with_a_stack_of_columns_and_only_with_one():
    with pytest.raises(UserError, match="reads lines of digits"):
        TrainConfig(loss="ctc").validated()
    with pytest.raises(UserError, match="train it with loss=ctc"):
        TrainConfig(layers=SMALL, loss="cross_entropy").validated()
    assert PRESETS["line"].validated().loss == "ctc"


@pytest.mark.parametrize("setting", ["augment_rotation", "augment_scale"])
def test_a_line_reader_is_not_turned_or_scaled_about_its_middle(setting):
    line = replace(PRESETS["line"], **{setting: 0.1})
    with pytest.raises(UserError, match="cut its first and last digits off"):
        line.validated()


def test_a_number_is_right_only_with_every_digit_whatever_the_padding():
    labels = np.array([[1, 2, -1], [3, -1, -1], [4, 4, 4]])
    read = np.array([[1, 2, -1, -1, -1], [3, 3, -1, -1, -1], [4, 4, 4, -1, -1]])
    assert exactly_right(read, labels).tolist() == [True, False, True]
    assert exactly_right(np.array([1, 2]), np.array([1, 3])).tolist() == [True, False]


def glyphs():
    """Ten stand-ins for digits that a small network tells apart at once: a stem with bars at
    four heights, label + 1's bits saying which."""
    labels = np.random.default_rng(0).integers(0, 10, 200)
    images = np.zeros((200, 28, 28), dtype=np.float32)
    for image, label in zip(images, labels, strict=True):
        image[4:24, 10:12] = 1.0
        for bit, row in enumerate((5, 10, 15, 20)):
            if (label + 1) >> bit & 1:
                image[row : row + 2, 12:19] = 1.0
    return images.reshape(200, 784), labels


def line_split(count, seed, width=64):
    images, labels = glyphs()
    plain = dict.fromkeys(EXTRAS, 0.0)  # no flags, bars or lines: only the glyphs, apart
    return Split(*make_lines(images, labels, count, np.random.default_rng(seed), width=width,
                             digits=(1, 3), extras=plain, spacing="apart"))  # fmt: skip


def test_a_line_network_learns_through_the_one_training_loop(tmp_path):
    """With context (columns3) and its lines moved and slanted as they are learnt from."""
    width = 64
    dataset = Dataset("lines", "blocks", line_split(600, 1, width), line_split(100, 2, width),
                      line_split(100, 3, width), classes=11)  # fmt: skip
    config = TrainConfig(epochs=8, batch_size=32, layers=SMALL + "3", activation="relu",
                         loss="ctc", optimizer="adam", learning_rate=0.01, augment_shift=1,
                         augment_shear=5)  # fmt: skip
    trainer = Trainer(config, HEIGHT * width, 11)
    result = trainer.fit(dataset)
    history = result.history
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 3
    assert history[-1]["val_accuracy"] > 0.8 and result.test_accuracy > 0.8  # whole numbers
    predicted = result.network.predict(dataset.test.images[:5])
    assert predicted.shape == (5, 10)  # one place per column (64 px: 10), padded with −1
    # saved and loaded like any model: the same readings, batch norm's statistics and all
    save_model(tmp_path / "line.npz", result.network, {"dataset": "lines"})
    network, _ = load_model(tmp_path / "line.npz")
    assert np.array_equal(network.predict(dataset.test.images), result.network.predict(
        dataset.test.images))  # fmt: skip


def drawn_number(text: str, size=(360, 90), slant=0) -> np.ndarray:
    """Dark digits on light paper, as a photo of a number would have them."""
    picture = Image.new("L", size, 230)
    draw = ImageDraw.Draw(picture)
    draw.text((20, 15), text, fill=20, font_size=60)
    return np.asarray(picture, dtype=np.float32) / 255


def test_a_picture_of_a_line_is_framed_like_the_lines_learnt_from():
    grey = drawn_number("2045")
    grey[80:83, 5:350] = 0.1  # a ruled line under it: dropped
    line = frame_line(grey, LINE_WIDTH)
    assert line.shape == (HEIGHT, LINE_WIDTH) and line.max() == pytest.approx(1.0)
    rows = np.flatnonzero(line.max(axis=1) > 0.2)
    columns = np.flatnonzero(line.max(axis=0) > 0.2)
    assert 22 <= rows[-1] - rows[0] + 1 <= 24 and columns[0] <= 3  # 24 rows, from the left
    assert columns[-1] < LINE_WIDTH - 8
    assert frame_line(np.full((50, 200), 0.9, np.float32), LINE_WIDTH) is None  # blank paper


def test_a_line_model_reads_a_picture_with_each_digit_boxed():
    network = build_network([HEIGHT * LINE_WIDTH, 11], np.random.default_rng(0), "float32",
                            "relu", "ctc", layers=SMALL)  # fmt: skip
    bias = network.layers[-1].bias
    bias[:] = -5
    bias[7] = 5  # a reader that answers 7 at every column: one 7 whose columns span the line
    grey = drawn_number("777")
    [seven] = LineReader(network).read_line(grey)
    assert seven.label == 7 and seven.probability > 0.99 and seven.pixels.shape == (784,)
    left, top, right, bottom = seven.box
    ink = np.argwhere(grey < 0.5)
    assert left <= ink[:, 1].min() + 2 and right >= ink[:, 1].max() - 2  # the whole line's ink
    assert top <= ink[:, 0].min() + 2 and bottom >= ink[:, 0].max() - 2
    assert LineReader(network).read_line(np.ones((40, 100), np.float32)) == []
    with pytest.raises(UserError, match="reads single digits"):
        LineReader(build_network([784, 10], np.random.default_rng(0)))


def numbers_folder(folder, numbers=("2045", "317", "90", "5528", "61", "774", "8", "1203", "46",
                                    "3391", "250")):  # fmt: skip
    """A folder laid out as ../shared/data/car-a: images/ and labels.csv (file,number)."""
    (folder / "images").mkdir(parents=True)
    rows = ["file,number,width,height"]
    for i, number in enumerate(numbers):
        Image.fromarray((drawn_number(number) * 255).astype(np.uint8)).save(
            folder / "images" / f"n{i}.png"
        )
        rows.append(f"n{i}.png,{number},360,90")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no folder", "no such folder"),
        ("no labels", "no labels.csv in it"),
        ("no header", "needs a header row with file and number"),
        ("not a number", "line 2: '20x5' is not a number of 1 to 8 digits"),
        ("too long", "line 2: '123456789' is not a number of 1 to 8 digits"),
        ("missing image", "line 2: no image 'gone.png' in images/"),
        ("outside", "line 2: no image '../labels.csv' in images/"),
    ],
)
def test_a_numbers_folder_is_checked_in_one_line(tmp_path, damage, message):
    from mnist_nn.reading.number_folders import read_numbers_folder

    folder = numbers_folder(tmp_path / "numbers", ("2045",))
    labels = folder / "labels.csv"
    if damage == "no folder":
        folder = tmp_path / "nowhere"
    elif damage == "no labels":
        labels.unlink()
    elif damage == "no header":
        labels.write_text("n0.png,2045\n")
    else:
        file, number = {"not a number": ("n0.png", "20x5"), "too long": ("n0.png", "123456789"),
                        "missing image": ("gone.png", "2045"),
                        "outside": ("../labels.csv", "1")}[damage]  # fmt: skip
        labels.write_text(f"file,number\n{file},{number}\n")
    with pytest.raises(UserError, match=message):
        read_numbers_folder(folder)


def test_folds_are_ten_disjoint_tenths_and_variants_keep_the_labels(tmp_path):
    from mnist_nn.reading.number_folders import fold_of, framed_numbers, read_numbers_folder

    folds = [fold_of(1080, k) for k in range(10)]
    assert sorted(np.concatenate(folds).tolist()) == list(range(1080))
    assert {len(fold) for fold in folds} == {108}
    entries = read_numbers_folder(numbers_folder(tmp_path / "numbers"))
    lines, targets = framed_numbers(entries[:2], copies=3, rng=np.random.default_rng(0))
    assert (
        lines.shape == (6, HEIGHT * LINE_WIDTH)
        and targets[:3, :5].tolist() == [[2, 0, 4, 5, -1]] * 3
    )
    assert not np.array_equal(lines[0], lines[1])  # each copy drawn differently


@pytest.mark.mnist
def test_train_a_line_reader_on_real_numbers_and_read_with_it(tmp_path, mnist_dir, capsys):
    from mnist_nn.cli.parser import main

    folder = numbers_folder(tmp_path / "numbers")
    out = tmp_path / "run"
    argv = ["train", "--preset", "line", "--lines", "64", "--epochs", "1", "--numbers",
            str(folder), "--fold", "0", "--data-dir", str(mnist_dir),
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "and the real numbers of" in said and "fold 0 held out" in said
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "lines" and metrics["config"]["loss"] == "ctc"
    image = folder / "images" / "n0.png"
    code = main(["predict", str(out / "model.npz"), str(image), "--json"])
    captured = capsys.readouterr()
    if code == 0:  # one epoch on 64 lines: it may read something, or nothing yet
        [answer] = json.loads(captured.out)
        assert set(answer) >= {"number", "digits"}
        assert all(0 <= d["box"][0] <= d["box"][2] <= 360 for d in answer["digits"])
    else:
        assert "read no digit in it" in captured.err
    assert main(["train", "--numbers", str(folder), "--out", str(out)]) == 1
    assert "--numbers and --fold are for a line reader" in capsys.readouterr().err


def test_a_miss_on_a_real_number_is_named_by_its_kind():
    from benchmarks.numbers import kind_of_miss

    assert kind_of_miss("1500", "15007") == "inserted"  # a closing dash read as a 7
    assert kind_of_miss("1480", "480") == "dropped"
    assert kind_of_miss("530", "536") == "misread"
    assert kind_of_miss("5221", "521") == "dropped"
    assert kind_of_miss("38117", "3818") == "merged"  # 17 read as one 8
    assert kind_of_miss("19624", "19624") == "right"


def test_numbers_are_read_whole_by_the_shipped_reader_unless_cutting_is_asked_for(monkeypatch):
    from mnist_nn.reading import line_reader
    from mnist_nn.reading.reader import Reader

    digit_reader = Reader(build_network([784, 10], np.random.default_rng(0)))
    line_model = LineReader(build_network([HEIGHT * LINE_WIDTH, 11], np.random.default_rng(0),
                                          "float32", "relu", "ctc", layers=SMALL))  # fmt: skip
    monkeypatch.setattr(line_reader, "shipped_line_reader", lambda: line_model)
    assert line_reader.number_reader(digit_reader) is line_model  # the best reader here
    assert line_reader.number_reader(digit_reader, cut=True) is digit_reader  # cut, each read
    assert line_reader.number_reader(line_model, cut=True) is line_model  # it cannot cut
    monkeypatch.setattr(line_reader, "shipped_line_reader", lambda: None)  # none shipped
    assert line_reader.number_reader(digit_reader) is digit_reader


def line_model_file(tmp_path, width=LINE_WIDTH):
    network = build_network([HEIGHT * width, 11], np.random.default_rng(0), "float32", "relu",
                            "ctc", layers=SMALL)  # fmt: skip
    network.layers[-1].bias[:] = -5
    network.layers[-1].bias[3] = 5  # reads 3s: some answer for any ink
    path = tmp_path / "line.npz"
    save_model(path, network, {"dataset": "lines"})
    return path


def saved_png(tmp_path, name: str, grey: np.ndarray) -> str:
    path = tmp_path / name
    Image.fromarray((np.clip(grey, 0, 1) * 255).astype(np.uint8)).save(path)
    return str(path)


def test_hostile_pictures_of_numbers_get_one_line_each(tmp_path, capsys):
    from mnist_nn.cli.parser import main

    model = str(line_model_file(tmp_path))
    scrawl = drawn_number("1234567890" * 10, size=(6000, 90))  # a 100-digit scrawl
    strip = drawn_number("90817263" * 25, size=(12_000, 120))  # a strip 12,000 px long
    noise = np.random.default_rng(0).random((200, 400)).astype(np.float32)
    for name, grey, message in [
        ("scrawl.png", scrawl, "(separate marks: more than a number|times as long as it is)"),
        ("strip.png", strip, "(times as long as it is high|noise, not writing)"),
        ("noise.png", noise, "noise"),
    ]:
        assert main(["predict", model, saved_png(tmp_path, name, grey)]) == 1
        err = capsys.readouterr().err
        assert re.search(message, err) and err.count("\n") == 1, (name, err)


def test_a_line_model_file_claiming_an_absurd_line_is_refused_before_it_is_built(tmp_path):
    """A line model's weights do not grow with the line, so a file could claim a line a million
    pixels wide and cost gigabytes on first use: the width is capped when the file is read."""
    path = line_model_file(tmp_path)
    with np.load(path) as stored:
        arrays = dict(stored)
    metadata = json.loads(str(arrays["metadata"]))
    metadata["architecture"]["sizes"] = [HEIGHT * 1_000_000, 11]
    np.savez(path, **{**arrays, "metadata": np.array(json.dumps(metadata))})
    with pytest.raises(UserError, match="describes no network this version builds"):
        load_model(path)
    metadata["architecture"].update(sizes=[HEIGHT * LINE_WIDTH, 11], loss="cross_entropy")
    np.savez(path, **{**arrays, "metadata": np.array(json.dumps(metadata))})
    with pytest.raises(UserError, match="describes no network this version builds"):
        load_model(path)  # columns answer per column: only CTC reads them


def test_the_edge_of_a_page_is_not_part_of_the_line_but_digits_at_the_border_are():
    from mnist_nn.data.framing import line_pieces

    mask = np.zeros((200, 100), dtype=bool)
    mask[:, :12] = True  # a dark band down the page's edge, as a photo of a ledger has
    mask[80:120, 40:44] = True  # a 1
    mask[90:130, 60:75] = True  # a blot of a digit
    mask[0:30, 90:93] = True  # a stroke cut by the crop's border: a digit's, kept
    kept = line_pieces(mask)
    assert not kept[:, :12].any() and kept[80:120, 40:44].all() and kept[0:30, 90:93].all()


def test_a_ledgers_frame_goes_and_the_digits_written_in_it_stay_even_where_they_touch_it():
    """A crop of a ledger's column: a frame of thin lines (the top rule, the column's side, a bit
    aslant) round a small number; one digit joined to the side by the pen."""
    from mnist_nn.data.framing import line_pieces

    mask = np.zeros((200, 100), dtype=bool)
    mask[0:2, 20:100] = True  # the rule along the top
    for row in range(200):  # the column's side, one pixel aslant over its height
        mask[row, 96 + row // 100 : 98 + row // 100] = True
    mask[90:110, 40:43] = True  # a 1
    mask[90:110, 60:75] = mask[90:110, 75:97] = False
    mask[90:110, 60:63] = mask[90:92, 60:97] = True  # a 7 whose bar runs into the side
    kept = line_pieces(mask)
    assert kept[90:110, 40:43].all() and kept[90:110, 60:63].all() and kept[90:92, 65:94].all()
    assert not kept[:2].any() and not kept[:80, 95:].any() and not kept[120:, 95:].any()


CAR_A = Path(os.environ.get("MNIST_NN_CAR_A_DIR", "/nonexistent"))


def test_the_shipped_reader_reads_the_checks_of_the_fold_it_never_learned_from():
    from benchmarks.numbers import folder_entries, real_numbers
    from mnist_nn.reading.line_reader import shipped_line_reader

    if not (CAR_A / "labels.csv").is_file():
        pytest.skip(
            "needs the CAR-A bank-check amounts (other people's work, not shipped): set "
            "MNIST_NN_CAR_A_DIR to the folder (images/ and labels.csv)"
        )
    right, total, misses, _ = real_numbers(shipped_line_reader(), folder_entries(CAR_A, 0))
    # A development figure: 96/108 measured (docs/reading-lines.md); this guards against worse.
    assert total == 108 and right >= 93, misses


NUMBERS = Path(os.environ.get("MNIST_NN_NUMBERS_DIR", "/nonexistent"))


def test_the_shipped_reader_reads_other_writers_numbers_plain_1s_and_ledger_crops_too():
    """The development set's 37 numbers: photos, scans and drawings by other writers, plain
    upright 1s at either end of a number, small numbers in a ledger's frame."""
    from benchmarks.numbers import folder_entries, real_numbers
    from mnist_nn.reading.line_reader import shipped_line_reader

    if not (NUMBERS / "labels.csv").is_file():
        pytest.skip(
            "needs the development set of real numbers (other people's work, not shipped): set "
            "MNIST_NN_NUMBERS_DIR to the folder (images/ and labels.csv)"
        )
    right, total, misses, _ = real_numbers(shipped_line_reader(), folder_entries(NUMBERS))
    # 30/37 measured (docs/reading-lines.md); a reader before dropped plain 1s (17/37)
    assert total == 37 and right >= 28, misses


def test_the_page_and_the_estimator_train_digit_readers_and_say_where_lines_are_trained():
    from mnist_nn.web.session import config_from_settings

    with pytest.raises(UserError, match="train it with `mnist-nn train --preset line`"):
        config_from_settings({"preset": "line"})
    with pytest.raises(UserError, match="learns from lines of digits"):
        TrainConfig(layers=SMALL, loss="ctc").validated("estimator")
    with pytest.raises(ValueError, match="layers with columns"):  # its own word, not --layers
        MLPClassifier(layers=SMALL, loss="ctc").fit(np.zeros((4, 784)), [0, 1, 2, 3])
    assert PRESETS["line"].validated("cli").loss == "ctc"


def test_a_line_reader_given_single_digits_is_refused_before_training(tmp_path, capsys):
    from mnist_nn.cli.parser import main

    assert main(["sweep", "--preset", "line", "--dataset", "digits", "--epochs", "1",
                 "--workers", "1", "--grid", "learning_rate=0.01,0.02",
                 "--out", str(tmp_path)]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "train it with `mnist-nn train --preset line`" in err and "Traceback" not in err
