"""The tiny problem every integration test trains, and the verdicts it expects.

Four-class classification of 8 Gaussian features by a 2-hidden-layer MLP: a few hundred
steps on one CPU thread take well under a second in plain PyTorch, and the three regimes are
far apart: Adam at 3e-3 learns (loss 1.39 -> ~0.3), at 1.0 it blows up, at 1e-6 it crawls.
"""

from __future__ import annotations

import lrdoctor

HEALTHY, TOO_HIGH, TOO_LOW = 3e-3, 1.0, 1e-6
REGIMES = {"healthy": HEALTHY, "too_high": TOO_HIGH, "too_low": TOO_LOW}
N, FEATURES, CLASSES, BATCH = 2048, 8, 4, 64


def arrays():
    """Features and labels as numpy (float32, int64), the same every call."""
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, FEATURES)).astype(np.float32)
    w = rng.standard_normal((FEATURES, CLASSES))
    y = (x @ w + 0.3 * rng.standard_normal((N, CLASSES))).argmax(1).astype(np.int64)
    return x, y


def tensors():
    import torch

    x, y = arrays()
    return torch.from_numpy(x), torch.from_numpy(y)


def mlp(seed: int = 0):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, CLASSES),
    )


def batches(steps: int, seed: int = 0):
    """`steps` random mini-batches (x, y)."""
    import torch

    x, y = tensors()
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        i = torch.randint(0, N, (BATCH,), generator=g)
        yield x[i], y[i]


def lr_categories(path, **kwargs) -> tuple[str, set[str]]:
    """The run's verdict and the categories of its LR findings (lr_too_high / lr_too_low)."""
    report = lrdoctor.check(path, **kwargs)
    assert len(report.runs) == 1, [r.source for r in report.runs]
    run = report.runs[0]
    assert run.error is None, run.error
    cats = {f.category for f in run.findings if f.category.startswith("lr_too")}
    return run.status, cats


def assert_regime(regime: str, path, **kwargs) -> None:
    """Healthy: no LR finding and not failed; too high / too low: flagged in that direction
    (and never in the other)."""
    status, cats = lr_categories(path, **kwargs)
    if regime == "healthy":
        assert cats == set() and status != "fail", (status, cats)
    elif regime == "too_high":
        assert cats == {"lr_too_high"}, (status, cats)
    else:
        assert cats == {"lr_too_low"}, (status, cats)


def columns(path, **kwargs) -> dict[str, str]:
    return lrdoctor.check(path, **kwargs).runs[0].columns


def train_torch(lr: float, steps: int = 300, on_step=None, optimizer: str = "adam", capture=None):
    """A plain PyTorch loop; `on_step(step, loss, optimizer)` after each update, `capture`
    (a callable taking the optimizer and model) returns a TorchCapture-like hook."""
    import torch

    model = mlp()
    opt = (
        torch.optim.Adam(model.parameters(), lr)
        if optimizer == "adam"
        else torch.optim.SGD(model.parameters(), lr, momentum=0.9)
    )
    cap = capture(opt, model) if capture else None
    for step, (xb, yb) in enumerate(batches(steps)):
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        if cap is not None:
            cap.log(loss=loss.item())
        opt.step()
        if on_step is not None:
            on_step(step, loss.item(), opt)
    if cap is not None:
        cap.close()
    return model, opt


# The range tests' sweep: 8 constant LRs, a third of a decade apart around the healthy 3e-3.
GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
SWEEP_STEPS = 100


def final_loss(lr: float, steps: int = SWEEP_STEPS) -> float:
    """Full-data loss after `steps` Adam steps at a constant LR."""
    import torch

    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr)
    for xb, yb in batches(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    x, y = tensors()
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model(x), y))


def sweep_best() -> float:
    final = {lr: final_loss(lr) for lr in GRID}
    return min(final, key=final.get)


def same_state(before: dict, after: dict) -> bool:
    """Two state_dicts (deep copies) hold equal tensors under the same keys."""
    import torch

    return before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def train_into_tracker(lr: float, log) -> None:
    """The plain loop with a TorchCapture whose every row goes to a tracker:
    `log(step, cap.metrics())` after each update (loss, lr, and every 10th step the norms)."""
    from lrdoctor.capture.torch import TorchCapture

    held = {}

    def capture(opt, model):
        held["cap"] = TorchCapture(opt, model)
        return held["cap"]

    train_torch(lr, capture=capture, on_step=lambda step, loss, opt: log(step, held["cap"]))


def assert_capture_columns(path) -> None:
    """The tracker's log read back with the capture's signals mapped (not only loss and lr)."""
    mapped = columns(path)
    assert {"loss", "lr", "grad_norm", "update_ratio"} <= set(mapped), mapped
