"""Servers the remote-source tests start on loopback: moto's S3 and an MLflow tracking server.

Each is optional (the `test-remote` extra): a test that needs one skips when it cannot start.
"""

from __future__ import annotations

import logging
import os

import pytest

# moto's server logs every request through werkzeug; a failing test's output needs none of it.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible HTTP server (moto's server mode) on 127.0.0.1, and its URL."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("boto3", reason="boto3 (with moto[server]) is not installed")
    try:
        server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
    except Exception as exc:  # noqa: BLE001  (any start-up failure means: skip, not fail)
        pytest.skip(f"moto's S3 server cannot start here: {exc}")
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """The standard AWS environment pointed at the test server (as a user's CI would set it)."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return values


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 (SQLite backend in a temporary folder): its address."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    # The test's client and the server must be this interpreter's mlflow, not one on PATH.
    pytest.importorskip("mlflow", reason="mlflow is not installed (the test-remote extra)")
    folder = tmp_path_factory.mktemp("mlflow")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1",
        "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--default-artifact-root", str(folder / "artifacts"),
    ]  # fmt: skip
    log = open(folder / "server.log", "wb")  # noqa: SIM115  (closed at teardown)
    # MLflow 3's job runner spawns a dozen huey consumers per server: CPU the tests never use.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, env=env)
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # ~15 s on an idle machine; minutes on a loaded one
    while True:
        try:
            with urllib.request.urlopen(f"http://{address}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            log.close()
            pytest.skip(
                "mlflow server did not start: " + (folder / "server.log").read_text()[-300:]
            )
        time.sleep(0.5)
    yield address
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()
