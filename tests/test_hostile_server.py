"""The server against hostile and clumsy clients: who may drive it, slow and idle connections,
event streams that are never read, its answers, and nothing slow on its event loop. The server
tests run the real `mnist-nn serve` in a subprocess and talk to it through real sockets on
127.0.0.1.
"""

import io
import json
import os
import resource
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_nn.cli.parser import main

from helpers import start_serve


@pytest.mark.slow
def test_slow_clients_do_not_take_the_server_down(served):
    """1,100 sockets that send half a request header and wait: normal requests still answer,
    the half-open ones are closed, and the log stays quiet."""
    base, port, log, _ = served
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    sockets = []
    try:
        for _ in range(1100):
            slow = socket.create_connection(("127.0.0.1", port))
            slow.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            sockets.append(slow)
        for _ in range(5):
            answer = httpx.get(f"{base}/api/model", timeout=10)
            assert answer.status_code == 200
        answer = httpx.post(f"{base}/api/predict", json={"pixels": [0.5] * 784}, timeout=10)
        assert answer.status_code == 200
        time.sleep(6)  # past the header deadline: every half-open connection has been closed
        closed = 0
        for slow in sockets:
            slow.settimeout(2)
            try:
                closed += slow.recv(1) == b""
            except (ConnectionResetError, TimeoutError):
                closed += 1
        assert closed == len(sockets)
    finally:
        for slow in sockets:
            slow.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert log.stat().st_size < 10_000, log.read_text()[:2000]


@pytest.mark.slow
def test_half_sent_bodies_beyond_the_open_file_limit_leave_room_for_whole_requests(tmp_path):
    """With the common open-file limit of 1,024, 1,100 requests whose body never finishes: each
    new one closes the oldest unfinished one, a whole request is answered at once (0.24 s
    measured), and asyncio's traceback per refused accept() is one line in ten seconds."""
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    log = tmp_path / "serve.log"

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    with open(log, "wb") as output:
        server, base, port = start_serve(
            tmp_path, stdout=output, stderr=subprocess.STDOUT, preexec_fn=low_limit
        )
    sockets = []
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    try:
        start = log.stat().st_size
        half = b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
        for _ in range(1100):
            slow = socket.create_connection(("127.0.0.1", port))
            slow.sendall(half + b"\r\nContent-Length: 100000\r\n\r\n{")
            sockets.append(slow)
        for _ in range(3):
            assert httpx.get(f"{base}/api/model", timeout=5).status_code == 200
        descriptors = len(os.listdir(f"/proc/{server.pid}/fd"))
        assert descriptors < 400, f"{descriptors} open: the connection cap did not hold"
        assert log.stat().st_size - start < 100_000, log.read_text()[-2000:]
    finally:
        for slow in sockets:
            slow.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        server.terminate()
        server.wait(timeout=10)


def test_only_this_computer_s_names_are_answered(served):
    base, port, _, _ = served
    answer = httpx.get(f"{base}/api/model", headers={"Host": "evil.example:80"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"error": "this server does not answer for host 'evil.example'"}
    assert httpx.get(f"http://localhost:{port}/api/model", timeout=5).status_code == 200
    assert httpx.get(f"{base}/openapi.json", timeout=5).status_code == 404


def test_web_errors_have_one_shape_and_hostile_json_is_a_400(served):
    base, _, _, _ = served

    def post(body: bytes, content_type: str):
        headers = {"Content-Type": content_type}
        return httpx.post(f"{base}/api/predict", content=body, headers=headers, timeout=5)

    for answer, status in (
        (httpx.get(f"{base}/no/such/page", timeout=5), 404),
        (httpx.delete(f"{base}/api/model", timeout=5), 405),
        (post(b'{"pixels": [' + b"9" * 4000 + b"]}", "application/json"), 400),  # a huge number
        (post(b"[" * 100_000, "application/json"), 400),  # nested 100,000 deep
        (post(b"--x\r\nbroken", "multipart/form-data; boundary=x"), 400),  # a broken form
    ):
        assert answer.status_code == status, answer.text
        assert list(answer.json()) == ["error"] and "\n" not in answer.json()["error"]


def test_media_types_are_read_without_regard_to_case(served):

    base, _, _, _ = served
    picture = Image.new("L", (100, 100), 255)
    ImageDraw.Draw(picture).line([(50, 10), (50, 90)], fill=0, width=8)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    request = httpx.Request(
        "POST", f"{base}/api/predict", files={"file": ("one.png", buffer.getvalue())}
    )
    request.headers["Content-Type"] = request.headers["Content-Type"].replace(
        "multipart/form-data", "Multipart/Form-Data"
    )
    answer = httpx.Client(timeout=5).send(request)
    assert answer.status_code == 200 and answer.json()["digit"] in range(10)


def test_the_confusion_matrix_is_computed_once_for_many_first_callers(offline, tmp_path):
    from fastapi.testclient import TestClient

    from mnist_nn.evaluate import metrics as evaluation
    from mnist_nn.web.app import create_app

    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    client = TestClient(create_app(tmp_path / "model.npz"))
    calls = []
    original = evaluation.evaluate

    def counted(network, split):
        calls.append(1)
        return original(network, split)

    evaluation.evaluate = counted
    try:
        with ThreadPoolExecutor(40) as pool:
            answers = list(pool.map(lambda _: client.get("/api/confusion"), range(40)))
    finally:
        evaluation.evaluate = original
    assert {answer.status_code for answer in answers} == {200} and len(calls) == 1


def test_a_missing_test_set_is_a_503_without_server_paths(tmp_path, offline):

    from fastapi.testclient import TestClient

    from mnist_nn.web.app import create_app

    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    arrays = dict(np.load(tmp_path / "model.npz"))
    metadata = json.loads(str(arrays["metadata"]))
    arrays["metadata"] = np.array(json.dumps({**metadata, "dataset": "mnist"}))
    np.savez(tmp_path / "mnist-model.npz", **arrays)
    client = TestClient(create_app(tmp_path / "mnist-model.npz"))
    for _ in range(2):  # the second answer comes from memory: nothing is looked for again
        answer = client.get("/api/confusion")
        assert answer.status_code == 503
        assert answer.json() == {"error": "the mnist test set is not available on this server"}
        assert str(tmp_path) not in answer.text and "/" not in answer.json()["error"]


def test_listening_beyond_this_computer_needs_a_token(monkeypatch, tmp_path, offline, capsys):
    from fastapi.testclient import TestClient

    from mnist_nn.web import server

    served = {}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(server, "run", lambda app, host, port: served.update(app=app))
    assert main(["serve", "--host", "0.0.0.0", "--dataset", "digits"]) == 0
    out, err = capsys.readouterr()
    assert "note: listening on 0.0.0.0: other computers can reach this server" in err
    token = out.split("?token=")[1].split()[0]  # printed once, in the address to open
    client = TestClient(served["app"])
    assert client.get("/api/presets").status_code == 403
    assert client.get(f"/?token={token}").status_code == 200
    assert main(["serve", "--dataset", "digits"]) == 0  # localhost: no token
    assert "token" not in capsys.readouterr().out


@pytest.mark.slow
def test_watchers_that_never_read_are_capped_and_sigterm_stops_everything(tmp_path):
    """40 event streams opened while a run trains and never read: 32 are served, the rest get a
    503 that closes its connection, the run's Stop still answers; then SIGTERM while they watch
    ends the run, the streams and the server within a few seconds."""
    import signal

    server, base, port = start_serve(
        tmp_path, "--dataset", "digits", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    watchers = []
    try:
        settings = {"preset": "quick", "epochs": 200, "val_size": 100}
        assert httpx.post(f"{base}/api/train", json=settings, timeout=30).status_code == 202
        request = b"GET /api/train/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for _ in range(40):
            watcher = socket.create_connection(("127.0.0.1", port))
            watcher.sendall(request)
            watchers.append(watcher)
        time.sleep(1)
        statuses = []
        for watcher in watchers:
            watcher.settimeout(5)
            statuses.append(watcher.recv(64).split(b" ")[1])
        assert statuses.count(b"200") == 32 and statuses.count(b"503") == 8
        for watcher, status in zip(watchers, statuses, strict=True):
            if status == b"503":  # answered and closed: it holds none of the server's connections
                rest = b""
                while chunk := watcher.recv(4096):
                    rest += chunk
                assert b"pages are watching already" in rest
        assert httpx.get(f"{base}/api/train", timeout=5).json()["state"] == "running"
        server.send_signal(signal.SIGTERM)  # while 32 pages watch and the run trains
        server.wait(timeout=5)  # uvicorn ends by the signal it caught, once all has closed
        assert server.returncode in (0, -signal.SIGTERM)
        assert b"Traceback" not in server.stderr.read()
    finally:
        for watcher in watchers:
            watcher.close()
        if server.poll() is None:
            server.kill()


def test_a_token_beyond_ascii_is_a_403_not_a_500(tmp_path):
    from fastapi.testclient import TestClient

    from mnist_nn.web.app import create_app

    client = TestClient(create_app(None, "digits", token="s3cret"), raise_server_exceptions=False)
    for request in (
        {"url": "/api/presets?token=%C3%A9"},
        {"url": "/api/presets", "headers": {"Authorization": "token é".encode()}},
        {"url": "/api/presets", "headers": {"Cookie": "mnist_nn_token=é".encode()}},
    ):
        assert client.get(**request).status_code == 403, request
    assert client.get("/api/presets?token=s3cret").status_code == 200


@pytest.mark.parametrize("token", ["é", "a b", "x" * 257, ""])
def test_serve_refuses_a_token_that_cannot_go_into_an_address(token, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--token", token])
    assert exited.value.code == 2
    assert "letters, digits and - . _ ~" in capsys.readouterr().err


def test_a_run_is_calibrated_once_not_on_every_use_or_download(offline, monkeypatch):
    """The temperature is fitted once, in the training thread, when the run ends: "use" and
    each download (a GET, which another site can trigger) only hand out what was made."""
    from fastapi.testclient import TestClient

    from mnist_nn.evaluate import calibration
    from mnist_nn.web.app import create_app

    fitted = []
    real = calibration.calibrate
    monkeypatch.setattr(calibration, "calibrate", lambda *a: fitted.append(1) or real(*a))
    client = TestClient(create_app(None, "digits"))
    client.post("/api/train", json={"preset": "quick", "epochs": 1, "val_size": 200})
    for _ in range(600):
        if client.get("/api/train").json()["state"] == "finished":
            break
        time.sleep(0.05)
    assert fitted == [1]
    for _ in range(3):
        assert client.get("/api/train/model.npz").status_code == 200
    assert client.post("/api/train/use").json()["served"] is True
    assert fitted == [1]


def test_at_the_connection_cap_an_idle_keep_alive_connection_yields_first():
    """A new connection at the cap closes the longest-idle keep-alive connection, else the
    oldest half-sent request; an answer under way (an event stream) is never cut."""
    from types import SimpleNamespace

    from mnist_nn.web.server import GuardedH11Protocol

    def connection(state, since):
        made = object.__new__(GuardedH11Protocol)
        cycle = {
            "streaming": SimpleNamespace(response_complete=False, more_body=False),
            "idle": SimpleNamespace(response_complete=True, more_body=False),
            "half-sent": SimpleNamespace(response_complete=False, more_body=True),
        }[state]
        made.cycle, made.waiting_since = cycle, since
        made.transport = SimpleNamespace(closed=False, is_closing=lambda: made.transport.closed)
        made.transport.close = lambda: setattr(made.transport, "closed", True)
        return made

    streaming = [connection("streaming", since) for since in (1, 2)]
    half, idle_old, idle_new = (
        connection("half-sent", 0),
        connection("idle", 3),
        connection("idle", 4),
    )
    newcomer = connection("half-sent", 9)
    everyone = {*streaming, half, idle_old, idle_new, newcomer}
    for connection_ in everyone:
        connection_.connections = everyone
    closed = lambda: {c for c in everyone if c.transport.closed}  # noqa: E731
    newcomer._evict_one()
    assert closed() == {idle_old}
    newcomer._evict_one()
    assert closed() == {idle_old, idle_new}
    newcomer._evict_one()
    assert closed() == {idle_old, idle_new, half}
    newcomer._evict_one()  # only answers under way are left: the newcomer is refused
    assert closed() == {idle_old, idle_new, half, newcomer}
