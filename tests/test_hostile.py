"""Hostile and clumsy input: one clear line, bounded memory, nothing lost.

Each test answers one finding of the hostile-input review; the server ones run the real
`mnist-nn serve` in a subprocess and talk to it through real sockets on 127.0.0.1.
"""

import os
import resource
import socket
import subprocess
import sys
import time

import httpx
import pytest

from mnist_nn.cli import main


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`mnist-nn serve` of a digits model, in its own process; yields (address, log path)."""
    folder = tmp_path_factory.mktemp("serve")
    argv = ["train", "--dataset", "digits", "--preset", "quick", "--epochs", "2"]
    assert main([*argv, "--out", str(folder)]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = folder / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "mnist_nn", "serve", "--port", str(port)],
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MNIST_NN_OFFLINE": "1"},
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/api/model", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    yield base, port, log
    server.terminate()
    server.wait(timeout=10)


def test_slow_clients_do_not_take_the_server_down(served):
    """1,100 sockets that send half a request header and wait: normal requests still answer,
    the half-open ones are closed, and the log stays quiet."""
    base, port, log = served
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


def test_only_this_computer_s_names_are_answered(served):
    base, port, _ = served
    answer = httpx.get(f"{base}/api/model", headers={"Host": "evil.example:80"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"error": "this server does not answer for host 'evil.example'"}
    assert httpx.get(f"http://localhost:{port}/api/model", timeout=5).status_code == 200
    assert httpx.get(f"{base}/openapi.json", timeout=5).status_code == 404
