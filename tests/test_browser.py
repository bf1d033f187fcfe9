"""The page in a real browser: headless Debian chromium, driven by Playwright.

Draw a digit with the mouse and upload a file, train a network on the page, as a person would,
and check what the page shows; audit it with axe-core. Skipped (saying why) where
/usr/bin/chromium or axe-core is missing; `.ci/run` installs both.
"""

import json
import math
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from mnist_nn.cli.parser import main

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # a browser starts for each module's pages: left out of the quick lap
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"
    ),
]


def serve(app):
    """Run `app` with uvicorn on a free local port in a thread; yield its address."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mnist-nn serve`'s app with a model trained on the offline digits."""
    from mnist_nn.web.app import create_app

    out = tmp_path_factory.mktemp("served")
    argv = ["train", "--dataset", "digits", "--preset", "quick", "--epochs", "6"]
    assert main([*argv, "--out", str(out)]) == 0
    yield from serve(create_app(out / "model.npz"))


@pytest.fixture(scope="module")
def empty_server(mnist_dir):
    """`mnist-nn serve` with no model, on MNIST: the page opens on training."""
    from mnist_nn.web.app import create_app

    yield from serve(create_app(None, dataset="mnist", data_dir=mnist_dir))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1000, "height": 1100})
    page.goto(server)
    page.wait_for_selector("#confusion button")  # the model panel has loaded
    yield page
    page.close()


def input_ink(page) -> int:
    """How much is drawn on the 'what it received' preview canvas."""
    return page.evaluate(
        """() => {
            const c = document.getElementById('input');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 0; i < d.length; i += 4) ink += d[i];
            return ink;
        }"""
    )


def draw(page, *strokes) -> None:
    """Draw polylines on the pad with the mouse, in the pad's own pixels (560x280)."""
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 560
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0] * scale, box["y"] + stroke[0][1] * scale)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=6)
        page.mouse.up()


def test_drawing_a_digit_shows_prediction_bars_and_preview(page, tmp_path):
    draw(page, [(280, 40), (280, 240)])  # a one: a single stroke down the middle
    page.wait_for_function("document.getElementById('digit').textContent !== '?'")
    assert page.text_content("#digit") in [str(d) for d in range(10)]
    widths = page.eval_on_selector_all(".bars .fill", "bars => bars.map(b => b.style.width)")
    assert len(widths) == 10 and any(w not in ("", "0", "0%", "0.0%") for w in widths)
    assert "Read your drawing as" in page.text_content("#status")
    assert input_ink(page) > 0
    page.screenshot(path=str(tmp_path / "drawn.png"), full_page=True)
    with Image.open(tmp_path / "drawn.png") as shot:
        assert shot.width >= 1000

    page.click("#clear")
    assert page.text_content("#digit") == "?"


def test_uploading_an_image_file(page, tmp_path):
    picture = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(picture).ellipse((150, 40, 260, 260), outline="black", width=22)  # a zero
    picture.save(tmp_path / "zero.jpg")
    page.set_input_files("#file", str(tmp_path / "zero.jpg"))
    page.wait_for_function("document.getElementById('status').textContent.includes('zero.jpg')")
    assert page.text_content("#digit") in [str(d) for d in range(10)]
    assert input_ink(page) > 0


def test_a_bad_upload_is_reported_on_the_page(page, tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    page.set_input_files("#file", str(tmp_path / "notes.png"))
    page.wait_for_function("document.getElementById('status').textContent.includes('not an image')")
    assert page.text_content("#digit") == "?"


def test_confusion_cells_show_their_test_digits(page):
    page.click("#confusion button[data-true='0'][data-predicted='0']")
    page.wait_for_selector("#examples canvas")
    assert "test digits 0 read as 0" in page.text_content("#examples-title")


def test_narrow_phone_screen_keeps_everything_usable(browser, server):
    phone = browser.new_page(viewport={"width": 375, "height": 740}, has_touch=True)
    phone.goto(server)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375  # no sideways scrolling of the page
    pad = phone.locator("#pad").bounding_box()
    assert pad["width"] <= 375 and pad["width"] > 200
    phone.close()


def axe_script() -> Path:
    """axe-core's script (npm package), where .ci/run installs it or $AXE_CORE_JS says."""
    candidates = [
        os.environ.get("AXE_CORE_JS"),
        "/tmp/mnist-nn-axe/node_modules/axe-core/axe.min.js",
    ]
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            return Path(candidate)
    pytest.skip(
        "needs axe-core: npm install --prefix /tmp/mnist-nn-axe axe-core (or set AXE_CORE_JS)"
    )


def accessibility_violations(page) -> list:
    """axe-core's WCAG 2.1 A/AA and best-practice violations on the page as it is now."""
    page.add_script_tag(path=str(axe_script()))
    return page.evaluate(
        """async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({id: v.id, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )


@pytest.mark.parametrize("width", [1000, 375])
def test_no_accessibility_violations_with_a_model(browser, server, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server)
    page.wait_for_selector("#confusion button")
    assert accessibility_violations(page) == []
    page.close()


def batches_done(page) -> int:
    return page.evaluate("() => window.mnistTrainBatches()")


def test_train_on_the_page_pause_resume_change_the_rate_then_draw_on_the_new_model(
    browser, empty_server, tmp_path
):
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(empty_server)
    page.wait_for_function("document.body.classList.contains('no-model')")
    assert page.locator("#train").bounding_box()["y"] < page.locator("#pad").bounding_box()["y"]
    assert accessibility_violations(page) == []  # no model, no run
    page.wait_for_function("document.querySelector('select[name=preset]').value !== ''")
    assert page.input_value("select[name=preset]") == "quick"  # no model: the quick preset
    # One epoch of the quick preset, in small batches so that there is time to press buttons.
    page.fill("input[name=epochs]", "1")
    page.fill("input[name=batch_size]", "2")
    page.click("#start")
    page.wait_for_function("window.mnistTrainBatches() > 50")
    points = page.evaluate("() => window.mnistTrainPoints()")
    page.wait_for_function(f"window.mnistTrainPoints() > {points}")  # the curve grows
    page.screenshot(path=str(tmp_path / "training.png"), full_page=True)
    page.click("#pause")
    page.wait_for_function(
        "document.getElementById('train-status').textContent.startsWith('Paused')"
    )
    # The page keeps the newest summary of the run (the Pause button's answer, computed while the
    # last mini-batch ran, can arrive after the event that says "Paused"): the counter stopped.
    paused_at = batches_done(page)
    time.sleep(0.6)
    assert batches_done(page) == paused_at
    page.click("#step")
    page.wait_for_function(f"window.mnistTrainBatches() === {paused_at + 1}")
    page.fill("#live-learning_rate", "0.002")
    page.click("#apply")
    page.wait_for_function("document.getElementById('train-status').textContent.includes('0.002')")
    page.click("#resume")
    page.wait_for_function(f"window.mnistTrainBatches() > {paused_at + 1}")
    assert (
        json.loads(page.evaluate("() => JSON.stringify(window.mnistTrainRun())"))["learning_rate"]
        == 0.002
    )
    page.wait_for_function(
        "document.getElementById('train-status').textContent.startsWith('Finished')",
        timeout=120_000,
    )
    status = page.text_content("#train-status")
    assert "test accuracy" in status
    assert accessibility_violations(page) == []  # a finished run, its pictures and matrix
    page.click("#use")
    page.wait_for_selector("#confusion button")  # the model panel now shows the new model
    draw_a_one(page)
    page.wait_for_function("document.getElementById('digit').textContent !== '?'")
    assert "Read your drawing as" in page.text_content("#status")
    download = page.get_attribute("#download", "href")
    assert download == "/api/train/model.npz"
    page.close()
    phone = browser.new_page(viewport={"width": 375, "height": 740}, has_touch=True)
    phone.goto(empty_server)
    phone.wait_for_function("window.mnistTrainRun().state === 'finished'")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert accessibility_violations(phone) == []
    phone.close()


def ink_of(page, canvas_id: str) -> int:
    """How many pixels of a canvas are coloured (not white, not transparent)."""
    return page.evaluate(
        """(id) => {
            const c = document.getElementById(id);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let coloured = 0;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] > 0 && (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250)) coloured++;
            }
            return coloured;
        }""",
        canvas_id,
    )


def test_a_conv_net_trained_on_the_page_shows_its_filters_and_the_pads_feature_maps(
    browser, empty_server
):
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(empty_server)
    page.wait_for_function("document.querySelector('select[name=preset]').value !== ''")
    page.wait_for_function("!['running', 'paused'].includes(window.mnistTrainRun().state)")
    page.fill("input[name=layers]", "conv6x5 pool dense32")
    page.fill("input[name=epochs]", "1")
    page.click("#start")
    page.wait_for_function(
        "document.getElementById('train-status').textContent.startsWith('Finished')",
        timeout=120_000,
    )
    # The live filters: 5x5 tiles, and the caption says they are filters.
    assert "5x5 filters" in page.text_content("#weights-caption")
    assert ink_of(page, "weights") > 0
    assert page.locator("#maps-figure").is_hidden()  # nothing drawn on the pad yet
    draw_a_one(page)
    page.wait_for_function("!document.getElementById('maps-figure').hidden")
    assert "by the model in training" in page.text_content("#status")
    assert ink_of(page, "feature-maps") > 0  # six 24x24 maps of the one
    assert accessibility_violations(page) == []
    page.close()


def draw_a_one(page) -> None:
    draw(page, [(280, 40), (280, 240)])


def ellipse(x, y, rx, ry, points=24):
    angles = [2 * math.pi * i / points for i in range(points + 1)]
    return [(x + rx * math.sin(a), y - ry * math.cos(a)) for a in angles]


TWO = [(15, 75), (35, 45), (75, 40), (95, 75), (85, 120), (15, 225), (105, 225)]
FOUR = [[(70, 40), (10, 160), (105, 160)], [(80, 100), (80, 235)]]  # in two strokes


@pytest.fixture(scope="module")
def mnist_server(tmp_path_factory, mnist_dir):
    """`mnist-nn serve` with a model of the quick preset trained on MNIST for 3 epochs."""
    from mnist_nn.web.app import create_app

    out = tmp_path_factory.mktemp("mnist-served")
    argv = ["train", "--preset", "quick", "--epochs", "3", "--data-dir", str(mnist_dir)]
    assert main([*argv, "--out", str(out)]) == 0
    yield from serve(create_app(out / "model.npz"))


def test_a_number_written_on_the_pad_is_read_with_a_box_per_digit(browser, mnist_server):
    page = browser.new_page(viewport={"width": 1000, "height": 1100})
    page.goto(mnist_server)
    page.wait_for_selector("#confusion button")

    def shifted(stroke, dx):
        return [(x + dx, y) for x, y in stroke]

    draw(page, shifted(TWO, 20), ellipse(205, 135, 42, 95), shifted(TWO, 290),
         *(shifted(stroke, 420) for stroke in FOUR))  # fmt: skip
    page.wait_for_function("document.getElementById('digit').textContent.length === 4")
    assert page.text_content("#digit") == "2024"
    assert page.get_attribute("#number-view", "data-boxes") == "4"
    assert page.is_visible("#number-view")
    assert "the number 2024" in page.text_content("#status")
    # Each digit in its own frame, its reading and confidence under it; pointing at one shows
    # what that digit gave the network (not the whole number squashed into 28x28).
    frames = page.query_selector_all("#digit-frames .frame")
    readings = [frame.text_content() for frame in frames]
    assert len(frames) == 4 and "".join(reading[0] for reading in readings) == "2024"
    assert all(re.fullmatch(r"\d\?? · \d+(\.\d)?%", reading) for reading in readings), readings
    assert page.get_attribute("#input", "data-digit") == "1"
    frames[2].hover()
    assert page.get_attribute("#input", "data-digit") == "3"
    assert page.text_content("#input-caption").startswith("Digit 3 of 4")
    assert accessibility_violations(page) == []
    page.close()


FIVE = [(235, 45), (160, 45), (155, 125), (200, 112), (235, 140), (232, 200), (195, 228),
        (150, 212)]  # fmt: skip


def test_an_amount_with_a_separator_and_a_closing_dash_is_read_by_the_shipped_line_reader(
    browser, mnist_server
):
    """25.70- written on the pad, as on a check: the line reader reads the digits and passes
    over the dot and the dash, each digit boxed; a letter is still not a digit."""
    page = browser.new_page(viewport={"width": 1000, "height": 1100})
    page.goto(mnist_server)
    page.wait_for_selector("#confusion button")
    draw(page, [(x + 10, y) for x, y in TWO], FIVE, [(262, 222), (264, 224)],
         [(290, 45), (380, 45), (325, 230)], ellipse(445, 135, 40, 92),
         [(505, 140), (545, 140)])  # fmt: skip
    page.wait_for_function("document.getElementById('status').textContent.includes('2570')")
    assert page.text_content("#digit") == "2570"
    assert page.get_attribute("#number-view", "data-boxes") == "4"
    assert "read by the shipped line reader" in page.text_content("#status")
    assert len(page.query_selector_all("#digit-frames .frame")) == 4
    assert accessibility_violations(page) == []
    page.click("#clear")
    draw(page, [(230, 250), (280, 30), (330, 250)], [(250, 170), (310, 170)])  # an A
    page.wait_for_function(
        "document.getElementById('verdict').textContent.includes(\"doesn't look like a digit\")"
    )
    page.close()


def test_a_letter_on_the_pad_is_said_not_to_be_a_digit(page):
    draw(page, [(230, 250), (280, 30), (330, 250)], [(250, 170), (310, 170)])  # an A
    # The pad is read after each stroke: the first alone (a Λ) may be "unsure"; the A is not a
    # digit once its bar is read (a timeout here: it never said so).
    page.wait_for_function(
        "document.getElementById('verdict').textContent.includes(\"doesn't look like a digit\")"
    )
    assert page.text_content("#digit") == "✗"
    assert page.eval_on_selector("#bars", "bars => bars.classList.contains('greyed')")


FOREIGN_PAGE = """<!doctype html><html><body>
<form id="form" method="POST" action="{target}api/train/stop" enctype="text/plain">
  <input name='{{"preset": "quick", "x": "' value='"}}'>
</form>
<script>
  const target = "{target}";
  // A fetch no page may send without asking first (text/plain: no preflight) ...
  fetch(target + "api/train", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain"}}, body: '{{"preset": "quick"}}'}})
    .finally(() => fetch(target + "api/train/use", {{method: "POST", mode: "no-cors"}}))
    .finally(() => {{ document.title = "sent"; }});
</script>
</body></html>"""


def test_a_page_of_another_site_cannot_drive_the_server(browser, server):
    """A real page on another port fetches and posts a form to the server: all refused."""
    import urllib.request

    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    foreign = Starlette(routes=[Route("/", lambda request: HTMLResponse(
        FOREIGN_PAGE.format(target=server)))])  # fmt: skip
    before = json.load(urllib.request.urlopen(server + "api/train"))
    for address in serve(foreign):
        page = browser.new_page()
        page.goto(address)
        page.wait_for_function("document.title === 'sent'")
        with page.expect_navigation():
            page.evaluate("document.getElementById('form').submit()")  # a plain HTML form
        assert "another site" in page.content()  # the server's one-line refusal
        page.close()
    assert json.load(urllib.request.urlopen(server + "api/train")) == before  # nothing started
    assert urllib.request.urlopen(server + "api/model").status == 200  # nor swapped
