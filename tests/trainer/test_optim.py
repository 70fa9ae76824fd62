"""The first two steps of every optimizer match its published formula, computed by hand."""

import numpy as np
import pytest

from lrdoctor.trainer.optim import make_optimizer

P0 = np.array([0.5, -1.0, 2.0])
G1 = np.array([0.1, -0.2, 0.3])
G2 = np.array([-0.3, 0.05, 0.2])
LR = 0.01


def two_steps(name, **kw):
    opt, p = make_optimizer(name, 3, **kw), P0.copy()
    p += opt.update(G1, p, LR)
    p1 = p.copy()
    p += opt.update(G2, p, LR)
    return p1, p


def by_hand(name):
    if name == "sgd":
        return P0 - LR * G1, P0 - LR * G1 - LR * G2
    if name in ("momentum", "nesterov"):
        v1, v2 = G1, 0.9 * G1 + G2
        if name == "momentum":
            return P0 - LR * v1, P0 - LR * v1 - LR * v2
        return P0 - LR * (G1 + 0.9 * v1), P0 - LR * (G1 + 0.9 * v1) - LR * (G2 + 0.9 * v2)
    if name == "adagrad":
        s1, s2 = G1**2, G1**2 + G2**2
        p1 = P0 - LR * G1 / (np.sqrt(s1) + 1e-10)
        return p1, p1 - LR * G2 / (np.sqrt(s2) + 1e-10)
    if name == "adadelta":
        rho, eps = 0.9, 1e-6
        eg1 = (1 - rho) * G1**2
        dx1 = np.sqrt(eps) / np.sqrt(eg1 + eps) * G1
        ed1 = (1 - rho) * dx1**2
        eg2 = rho * eg1 + (1 - rho) * G2**2
        dx2 = np.sqrt(ed1 + eps) / np.sqrt(eg2 + eps) * G2
        return P0 - LR * dx1, P0 - LR * dx1 - LR * dx2
    if name == "rmsprop":
        v1 = 0.01 * G1**2
        v2 = 0.99 * v1 + 0.01 * G2**2
        p1 = P0 - LR * G1 / (np.sqrt(v1) + 1e-8)
        return p1, p1 - LR * G2 / (np.sqrt(v2) + 1e-8)
    if name == "adam":
        m1, v1 = 0.1 * G1, 0.001 * G1**2
        m2, v2 = 0.9 * m1 + 0.1 * G2, 0.999 * v1 + 0.001 * G2**2
        p1 = P0 - LR * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + 1e-8)
        return p1, p1 - LR * (m2 / (1 - 0.9**2)) / (np.sqrt(v2 / (1 - 0.999**2)) + 1e-8)
    raise AssertionError(name)


@pytest.mark.parametrize(
    "name", ["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam"]
)
def test_first_two_steps_match_published_rule(name):
    p1, p2 = two_steps(name)
    e1, e2 = by_hand(name)
    np.testing.assert_allclose(p1, e1, rtol=1e-12)
    np.testing.assert_allclose(p2, e2, rtol=1e-12)


def test_weight_decay_is_added_to_the_gradient():
    opt = make_optimizer("sgd", 3, weight_decay=0.1)
    np.testing.assert_allclose(opt.update(G1, P0, LR), -LR * (G1 + 0.1 * P0))
