"""Optimizers, each written from its published update rule over one flat parameter vector.

Every optimizer returns the update `d` (the caller applies `params += d`), so the loop can log
the update norm without copying the parameters.  Conventions follow PyTorch's documentation.
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam")
DEFAULT_LR = {"adadelta": 1.0}  # Adadelta needs no LR: lr is only a multiplier, 1.0 by default.


class Optimizer:
    """Base class: `update(g, p, lr)` returns the parameter change for gradient `g` at `p`."""

    def __init__(self, n: int, weight_decay: float = 0.0):
        self.weight_decay = weight_decay
        self.t = 0

    def update(self, g: np.ndarray, p: np.ndarray, lr: float) -> np.ndarray:
        self.t += 1
        # Coupled (L2) weight decay, added to the gradient as in torch.optim.
        return self._update(g + self.weight_decay * p if self.weight_decay else g, lr)

    def _update(self, g, lr):
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * g."""

    def _update(self, g, lr):
        return -lr * g


class Momentum(Optimizer):
    """Heavy ball (PyTorch form): v = mu*v + g; p -= lr*v."""

    def __init__(self, n, weight_decay=0.0, momentum=0.9):
        super().__init__(n, weight_decay)
        self.mu, self.v = momentum, np.zeros(n)

    def _update(self, g, lr):
        self.v *= self.mu
        self.v += g
        return -lr * self.v


class Nesterov(Momentum):
    """Nesterov (Sutskever et al. 2013, PyTorch form): v = mu*v + g; p -= lr*(g + mu*v)."""

    def _update(self, g, lr):
        super()._update(g, lr)
        return -lr * (g + self.mu * self.v)


class Adagrad(Optimizer):
    """Duchi et al. 2011: s += g^2; p -= lr * g / (sqrt(s) + eps)."""

    def __init__(self, n, weight_decay=0.0, eps=1e-10):
        super().__init__(n, weight_decay)
        self.eps, self.s = eps, np.zeros(n)

    def _update(self, g, lr):
        self.s += g * g
        return -lr * g / (np.sqrt(self.s) + self.eps)


class Adadelta(Optimizer):
    """Zeiler 2012: step = -RMS[dx]_{t-1} / RMS[g]_t * g, scaled by the lr multiplier."""

    def __init__(self, n, weight_decay=0.0, rho=0.9, eps=1e-6):
        super().__init__(n, weight_decay)
        self.rho, self.eps = rho, eps
        self.eg, self.edx = np.zeros(n), np.zeros(n)

    def _update(self, g, lr):
        rho = self.rho
        self.eg *= rho
        self.eg += (1 - rho) * g * g
        dx = np.sqrt(self.edx + self.eps) / np.sqrt(self.eg + self.eps) * g
        self.edx *= rho
        self.edx += (1 - rho) * dx * dx
        return -lr * dx


class RMSprop(Optimizer):
    """Tieleman & Hinton 2012: v = a*v + (1-a)*g^2; p -= lr * g / (sqrt(v) + eps)."""

    def __init__(self, n, weight_decay=0.0, alpha=0.99, eps=1e-8):
        super().__init__(n, weight_decay)
        self.alpha, self.eps, self.v = alpha, eps, np.zeros(n)

    def _update(self, g, lr):
        self.v *= self.alpha
        self.v += (1 - self.alpha) * g * g
        return -lr * g / (np.sqrt(self.v) + self.eps)


class Adam(Optimizer):
    """Kingma & Ba 2015 with bias correction: p -= lr * m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, n, weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(n, weight_decay)
        self.b1, self.b2, self.eps = beta1, beta2, eps
        self.m, self.v = np.zeros(n), np.zeros(n)

    def _update(self, g, lr):
        self.m *= self.b1
        self.m += (1 - self.b1) * g
        self.v *= self.b2
        self.v += (1 - self.b2) * g * g
        m_hat = self.m / (1 - self.b1**self.t)
        v_hat = self.v / (1 - self.b2**self.t)
        return -lr * m_hat / (np.sqrt(v_hat) + self.eps)


_CLASSES = dict(
    zip(OPTIMIZERS, (SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam), strict=True)
)


def make_optimizer(name: str, n: int, weight_decay: float = 0.0, **hyper) -> Optimizer:
    """Build optimizer `name` for `n` parameters; `hyper` holds e.g. momentum, eps, beta1."""
    if name not in _CLASSES:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    return _CLASSES[name](n, weight_decay, **hyper)
