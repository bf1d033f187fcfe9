"""Training from the web page, through its API: start, watch (SSE), steer, use, download."""

import io
import json
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mnist_nn.cli.parser import main
from mnist_nn.config import SETTINGS, settings
from mnist_nn.nn.layers import ACTIVATIONS
from mnist_nn.saving.model_files import load_model
from mnist_nn.web.app import create_app


@pytest.fixture
def client(offline):
    """A server with no model, training on the offline digits (quick to train)."""
    with TestClient(create_app(None, dataset="digits")) as client:
        yield client
        if client.get("/api/train").json()["state"] in ("running", "paused"):
            client.post("/api/train/stop")
            wait_until(client, "stopped", "finished", "failed")


def wait_until(client, *states, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = client.get("/api/train").json()
        if answer["state"] in states:
            return answer
        time.sleep(0.02)
    raise AssertionError(f"still {answer['state']}, not {states}: {answer.get('error')}")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"preset": "huge"}, "preset 'huge' is not one of seed, quick, best"),
        ({"epochs": 500}, "epochs: 500 is not a whole number from 1 to 200 on the web page"),
        ({"hidden_sizes": [64] * 5}, "hidden_sizes: 5 values, where 1 to 4 are allowed on the web"),
        ({"hidden_sizes": [4096]}, "4096 is not a whole number from 1 to 2,048 on the web page"),
        ({"hidden_sizes": 128}, "hidden_sizes: a list of layer sizes"),
        ({"preset": []}, "preset [] is not one of seed, quick, best"),
        ({"learning_rate": 10**400}, "learning_rate: inf is not a number above 0"),
        ({"learning_rate": -1}, "learning_rate: -1.0 is not a number above 0"),
        ({"learning_rate": "fast"}, "learning_rate: 'fast' is not a number"),
        ({"activation": "no-such-activation"}, "activation: 'no-such-activation' is not one"),
        ({"colour": "red"}, "unknown setting 'colour'"),
        ([1, 2], "send the settings as a JSON object"),
    ],
)
def test_bad_settings_are_a_400_in_one_line(client, settings, message):
    answer = client.post("/api/train", json=settings)
    assert answer.status_code == 400
    assert message in answer.json()["error"] and "\n" not in answer.json()["error"]
    assert client.get("/api/train").json() == {"state": "none"}


def test_presets_give_the_panel_its_defaults_and_the_declared_settings(client):
    answer = client.get("/api/presets").json()
    assert answer["presets"]["seed"]["hidden_sizes"] == [128]
    assert answer["dataset"] == {"name": "digits", "train_size": 1437}
    # The form is built from the declarations: every setting the web takes, with its web caps.
    declared = {entry["name"]: entry for entry in answer["settings"]}
    assert list(declared) == list(settings("web"))
    assert declared["activation"]["choices"] == list(ACTIVATIONS)
    assert declared["epochs"]["high"] == SETTINGS["epochs"].metadata["web_high"]
    assert (
        declared["hidden_sizes"]["max_count"] == SETTINGS["hidden_sizes"].metadata["web_max_count"]
    )
    assert {name for name, entry in declared.items() if entry["live"]} == {
        "learning_rate",
        "momentum",
    }


def test_not_json_and_commands_without_a_run(client):
    json_type = {"Content-Type": "application/json"}
    assert client.post("/api/train", content=b"{oops", headers=json_type).status_code == 400
    for command in ("pause", "resume", "step", "stop", "use"):
        answer = client.post(f"/api/train/{command}")
        assert answer.status_code == 409 and "no training run yet" in answer.json()["error"]
    assert client.get("/api/train/model.npz").status_code == 409


def test_a_run_pauses_steps_changes_its_learning_rate_resumes_and_stops(client):
    answer = client.post("/api/train", json={"preset": "quick", "epochs": 100})
    assert answer.status_code == 202 and answer.json()["state"] == "running"
    assert client.post("/api/train", json={"preset": "quick"}).status_code == 409  # one at a time
    client.post("/api/train/pause")
    paused = wait_until(client, "paused")
    time.sleep(0.2)
    assert client.get("/api/train").json()["batch"] == paused["batch"]  # the counter stopped
    client.post("/api/train/step")
    time.sleep(0.3)
    assert wait_until(client, "paused")["batch"] == paused["batch"] + 1  # exactly one batch
    # (a rate that learns: 0.005 overshoots, and a run slowed down by a busy machine would reach
    # the end of its second epoch and be stopped for it)
    answer = client.patch("/api/train", json={"learning_rate": 0.002, "momentum": 0.5})
    assert answer.status_code == 200
    paused_now = client.get("/api/train").json()  # shown at once, though applied on resuming
    assert (paused_now["learning_rate"], paused_now["momentum"]) == (0.002, 0.5)
    assert client.patch("/api/train", json={"momentum": 1.5}).status_code == 400
    assert client.patch("/api/train", json={"epochs": 3}).status_code == 400
    client.post("/api/train/resume")
    time.sleep(0.2)
    running = client.get("/api/train").json()
    assert running["batch"] > paused["batch"] + 1
    assert (running["learning_rate"], running["momentum"]) == (0.002, 0.5)
    client.post("/api/train/stop")
    stopped = wait_until(client, "stopped")
    assert stopped["test_accuracy"] is not None  # measured once, at the stop
    assert client.post("/api/train/pause").status_code == 409


def test_events_stream_progress_epochs_and_weights(client):
    client.post("/api/train", json={"preset": "quick", "epochs": 3})
    kinds, points, last_id = [], 0, 0
    with client.stream("GET", "/api/train/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        event = {}
        for line in stream.iter_lines():
            if line.startswith("id: "):
                last_id = int(line[4:])
            elif line.startswith("event: "):
                event["kind"] = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                kinds.append(event["kind"])
                if event["kind"] == "progress":
                    points += len(data["points"])
                    final = data
    assert final["state"] == "finished" and final["epoch"] == 3
    assert kinds.count("epoch") >= 2 and "weights" in kinds and kinds.count("progress") >= 2
    assert points == last_id == len(client.get("/api/train").json()["history"]) * 12
    # A page that reconnects with the last id it saw gets only what is new.
    headers = {"Last-Event-ID": str(last_id)}
    with client.stream("GET", "/api/train/events", headers=headers) as stream:
        first = next(line for line in stream.iter_lines() if line.startswith("data: "))
    assert json.loads(first[6:])["points"] == []


def test_draw_while_it_trains_then_use_and_download_the_model(client, tmp_path):
    client.post("/api/train", json={"preset": "quick", "epochs": 20})
    client.post("/api/train/pause")  # keep it going while we draw
    pixels = {"pixels": [0.0] * 300 + [1.0] * 184 + [0.0] * 300}
    answer = client.post("/api/predict?model=training", json=pixels)
    assert answer.status_code == 200 and len(answer.json()["probabilities"]) == 10
    assert client.post("/api/predict", json=pixels).status_code == 404  # nothing served yet
    assert client.post("/api/train/use").status_code == 409  # not before the end
    client.post("/api/train/resume")
    finished = wait_until(client, "finished")
    assert client.post("/api/train/use").json()["served"] is True
    assert client.post("/api/predict", json=pixels).status_code == 200
    model = client.get("/api/model").json()
    assert model["test_accuracy"] == finished["test_accuracy"]
    assert client.get("/api/confusion").status_code == 200
    download = client.get("/api/train/model.npz")
    assert download.headers["content-disposition"] == 'attachment; filename="model.npz"'
    (tmp_path / "model.npz").write_bytes(download.content)
    network, metadata = load_model(tmp_path / "model.npz")
    assert metadata["test_accuracy"] == finished["test_accuracy"] and network.sizes[1] == 256
    assert main(["evaluate", str(tmp_path / "model.npz"), "--dataset", "digits"]) == 0


def test_the_page_and_the_command_line_end_at_the_same_weights(client, tmp_path):
    settings = {"preset": "quick", "epochs": 2, "seed": 3, "learning_rate": 0.002}
    client.post("/api/train", json=settings)
    wait_until(client, "finished")
    web = np.load(io.BytesIO(client.get("/api/train/model.npz").content))
    argv = ["train", "--dataset", "digits", "--preset", "quick", "--epochs", "2", "--seed", "3"]
    assert main([*argv, "--lr", "0.002", "--out", str(tmp_path)]) == 0
    cli = np.load(tmp_path / "model.npz")
    for name in ("layer0.weight", "layer0.bias", "layer1.weight", "layer1.bias"):
        np.testing.assert_array_equal(web[name], cli[name])


@pytest.mark.slow
def test_the_quick_preset_on_mnist_reaches_97_percent_held_out(mnist_dir, tmp_path):
    """A fresh server with no model: Start the quick preset, then evaluate the download."""
    with TestClient(create_app(None, dataset="mnist", data_dir=mnist_dir)) as client:
        assert (
            client.post("/api/train", json={"preset": "quick", "val_size": 5000}).status_code == 202
        )
        finished = wait_until(client, "finished", seconds=300)
        history = client.get("/api/train").json()["history"]
        assert history[-1]["val_accuracy"] >= 0.97 and finished["test_accuracy"] >= 0.97
        (tmp_path / "model.npz").write_bytes(client.get("/api/train/model.npz").content)
    argv = ["evaluate", str(tmp_path / "model.npz"), "--data-dir", str(mnist_dir), "--json"]
    assert main(argv) == 0


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Origin": "https://evil.example"}, 403),  # a page of another site
        ({"Origin": "http://testserver:8001"}, 403),  # another port is another origin
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),  # e.g. another port of localhost
        ({"Content-Type": "text/plain"}, 415),  # what a page may send without asking first
        ({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, 202),  # the page
    ],
)
def test_only_the_page_itself_and_scripts_may_drive_training(client, headers, status):
    headers = {"Content-Type": "application/json", **headers}
    answer = client.post("/api/train", content=b'{"preset": "quick"}', headers=headers)
    assert answer.status_code == status, answer.text
    assert "\n" not in answer.json()["error" if status >= 400 else "state"]
    if status != 202:
        assert client.get("/api/train").json() == {"state": "none"}  # nothing started
    if status == 403:  # nor can another site stop a run or swap the served model
        for command in ("stop", "use"):
            assert client.post(f"/api/train/{command}", headers=headers).status_code == 403


def test_beyond_localhost_every_request_needs_the_token(offline):
    with TestClient(create_app(None, dataset="digits", token="s3cret")) as client:
        refused = client.get("/api/presets")
        assert refused.status_code == 403 and "token" in refused.json()["error"]
        assert (
            client.get("/api/presets", headers={"Authorization": "token wrong"}).status_code == 403
        )
        assert (
            client.get("/api/presets", headers={"Authorization": "token s3cret"}).status_code == 200
        )
        page = client.get("/?token=s3cret")  # the address `serve` prints
        assert page.status_code == 200 and "SameSite=Strict" in page.headers["set-cookie"]
        assert client.get("/api/presets").status_code == 200  # the page's cookie now carries it
        client.cookies.clear()
        assert client.get("/static/app.js").status_code == 403


def test_a_last_event_id_that_is_not_ascii_digits_starts_from_the_beginning(client):
    answer = client.get("/api/train/events", headers={"Last-Event-ID": "²".encode()})
    assert answer.status_code == 200 and "event: progress" in answer.text


def test_a_run_over_the_memory_budget_is_refused_before_it_starts(mnist_dir):
    """Within the page's caps, 4 layers of 2,048 units and batches of 65,536 on MNIST would
    hold about 12 GB: refused in one line, naming what to change, and nothing is allocated."""
    client = TestClient(create_app(None, dataset="mnist", data_dir=mnist_dir))
    settings = {"hidden_sizes": [2048] * 4, "batch_size": 65536}
    answer = client.post("/api/train", json=settings)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "over this server's memory budget (serve --memory-budget) (2.0 GB)" in error
    assert "smaller batch_size or fewer, smaller hidden_sizes" in error
    assert client.get("/api/train").json() == {"state": "none"}


def test_validation_splits_are_views_of_one_cached_copy_of_the_data(offline):
    from mnist_nn.web.app import cached_loader

    load = cached_loader("digits", None)
    first = load(100, "float32")
    for val_size in (1, 2, 3, 500):
        again = load(val_size, "float32")
        assert np.shares_memory(again.train.images, first.train.images)
        assert len(again.validation) == val_size
    assert load(0, "float64").train.images.dtype == np.float64  # replaces the float32 copy


def test_a_finished_run_lets_go_of_its_working_memory(offline):
    from mnist_nn.web.app import cached_loader
    from mnist_nn.web.session import TrainingSession

    session = TrainingSession(cached_loader("digits", None), memory_budget=2 << 30)
    run = session.start({"preset": "quick", "epochs": 1, "val_size": 200})
    run.thread.join(timeout=60)
    assert run.state == "finished"
    network = run.trainer.network
    held = [part.buffers.arrays for part in network.layers if hasattr(part, "buffers")]
    assert not any(held) and run.trainer.optimizer.state == [] and run.trainer.dataset is None
    assert np.all(np.isfinite(network.dense_layers()[0].weight))  # the model itself is kept


def test_the_start_button_waits_for_the_presets(client):
    """Start is disabled in the page as served; train.js enables it once the presets and the
    settings have loaded (before, it would send a preset of '')."""
    page = client.get("/").text
    assert '<button type="submit" id="start" disabled>' in page
    assert "buttons.start.disabled = false" in client.get("/static/train.js").text


def test_the_panel_trains_image_layers_and_shows_their_filters(client):
    """The same panel, with the declared `layers` setting: a small conv net on the offline
    digits (framed like MNIST, 28x28); the live weights are the first convolution's filters;
    the model then serves the drawing pad."""
    settings = {"preset": "quick", "layers": "conv8x3 pool dense32", "epochs": 2, "val_size": 200}
    assert client.post("/api/train", json=settings).status_code == 202
    finished = wait_until(client, "finished", "failed")
    assert finished["state"] == "finished", finished
    weights = [
        json.loads(line[len("data: ") :])
        for block in client.get("/api/train/events").text.split("\n\n")
        if "event: weights" in block
        for line in block.splitlines()
        if line.startswith("data: ")
    ]
    assert weights and weights[-1]["side"] == 3  # 3x3 filters, not 28x28 images
    assert client.post("/api/train/use").status_code == 200
    drawn = client.post("/api/predict", json={"pixels": [0.0] * 783 + [1.0]})
    assert drawn.status_code == 200 and len(drawn.json()["probabilities"]) == 10
    bad = client.post("/api/train", json={"layers": "conv8x4"})
    assert bad.status_code == 400 and "odd size" in bad.json()["error"]


def test_a_page_that_stops_reading_its_event_stream_is_dropped(monkeypatch):
    """A client that takes no event within SEND_SECONDS is let go: its stream ends and no longer
    counts against the cap (here a `send` that never completes stands in for a full socket)."""
    import asyncio

    from mnist_nn.web import train_routes as train_api

    monkeypatch.setattr(train_api, "SEND_SECONDS", 0.2)
    streams = train_api.Streams()

    async def endless():
        while True:
            yield "event: progress\ndata: {}\n\n"

    counted_while_sending = []

    async def never_taken(message):
        counted_while_sending.append(streams.open)  # the stream counts while it is open
        await asyncio.Event().wait()  # the client's window is full: this send never finishes

    async def receive():
        await asyncio.Event().wait()  # and the client never disconnects either
        return {"type": "http.disconnect"}

    async def run():
        response = train_api.EventStreamResponse(endless(), streams)
        scope = {"type": "http", "asgi": {"spec_version": "2.4"}}
        await asyncio.wait_for(response(scope, receive, never_taken), timeout=5)

    asyncio.run(run())
    assert counted_while_sending[:1] == [1] and streams.open == 0
