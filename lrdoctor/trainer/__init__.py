"""Reference trainer: numpy MLPs trained with hand-written backprop, logging LR diagnostics."""

from lrdoctor.trainer.data import DATASETS, Dataset, make_dataset
from lrdoctor.trainer.logfile import read_log, write_log
from lrdoctor.trainer.loop import RunLog, TrainConfig, train
from lrdoctor.trainer.optim import OPTIMIZERS, make_optimizer
from lrdoctor.trainer.schedules import SCHEDULES, ReduceLROnPlateau, lr_schedule, range_test_lrs

__all__ = [
    "DATASETS",
    "OPTIMIZERS",
    "SCHEDULES",
    "Dataset",
    "ReduceLROnPlateau",
    "RunLog",
    "TrainConfig",
    "lr_schedule",
    "make_dataset",
    "make_optimizer",
    "range_test_lrs",
    "read_log",
    "train",
    "write_log",
]
