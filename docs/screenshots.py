"""The docs' pictures of the web page, taken from the page itself: web.png and train.png.

    python docs/screenshots.py MODEL [--out experiments]   # e.g. MODEL = model.npz of main.py

It serves MODEL with the library's own app, opens the page in Chromium (Playwright, with Debian's
`chromium` or Playwright's own browser), uploads a picture of a written number and takes web.png;
then starts the Train panel's quick preset, pauses it in its fourth epoch and takes train.png.
MNIST is found as `python main.py` finds it.
"""

import argparse
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def written_number(path: Path) -> None:
    """2024 written with four MNIST test digits, dark ink on white paper, as a user's photo."""
    from mnist_nn.data.dataset import load_dataset

    test = load_dataset("mnist").test
    picks = [int(np.flatnonzero(test.labels == digit)[0]) for digit in (2, 0, 2, 4)]
    line = np.hstack([test.images[i].reshape(28, 28) for i in picks])
    page = np.pad(line, 8)
    grey = (255 * (1 - page)).astype(np.uint8)
    Image.fromarray(grey).resize((grey.shape[1] * 6, grey.shape[0] * 6)).save(path)


def serve(model: Path) -> tuple[str, object]:
    import uvicorn

    from mnist_nn.web.app import create_app

    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(model), port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}/", server


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the model the page serves")
    parser.add_argument("--out", type=Path, default=Path("experiments"),
                        help="folder for the pictures (default: ./experiments; docs to redraw "
                        "the docs' own)")  # fmt: skip
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    address, server = serve(args.model)
    number = args.out / "number-2024.png"
    written_number(number)
    chromium = shutil.which("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(address)
        page.wait_for_selector("#confusion button")
        page.set_input_files("#file", str(number))
        page.wait_for_selector("#digit-frames .frame")
        page.screenshot(path=str(args.out / "web.png"))
        page.select_option("select[name=preset]", "quick")
        page.click("#start")
        page.wait_for_function("document.getElementById('train-status').textContent"
                               ".includes('epoch 4')", timeout=300_000)  # fmt: skip
        page.click("#pause")
        page.wait_for_function(
            "document.getElementById('train-status').textContent.startsWith('Paused')"
        )
        page.locator("#train").screenshot(path=str(args.out / "train.png"))
        print(f"wrote {args.out / 'web.png'}, {args.out / 'train.png'}: "
              f"{page.text_content('#train-status')}")  # fmt: skip
        browser.close()
    number.unlink()
    server.should_exit = True


if __name__ == "__main__":
    main()
