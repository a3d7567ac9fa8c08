"""State dicts in the reference `UnetGenerator` key layout, built from its public description.

junyanz/pytorch-CycleGAN-and-pix2pix (models/networks.py) nests one
`UnetSkipConnectionBlock` per resolution; each holds a Sequential `model`:

    outermost  0 Conv2d(in, w)           1 <inner block>  2 ReLU  3 ConvTranspose2d(2w, out)  4 Tanh
    middle     0 LeakyReLU  1 Conv2d(outer, inner)  2 norm(inner)  3 <inner block>
               4 ReLU  5 ConvTranspose2d(2*inner, outer)  6 norm(outer)  [7 Dropout]
    innermost  0 LeakyReLU  1 Conv2d(outer, inner)  2 ReLU  3 ConvTranspose2d(inner, outer)
               4 norm(outer)

Widths are w * min(2**level, 8). Convolutions followed by batch norm have no bias (all but
the outermost ones); instance norm (affine=False) has no parameters, so those convs keep
theirs. Everything here is written from that description, independently of our model.py,
and `reference_forward` evaluates such a state dict with plain torch.nn.functional calls.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _channels(width: int, level: int) -> int:
    return width * min(2 ** level, 8)


def _prefix(level: int) -> str:
    return "model.model." if level == 0 else "model.model.1.model." + "3.model." * (level - 1)


def reference_state_dict(*, depth: int, width: int, norm: str, in_channels: int = 3,
                         out_channels: int = 3, seed: int = 0,
                         legacy_instance_stats: bool = False) -> dict[str, torch.Tensor]:
    """Random weights under the reference keys; batch-norm statistics are non-trivial."""
    rng = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    bias = norm != "batch"

    def norm_layer(key: str, channels: int) -> None:
        if norm == "batch":
            state[key + ".weight"] = 1 + 0.1 * torch.randn(channels, generator=rng)
            state[key + ".bias"] = 0.1 * torch.randn(channels, generator=rng)
            state[key + ".running_mean"] = 0.1 * torch.randn(channels, generator=rng)
            state[key + ".running_var"] = 0.5 + torch.rand(channels, generator=rng)
            state[key + ".num_batches_tracked"] = torch.tensor(7)
        elif legacy_instance_stats:  # what PyTorch < 0.4 wrote for InstanceNorm2d
            state[key + ".running_mean"] = torch.zeros(channels)
            state[key + ".running_var"] = torch.ones(channels)

    for level in range(depth):
        p = _prefix(level)
        inner = _channels(width, level)
        if level == 0:
            state[p + "0.weight"] = torch.randn(width, in_channels, 4, 4, generator=rng) * 0.05
            if bias:
                state[p + "0.bias"] = torch.randn(width, generator=rng) * 0.05
            state[p + "3.weight"] = torch.randn(2 * width, out_channels, 4, 4,
                                                generator=rng) * 0.05
            state[p + "3.bias"] = torch.randn(out_channels, generator=rng) * 0.05
            continue
        outer = _channels(width, level - 1)
        state[p + "1.weight"] = torch.randn(inner, outer, 4, 4, generator=rng) * 0.05
        if bias:
            state[p + "1.bias"] = torch.randn(inner, generator=rng) * 0.05
        if level == depth - 1:  # innermost
            state[p + "3.weight"] = torch.randn(inner, outer, 4, 4, generator=rng) * 0.05
            if bias:
                state[p + "3.bias"] = torch.randn(outer, generator=rng) * 0.05
            norm_layer(p + "4", outer)
        else:
            norm_layer(p + "2", inner)
            state[p + "5.weight"] = torch.randn(2 * inner, outer, 4, 4, generator=rng) * 0.05
            if bias:
                state[p + "5.bias"] = torch.randn(outer, generator=rng) * 0.05
            norm_layer(p + "6", outer)
    return state


def reference_forward(state: dict[str, torch.Tensor], x: torch.Tensor, *, depth: int,
                      norm: str) -> torch.Tensor:
    """The reference U-Net in eval mode (dropout off), straight from the state dict."""

    def normalise(key: str, y: torch.Tensor) -> torch.Tensor:
        if norm == "batch":
            return F.batch_norm(y, state[key + ".running_mean"], state[key + ".running_var"],
                                state[key + ".weight"], state[key + ".bias"], False, 0.0, 1e-5)
        return F.instance_norm(y, eps=1e-5)

    def down(key: str, y: torch.Tensor) -> torch.Tensor:
        return F.conv2d(y, state[key + ".weight"], state.get(key + ".bias"), 2, 1)

    def up(key: str, y: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(y, state[key + ".weight"], state.get(key + ".bias"), 2, 1)

    def level(index: int, y: torch.Tensor) -> torch.Tensor:
        p = _prefix(index)
        y = F.leaky_relu(y, 0.2)  # the skip connection carries the activated input
        if index == depth - 1:
            inner = down(p + "1", y)
            return torch.cat([y, normalise(p + "4", up(p + "3", F.relu(inner)))], 1)
        inner = level(index + 1, normalise(p + "2", down(p + "1", y)))
        return torch.cat([y, normalise(p + "6", up(p + "5", F.relu(inner)))], 1)

    p = _prefix(0)
    inner = level(1, down(p + "0", x))
    return torch.tanh(up(p + "3", F.relu(inner)))
