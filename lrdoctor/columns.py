"""Which logged column holds which signal: the names people log, and the guess from a header."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

from lrdoctor.errors import ConfigError, did_you_mean

# Canonical signal -> names people log, best first. Matching ignores case and the
# separators "/", ".", "-" and " " (so `train/loss` also matches `train.loss`).
ALIASES: dict[str, tuple[str, ...]] = {
    "step": (
        "step",
        "global_step",
        "train/global_step",
        "trainer/global_step",
        "optimizer_step",
        "iteration",
        "iter",
        "it",
        "num_updates",
        "update",
        "updates",
        "batch",
        "_step",
    ),
    "epoch": ("epoch", "train/epoch", "trainer/epoch", "_epoch", "epochs"),
    "loss": (
        "loss",
        "train_loss",
        "train/loss",
        "train_loss_step",
        "train/loss_step",
        "loss_step",
        "training_loss",
        "train/train_loss",
        "batch_loss",
        "train/batch_loss",
        "trn_loss",
        "train_loss_epoch",
        "loss_epoch",
        "objective",
        "train/objective",
    ),
    "lr": (
        "lr",
        "learning_rate",
        "train/learning_rate",
        "train/lr",
        "optimizer/lr",
        "lr/pg0",
        "lr_pg0",
        "learningrate",
        "learning-rate",
        "lr0",
        "trainer/learning_rate",
    ),
    "grad_norm": (
        "grad_norm",
        "gnorm",
        "train/grad_norm",
        "train/gnorm",
        "gradient_norm",
        "grad_norm_total",
        "grad_2.0_norm_total",
        "grad_2_0_norm_total",
        "train/gradient_norm",
        "total_grad_norm",
        "global_grad_norm",
        "optimizer/grad_norm",
        "gradnorm",
    ),
    "update_ratio": (
        "update_ratio",
        "train/update_ratio",
        "update_to_weight",
        "update_weight_ratio",
        "update/weight",
        "update_to_weight_ratio",
        "param_update_ratio",
        "updates_to_weights",
    ),
    "update_norm": ("update_norm", "train/update_norm", "param_update_norm", "delta_norm"),
    "weight_norm": (
        "weight_norm",
        "train/weight_norm",
        "param_norm",
        "parameter_norm",
        "params_norm",
        "train/param_norm",
        "wnorm",
    ),
    "val_loss": (
        "val_loss",
        "eval_loss",
        "valid_loss",
        "validation_loss",
        "eval/loss",
        "val/loss",
        "valid/loss",
        "validation/loss",
        "val_loss_epoch",
        "dev_loss",
        "test_loss",
    ),
    "val_accuracy": (
        "val_accuracy",
        "val_acc",
        "eval_accuracy",
        "eval/accuracy",
        "val/acc",
        "val/accuracy",
        "valid_accuracy",
        "valid_acc",
        "val_acc_epoch",
    ),
}

# Names that follow a pattern rather than a fixed spelling (Lightning's LearningRateMonitor
# writes `lr-AdamW` and `lr-AdamW/pg1`; Ultralytics writes `lr/pg0`).
PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    # Matched against the normalised key, where "-", "." and " " have become "/".
    # With several param groups LearningRateMonitor writes `lr-Adam/pg1`, `pg2`, ... (no pg0).
    "lr": (re.compile(r"^lr/[a-z][a-z0-9_]*$"), re.compile(r"^lr/[a-z][a-z0-9_]*/pg\d+$")),
    "grad_norm": (re.compile(r"^grad_[\d/]+_norm_total$"),),
}

SIGNALS: tuple[str, ...] = tuple(ALIASES)

# Optimizer name -> the family whose LR band and update size the detectors know.
OPTIMIZER_FAMILIES = {
    "sgd": "sgd",
    "momentum": "sgd",
    "nesterov": "sgd",
    "sgdm": "sgd",
    "lars": "sgd",
    "adam": "adam",
    "adamw": "adam",
    "nadam": "adam",
    "radam": "adam",
    "adamax": "adam",
    "lamb": "adam",
    "adafactor": "adam",
    "lion": "adam",
    "fusedadam": "adam",
    "adam8bit": "adam",
    # RMSprop normalises each step like Adam (a step of ~lr per parameter).
    "rmsprop": "adam",
    "adagrad": "adaptive",
    "adadelta": "adadelta",
}
# Words in framework optimizer names that say how, not which (HF `paged_adamw_8bit`,
# `adamw_torch_fused`, `lion_32bit`; fastai's `ranger` is RAdam + Lookahead).
_HOW = {
    "torch",
    "hf",
    "fused",
    "apex",
    "paged",
    "bnb",
    "8bit",
    "32bit",
    "4bit",
    "xla",
    "npu",
    "ao",
    "anyprecision",
    "galore",
    "layerwise",
    "schedule",
    "free",
    "lomo",
    "ademamix",
    "grokadamw",
    "apollo",
    "stableadamw",
    "optimi",
    "foreach",
    "legacy",
    "tf",
    "keras",
}
_ALIAS_OPTIMIZERS = {
    "ranger": "adam",
    "adamwscheduledfree": "adam",
    "sgdw": "sgd",
    "adamwschedulefree": "adam",
    "qhadam": "adam",
    "lookahead": "adam",
}


def canonical_optimizer(name: str | None) -> str | None:
    """The family (sgd, adam, adaptive, adadelta) of an optimizer as frameworks name it:
    `AdamW`, `adamw_torch`, `paged_adamw_8bit`, `lr-Adam`, `torch.optim.SGD`, `<class 'Adam'>`."""
    if not name:
        return None
    text = re.sub(r"^<class '|'>$", "", name.strip()).rsplit(".", 1)[-1].lower()
    text = text.removeprefix("lr-").split("/")[0]
    whole = text.replace("-", "").replace("_", "")
    if whole in OPTIMIZER_FAMILIES or whole in _ALIAS_OPTIMIZERS:
        return OPTIMIZER_FAMILIES.get(whole) or _ALIAS_OPTIMIZERS[whole]
    words = [w for w in re.split(r"[_\-\s]+", text) if w and w not in _HOW]
    for word in words:
        word = re.sub(r"\d+bit$", "", word)
        if word in OPTIMIZER_FAMILIES:
            return OPTIMIZER_FAMILIES[word]
        if word in _ALIAS_OPTIMIZERS:
            return _ALIAS_OPTIMIZERS[word]
    return None


# Columns whose presence alone identifies the optimizer (Lightning's `lr-Adam`).
_OPTIMIZER_FROM_LR = re.compile(r"^lr-([a-z]+)", re.IGNORECASE)


def _key(name: str) -> str:
    return re.sub(r"[\s./\-]+", "/", name.strip().lower())


_ALIAS_KEYS = {sig: [_key(a) for a in names] for sig, names in ALIASES.items()}


def _group_number(name: str) -> int:
    m = re.search(r"pg(\d+)$", name)
    return int(m.group(1)) if m else -1


def detect_columns(
    names: Sequence[str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map canonical signals to column names in `names`; explicit overrides win.

    An override naming a column that is not there is an error, so a typo never passes silently.
    """
    # A folder of logs repeats one header (and each log's header is matched by the sniffer,
    # the column selection and build_run): a header of ordinary width is matched once per
    # process. The caller gets its own dict (build_run adds to it).
    names, items = tuple(names), tuple((overrides or {}).items())
    if len(names) > CACHED_HEADER:
        return _detect(names, items)
    return dict(_cached_detect(names, items))


# Headers up to this many names are remembered by `detect_columns` (a few hundred at most).
CACHED_HEADER = 1000


def _detect(names: tuple[str, ...], override_items: tuple[tuple[str, str], ...]) -> dict:
    overrides = dict(override_items)
    chosen: dict[str, str] = {}
    for signal, column in overrides.items():
        if signal not in ALIASES:
            raise ConfigError(
                f"unknown signal {signal!r} in the column mapping",
                did_you_mean(signal, SIGNALS, "valid signals: " + ", ".join(SIGNALS)),
            )
        if column not in names:
            raise ConfigError(
                f"column {column!r} given for {signal} is not in the log",
                did_you_mean(column, names, "its columns are: " + ", ".join(list(names)[:40])),
            )
        chosen[signal] = column
    keyed = [(_key(name), name) for name in names]  # each name normalised once
    by_key: dict[str, str] = {}
    for key, name in keyed:
        by_key.setdefault(key, name)
    used = set(chosen.values())
    for signal in SIGNALS:
        if signal in chosen:
            continue
        match = next(
            (by_key[k] for k in _ALIAS_KEYS[signal] if k in by_key and by_key[k] not in used),
            None,
        )
        if match is None:
            for pattern in PATTERNS.get(signal, ()):
                # The first param group: `pg1` before `pg10` (numbers, not text, decide).
                match = min(
                    (n for k, n in keyed if pattern.match(k) and n not in used),
                    key=_group_number,
                    default=None,
                )
                if match is not None:
                    break
        if match is not None:
            chosen[signal] = match
            used.add(match)
    return chosen


_cached_detect = functools.lru_cache(maxsize=256)(_detect)


def optimizer_from_columns(columns: Mapping[str, str]) -> str | None:
    """The optimizer named by a Lightning-style `lr-<Optimizer>` column, if any."""
    m = _OPTIMIZER_FROM_LR.match(columns.get("lr", ""))
    return m.group(1).lower() if m else None
