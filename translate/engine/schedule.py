"""Learning-rate schedule: constant, then a linear decay to zero over the last steps.

This is the pix2pix/CycleGAN schedule (Isola et al. 2017, https://arxiv.org/abs/1611.07004;
Zhu et al. 2017, https://arxiv.org/abs/1703.10593).
"""

from __future__ import annotations

from collections.abc import Callable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def constant_then_linear(total_steps: int, decay_steps: int) -> Callable[[int], float]:
    """LR multiplier for step s: 1 before the last `decay_steps` steps, then falling linearly.

    Like the reference code, the last step still learns a little (1/(decay+1)) and the
    multiplier reaches 0 only once training is over.
    """
    start = total_steps - decay_steps

    def factor(step: int) -> float:
        if decay_steps == 0 or step < start:
            return 1.0
        return max(0.0, (total_steps - step) / (decay_steps + 1))

    return factor


def make_scheduler(optimizer: Optimizer, total_steps: int, decay_fraction: float) -> LambdaLR:
    """A LambdaLR whose state is only the step count.

    The multiplier is a closure, not an object, so a checkpoint does not freeze it: a
    run resumed with a larger --steps decays over the new length.
    """
    decay_steps = round(total_steps * decay_fraction)
    return LambdaLR(optimizer, constant_then_linear(total_steps, decay_steps))
