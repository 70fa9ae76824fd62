"""Servers the remote-source tests start on loopback: moto's S3 and an MLflow tracking server.

Each is optional (the `test-remote` extra): a test that needs one skips when it cannot start.
"""

from __future__ import annotations

import logging

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
