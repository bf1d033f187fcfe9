"""The page in a real browser: headless Debian chromium, driven by Playwright.

Draw a digit with the mouse and upload a file, as a person would, and check what the page shows.
Skipped (saying why) where /usr/bin/chromium is missing; `.ci/run` installs it.
"""

import socket
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from mnist_nn.cli import main

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

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mnist-nn serve`'s app on a free local port, with a model trained on the offline digits."""
    import uvicorn

    from mnist_nn.web.app import create_app

    out = tmp_path_factory.mktemp("served")
    argv = ["train", "--dataset", "digits", "--preset", "quick", "--epochs", "6"]
    assert main([*argv, "--out", str(out)]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(out / "model.npz"), port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


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


def test_drawing_a_digit_shows_prediction_bars_and_preview(page, tmp_path):
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280

    def at(x, y):
        return box["x"] + x * scale, box["y"] + y * scale

    page.mouse.move(*at(140, 40))  # a one: a single stroke down the middle
    page.mouse.down()
    page.mouse.move(*at(140, 240), steps=15)
    page.mouse.up()
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
