"""Reference trainer: numpy MLPs trained with hand-written backprop, logging LR diagnostics.

The names below load on first use, so that registering the `train` command (which imports
`lrdoctor.trainer.cli`) does not import numpy at start-up.
"""

from importlib import import_module

_EXPORTS = {
    "DATASETS": "data",
    "Dataset": "data",
    "make_dataset": "data",
    "read_log": "logfile",
    "write_log": "logfile",
    "RunLog": "loop",
    "TrainConfig": "loop",
    "train": "loop",
    "OPTIMIZERS": "optim",
    "make_optimizer": "optim",
    "SCHEDULES": "schedules",
    "ReduceLROnPlateau": "schedules",
    "lr_schedule": "schedules",
    "range_test_lrs": "schedules",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lrdoctor.trainer' has no attribute {name!r}")
    value = getattr(import_module(f"lrdoctor.trainer.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
