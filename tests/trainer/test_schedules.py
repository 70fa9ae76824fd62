"""Schedules give exactly the LR sequences they promise."""

import numpy as np

from lrdoctor.trainer.schedules import ReduceLROnPlateau, lr_schedule, range_test_lrs


def test_constant_step_exponential():
    np.testing.assert_array_equal(lr_schedule("constant", 0.1, 4), [0.1] * 4)
    np.testing.assert_allclose(
        lr_schedule("step", 1.0, 7, milestones=(2, 5), gamma=0.5), [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    )
    np.testing.assert_allclose(
        lr_schedule("exponential", 2.0, 4, gamma=0.9), 2.0 * 0.9 ** np.arange(4)
    )


def test_linear_inverse_sqrt_cosine():
    np.testing.assert_allclose(
        lr_schedule("linear", 1.0, 5, decay_steps=4), [1, 0.75, 0.5, 0.25, 0]
    )
    np.testing.assert_allclose(lr_schedule("inverse_sqrt", 0.5, 4), 0.5 / np.sqrt([1, 2, 3, 4]))
    np.testing.assert_allclose(
        lr_schedule("cosine", 1.0, 5, decay_steps=4),
        [1, (1 + np.cos(np.pi / 4)) / 2, 0.5, (1 - np.cos(np.pi / 4)) / 2, 0],
        atol=1e-15,
    )


def test_warmup_then_decay():
    lrs = lr_schedule("step", 1.0, 6, warmup_steps=3, milestones=(2,), gamma=0.1)
    np.testing.assert_allclose(
        lrs, [1 / 3, 2 / 3, 1, 1, 1, 0.1]
    )  # milestones count from warmup end
    np.testing.assert_allclose(lr_schedule("cosine", 1.0, 6, warmup_steps=2)[:3], [0.5, 1, 1])


def test_range_test_is_geometric():
    lrs = range_test_lrs(1e-7, 10.0, 101)
    assert lrs[0] == 1e-7 and np.isclose(lrs[-1], 10.0, rtol=1e-12)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], 10**0.08, rtol=1e-12)


def test_reduce_on_plateau_follows_pytorch():
    sched, lr, lrs = ReduceLROnPlateau(factor=0.5, patience=2, threshold=0.1, cooldown=1), 1.0, []
    # 1.0 best; 0.95 is not 10 % better -> bad epochs 1, 2, 3 > patience -> halve.
    for metric in [1.0, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        sched.step(metric, lr * sched.scale)
        lrs.append(lr * sched.scale)
    assert lrs == [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]
