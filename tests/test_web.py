"""The web app's API: every endpoint, every bad input, and many requests at once."""

import asyncio
import io
import json
import re

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from mnist_nn.cli.parser import main
from mnist_nn.data.dataset import load_dataset
from mnist_nn.saving.model_files import load_model
from mnist_nn.web.app import create_app, find_model
from mnist_nn.web.guard import MAX_BODY_BYTES


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A model trained on the offline digits set (its test set serves the confusion matrix)."""
    out = tmp_path_factory.mktemp("model")
    argv = ["train", "--dataset", "digits", "--preset", "quick", "--epochs", "4"]
    assert main([*argv, "--out", str(out)]) == 0
    return out / "model.npz"


@pytest.fixture(scope="module")
def client(model_path):
    return TestClient(create_app(model_path))


def png_bytes(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def drawn_one() -> bytes:
    picture = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(picture).line([(150, 40), (150, 260)], fill=0, width=24)
    return png_bytes(picture)


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and '<canvas id="pad"' in page.text
    assert "cdn" not in page.text.lower()  # works offline: everything is served from here
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_model_metadata(client):
    model = client.get("/api/model").json()
    assert model["architecture"]["sizes"] == [784, 256, 10]
    assert model["dataset"] == "digits" and 0 < model["test_accuracy"] <= 1
    assert model["config"]["epochs"] == 4 and len(model["history"]) == 4


def test_predict_an_uploaded_drawing(client):
    answer = client.post("/api/predict", files={"file": ("one.png", drawn_one(), "image/png")})
    assert answer.status_code == 200
    body = answer.json()
    assert body["digit"] == int(np.argmax(body["probabilities"]))
    assert sum(body["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert len(body["input"]) == 784 and max(body["input"]) == pytest.approx(1, abs=0.01)
    assert len(body["hidden"]) == 256
    raw = client.post("/api/predict", content=drawn_one(), headers={"content-type": "image/png"})
    assert raw.json()["probabilities"] == body["probabilities"]


def test_a_conv_net_answers_with_the_feature_maps_of_its_first_convolution(client, tmp_path):
    import base64

    assert client.post("/api/predict", content=drawn_one()).json()["feature_maps"] is None
    argv = ["train", "--dataset", "digits", "--preset", "cnn", "--epochs", "1"]
    assert main([*argv, "--layers", "conv4x5 pool dense16", "--out", str(tmp_path)]) == 0
    conv_client = TestClient(create_app(tmp_path / "model.npz"))
    answer = conv_client.post("/api/predict", files={"file": ("one.png", drawn_one())}).json()
    maps = answer["feature_maps"]
    assert (maps["count"], maps["height"], maps["width"]) == (4, 24, 24)  # 28 - 5 + 1
    pixels = np.frombuffer(base64.b64decode(maps["pixels"]), np.uint8).reshape(4, 24 * 24)
    network, _ = load_model(tmp_path / "model.npz")
    expected = network.feature_maps(np.array([answer["input"]], dtype=network.dtype))[0]
    for tile, feature_map in zip(pixels, expected, strict=True):  # each scaled to its own |max|
        np.testing.assert_allclose(
            tile, 127.5 + 127.5 * feature_map.ravel() / np.abs(feature_map).max(), atol=1.01
        )


def test_predict_an_image_answers_the_verdict_and_the_number_on_it(client):
    picture = Image.new("L", (600, 300), 255)
    for x in (150, 450):  # two ones, well apart: the number 11
        ImageDraw.Draw(picture).line([(x, 40), (x, 260)], fill=0, width=24)
    body = client.post("/api/predict", files={"file": ("11.png", png_bytes(picture))}).json()
    assert body["verdict"] in ("digit", "unsure", "not a digit")
    assert len(body["top"]) == 3 and 0 <= body["not_digit"] <= 1
    assert len(body["number"]) == 2 and [d["box"][0] < 300 for d in body["digits"]] == [1, 0]
    for digit, x in zip(body["digits"], (150, 450), strict=True):
        left, top, right, bottom = digit["box"]
        assert left < x < right and top < 50 and bottom > 250
        assert digit["verdict"] in ("digit", "unsure", "not a digit") and len(digit["top"]) == 3
        # each digit as the network received it, for the page to show in its own frame
        assert len(digit["input"]) == 784 and max(digit["input"]) <= 1 and digit["hidden"]
    one = client.post("/api/predict", files={"file": ("one.png", drawn_one())}).json()
    assert len(one["digits"]) == 1 and one["number"] == str(one["digits"][0]["top"][0]["digit"])
    pixels = client.post("/api/predict", json={"pixels": [0.0] * 784}).json()
    assert "number" not in pixels  # framed pixels are one digit, not a picture of a number


def test_predict_json_pixels_matches_the_library(client, model_path, offline):
    network, _ = load_model(model_path)
    test = load_dataset("digits").test
    for image in test.images[:5]:
        answer = client.post("/api/predict", json={"pixels": image.tolist()}).json()
        assert answer["digit"] == int(network.predict(image[None, :])[0])


def test_confusion_and_examples(client, model_path, offline):
    confusion = client.get("/api/confusion").json()
    matrix = np.array(confusion["confusion"])
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    assert confusion["accuracy"] == pytest.approx(np.trace(matrix) / 360)
    examples = client.get("/api/examples", params={"true": 3, "predicted": 3}).json()
    assert examples["count"] == matrix[3, 3] and len(examples["images"]) == min(12, matrix[3, 3])
    assert len(examples["images"][0]) == 784


BAD_REQUESTS = [
    ("not an image", {"files": {"file": ("x.png", b"hello", "image/png")}}, 400, "not an image"),
    (
        "blank image",
        {"files": {"file": ("b.png", png_bytes(Image.new("L", (64, 64), 255)), "image/png")}},
        400,
        "blank",
    ),
    ("no file field", {"data": {"other": "x"}}, 400, 'field named "file"'),
    ("empty body", {"content": b"", "headers": {"content-type": "image/png"}}, 400, "no body"),
    (
        "bad json",
        {"content": b"{pixels", "headers": {"content-type": "application/json"}},
        400,
        "not valid JSON",
    ),
    ("wrong length", {"json": {"pixels": [0.5] * 783}}, 400, "got 783 values"),
    ("not numbers", {"json": {"pixels": ["a"] * 784}}, 400, "must be a number"),
    (
        "nan",
        {
            "content": json.dumps({"pixels": [float("nan")] * 784}).encode(),
            "headers": {"content-type": "application/json"},
        },
        400,
        "NaN",
    ),
    ("out of range", {"json": {"pixels": [2.0] * 784}}, 400, "in \\[0, 1\\]"),
    (
        "too large",
        {"content": b"0" * (MAX_BODY_BYTES + 1), "headers": {"content-type": "image/png"}},
        413,
        "larger than 5 MB",
    ),
]


@pytest.mark.parametrize(
    "name, request_args, status, message", BAD_REQUESTS, ids=[row[0] for row in BAD_REQUESTS]
)
def test_bad_predict_requests_get_a_one_line_4xx(client, name, request_args, status, message):
    answer = client.post("/api/predict", **request_args)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert "\n" not in error and "Traceback" not in error
    assert re.search(message, error)
    assert (
        client.post(
            "/api/predict", content=drawn_one(), headers={"content-type": "image/png"}
        ).status_code
        == 200
    )  # still serving


def test_a_large_body_without_content_length_is_cut_off(client):
    def chunks():
        for _ in range(6):
            yield b"0" * (1024 * 1024)

    answer = client.post("/api/predict", content=chunks(), headers={"content-type": "image/png"})
    assert answer.status_code == 413


@pytest.mark.parametrize("query", ["true=3&predicted=x", "true=12&predicted=1", "predicted=1"])
def test_bad_example_queries(client, query):
    answer = client.get(f"/api/examples?{query}")
    assert answer.status_code == 422 and "\n" not in answer.json()["error"]


def test_a_hundred_concurrent_predictions_are_each_answered_correctly(model_path, offline):
    network, _ = load_model(model_path)
    images = load_dataset("digits").test.images[:100]
    expected = network.predict(images)
    app = create_app(model_path)

    async def ask_all():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            requests = [
                client.post("/api/predict", json={"pixels": image.tolist()}) for image in images
            ]
            return await asyncio.gather(*requests)

    answers = asyncio.run(ask_all())
    assert [a.status_code for a in answers] == [200] * 100
    assert [a.json()["digit"] for a in answers] == expected.tolist()


def test_with_no_model_the_page_still_serves_and_says_train_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_model(None) is None  # serve then opens on the Train panel
    client = TestClient(create_app(None, dataset="digits"))
    assert client.get("/").status_code == 200
    for answer in (
        client.get("/api/model"),
        client.post("/api/predict", json={"pixels": [0] * 784}),
    ):
        assert answer.status_code == 404
        assert answer.json() == {"error": "no model yet: train one in the Train panel first"}
    (tmp_path / "model.npz").write_bytes(b"x")
    assert find_model(None).name == "model.npz"
