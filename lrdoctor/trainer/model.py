"""MLP and losses with hand-written back-propagation; parameters live in one flat buffer."""

from __future__ import annotations

import numpy as np

ACTIVATIONS = ("relu", "tanh")


class MLP:
    """Fully connected net whose weights and gradients are views into `params` and `grad`."""

    def __init__(self, sizes, activation="relu", init="auto", rng=None):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}")
        init = ("he" if activation == "relu" else "xavier") if init == "auto" else init
        pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
        self.activation = activation
        self.params = np.zeros(sum(i * o + o for i, o in pairs))
        self.grad = np.zeros_like(self.params)
        self.layers, self.grads, offsets = [], [], [0]
        for fan_in, fan_out in pairs:
            w, b = self._views(self.params, offsets[-1], fan_in, fan_out)
            self.layers.append((w, b))
            self.grads.append(self._views(self.grad, offsets[-1], fan_in, fan_out))
            offsets.append(offsets[-1] + fan_in * fan_out + fan_out)
            std = np.sqrt(2.0 / fan_in) if init == "he" else np.sqrt(2.0 / (fan_in + fan_out))
            w[:] = std * rng.standard_normal((fan_in, fan_out))
        # Start offset of each layer in the flat buffer, for per-layer norms with np.add.reduceat.
        self.offsets = np.array(offsets[:-1])
        self._cache: list[np.ndarray] = []

    @staticmethod
    def _views(buf, start, fan_in, fan_out):
        mid = start + fan_in * fan_out
        return buf[start:mid].reshape(fan_in, fan_out), buf[mid : mid + fan_out]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the outputs (logits or predictions), caching what backward needs."""
        cache = [x]
        h = x
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0) if self.activation == "relu" else np.tanh(h)
                cache.append(h)
        self._cache = cache
        return h

    def backward(self, dout: np.ndarray) -> None:
        """Fill `grad` from the gradient of the loss w.r.t. the outputs of the last forward."""
        d = dout
        for i in range(len(self.layers) - 1, -1, -1):
            h = self._cache[i]
            gw, gb = self.grads[i]
            np.matmul(h.T, d, out=gw)
            d.sum(axis=0, out=gb)
            if i:
                d = d @ self.layers[i][0].T
                # Derivative from the activation's output: relu'(z) = [h > 0], tanh'(z) = 1 - h^2.
                d = d * (h > 0) if self.activation == "relu" else d * (1.0 - h * h)


def softmax_cross_entropy(logits, y, *, unsafe=False):
    """Mean cross-entropy and its gradient w.r.t. logits.

    `unsafe=True` computes log(softmax) literally, with no clamping, so a probability that
    underflows to 0 gives an infinite loss and NaN gradients (a numerical bug, not the LR).
    """
    n = len(y)
    rows = np.arange(n)
    z = logits - logits.max(axis=1, keepdims=True)
    if unsafe:
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        py = p[rows, y]
        loss = -np.log(py).mean()
        dp = np.zeros_like(p)
        dp[rows, y] = -1.0 / (n * py)
        return loss, p * (dp - (dp * p).sum(axis=1, keepdims=True))
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -logp[rows, y].mean()
    d = np.exp(logp)
    d[rows, y] -= 1.0
    return loss, d / n


def mse(pred, y):
    """Mean squared error over all elements, and its gradient."""
    diff = pred - y
    return (diff * diff).mean(), (2.0 / diff.size) * diff


def accuracy(logits, y) -> float:
    return float((logits.argmax(axis=1) == y).mean())
