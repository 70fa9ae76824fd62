"""Integration tests: real frameworks train tiny models and lrdoctor checks what they wrote.

Opt-in (`LRDOCTOR_INTEGRATIONS=1` or `-m integration`): without it this folder is not even
collected, so the core suite never imports a framework. `.ci/integrations` installs the
frameworks and runs them; each module skips cleanly when its framework is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _enabled(config) -> bool:
    return os.environ.get("LRDOCTOR_INTEGRATIONS") == "1" or "integration" in (
        config.getoption("markexpr", "") or ""
    )


def pytest_ignore_collect(collection_path, config):
    if not _enabled(config) and HERE in collection_path.parents:
        return True
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _quiet_frameworks(monkeypatch, tmp_path):
    # Offline, single-threaded (2 shared cores), and nothing written outside tmp_path.
    for key, value in {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DIR": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "KERAS_BACKEND": "torch",
        "TOKENIZERS_PARALLELISM": "false",
        "DISABLE_MLFLOW_INTEGRATION": "TRUE",
        "MLFLOW_TRACKING_URI": "",
        "DVC_NO_ANALYTICS": "1",
        "DVCLIVE_OPEN": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTORCH_LIGHTNING_PRETTY_PRINT": "0",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
