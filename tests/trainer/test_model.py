"""Hand-written gradients agree with central finite differences."""

import numpy as np
import pytest

from lrdoctor.trainer.model import MLP, mse, softmax_cross_entropy


def numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        old = x.flat[i]
        x.flat[i] = old + h
        up = f()
        x.flat[i] = old - h
        g.flat[i] = (up - f()) / (2 * h)
        x.flat[i] = old
    return g


@pytest.mark.parametrize("unsafe", [False, True])
def test_softmax_cross_entropy_gradient(unsafe):
    rng = np.random.default_rng(0)
    logits, y = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    _, d = softmax_cross_entropy(logits, y, unsafe=unsafe)
    num = numeric_grad(lambda: softmax_cross_entropy(logits, y, unsafe=unsafe)[0], logits)
    np.testing.assert_allclose(d, num, atol=1e-8)


def test_mse_gradient():
    rng = np.random.default_rng(1)
    pred, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    np.testing.assert_allclose(
        mse(pred, y)[1], numeric_grad(lambda: mse(pred, y)[0], pred), atol=1e-8
    )


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_mlp_gradient_every_layer(activation, loss):
    rng = np.random.default_rng(2)
    net = MLP([3, 5, 4, 3], activation, rng=rng)
    net.params += 0.1 * rng.standard_normal(net.params.size)  # nonzero biases too
    x = rng.standard_normal((7, 3))
    y = rng.integers(0, 3, 7) if loss == "ce" else rng.standard_normal((7, 3))
    fn = (lambda o: softmax_cross_entropy(o, y)) if loss == "ce" else (lambda o: mse(o, y))
    net.backward(fn(net.forward(x))[1])
    num = numeric_grad(lambda: fn(net.forward(x))[0], net.params)
    np.testing.assert_allclose(net.grad, num, atol=1e-6)


def test_unsafe_log_of_zero_probability_is_not_finite():
    with np.errstate(all="ignore"):
        loss, d = softmax_cross_entropy(np.array([[0.0, 1000.0]]), np.array([0]), unsafe=True)
    assert loss == np.inf and np.isnan(d).any()
