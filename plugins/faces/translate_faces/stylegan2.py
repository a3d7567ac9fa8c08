"""A StyleGAN2 generator in plain PyTorch, laid out like rosinality's `stylegan2-pytorch`.

Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN",
https://arxiv.org/abs/1912.04958 (config F: modulated convolutions with demodulation,
skip connections through ToRGB, no progressive growing).

Every submodule is named after the keys of rosinality's `g_ema` state dict (`style.N`,
`input.input`, `conv1`, `to_rgb1`, `convs.N`, `to_rgbs.N`, `noises.noise_N`), so his
converted FFHQ files load with a key filter (`translate_faces.stylegan2_checkpoints`). One
buffer is ours: `latent_avg`, the mean latent that truncation pulls towards; his files
keep it next to `g_ema`, or leave it to be estimated from the mapping network.

No custom CUDA or C++ operators: the fused bias + leaky ReLU and the up/FIR/down filter that
the official code compiles are written here with ordinary tensor operations, so the network
runs wherever PyTorch does, the CPU included. Inference is deterministic for a seed: latents
come from a seeded CPU generator and the per-layer noise is the stored `noises` buffers
(rosinality's `randomize_noise=False`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MEAN_LATENT_SAMPLES", "MEAN_LATENT_SEED", "SIZES", "StyleGAN2Generator",
           "channels_at", "upfirdn2d"]

SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)  # output sizes; 8-128 are for tests and toys
BLUR_TAPS = (1, 3, 3, 1)  # the binomial filter of the official config F
# Truncation pulls towards the mean of W. Without the mean a file recorded, it is estimated
# as rosinality's generate.py does (4096 mapped samples), from a fixed seed so that the
# same weights always give the same faces.
MEAN_LATENT_SAMPLES = 4096
MEAN_LATENT_SEED = 0
LEAKY_SLOPE = 0.2
ACTIVATION_GAIN = math.sqrt(2)  # keeps unit variance through a leaky ReLU (He et al. 2015)
# Pixels synthesised at once by sample() and walk(): 4 images at 1024 (about 0.5 GB of
# activations each on a CPU, measured), 64 at 256.
CHUNK_PIXELS = 4 * 1024 * 1024


def channels_at(resolution: int, channel_multiplier: int) -> int:
    """Feature maps at a resolution: 512 up to 32x32, then halving (config F doubles them)."""
    if resolution <= 32:
        return 512
    return 256 * channel_multiplier * 64 // resolution


# ---- filtering ------------------------------------------------------------------------------


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, *, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad, convolve every channel with `kernel`, subsample.

    x: (N, C, H, W), kernel: (K, K) -> (N, C, (H*up + pad0 + pad1 - K) // down + 1, same for W).
    The kernel is convolved (flipped), as in the official upfirdn2d; pads are non-negative.
    """
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))
    # A depthwise convolution, the same filter for every channel. (Folding the channels into
    # the batch for one single-channel convolution, as rosinality's upfirdn2d_native does,
    # took 5x the time and 6x the memory on this CPU: 32 channels at 1027x1027.)
    taps = kernel.flip((0, 1)).to(x.dtype)[None, None].expand(c, 1, -1, -1)
    x = F.conv2d(x, taps, groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def blur_kernel(taps: tuple[int, ...], *, gain: float = 1.0) -> torch.Tensor:
    """The separable 2-D low-pass filter of 1-D taps, summing to gain."""
    row = torch.tensor(taps, dtype=torch.float32)
    kernel = row[None, :] * row[:, None]
    return kernel / kernel.sum() * gain


# Low-pass filtering when resampling: Zhang 2019, https://arxiv.org/abs/1904.11486, as
# StyleGAN adopted it (Karras et al. 2019, https://arxiv.org/abs/1812.04948, section 2).
class Blur(nn.Module):
    """A fixed FIR filter, after zero-insertion upsampling when up > 1."""

    def __init__(self, *, pad: tuple[int, int], up: int = 1, gain: float = 1.0) -> None:
        super().__init__()
        # A buffer, not a constant: rosinality's files store it (…blur.kernel, …upsample.kernel).
        self.register_buffer("kernel", blur_kernel(BLUR_TAPS, gain=gain))
        self.pad, self.up = pad, up

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) -> (N, C, H*up + pad0 + pad1 - 3, W*up + pad0 + pad1 - 3)
        return upfirdn2d(x, self.kernel, up=self.up, pad=self.pad)


# ---- equalised layers -------------------------------------------------------------------------


# Pixelwise feature normalisation: Karras et al. 2018 (ProGAN), https://arxiv.org/abs/1710.10196
class PixelNorm(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # (N, D) -> (N, D), each row scaled to unit mean square
        return z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)


def leaky_relu_with_bias(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """What the official `fused_bias_act` computes: bias per channel (dim 1), lrelu, gain."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias.reshape(shape), LEAKY_SLOPE) * ACTIVATION_GAIN


# Equalised learning rate: ProGAN, https://arxiv.org/abs/1710.10196, section 4.1. Weights are
# stored N(0, 1) / lr_mul and scaled at run time; lr_mul slows the mapping network (StyleGAN,
# https://arxiv.org/abs/1812.04948, appendix C: 0.01).
class EqualLinear(nn.Module):
    def __init__(self, *, in_features: int, out_features: int, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, in_features) -> (N, out_features)
        if self.activate:
            return leaky_relu_with_bias(F.linear(x, self.weight * self.scale),
                                        self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


# ---- the synthesis blocks -------------------------------------------------------------------


# Weight modulation and demodulation: StyleGAN2, https://arxiv.org/abs/1912.04958, section 2.2
# (eqs. 1-3), replacing StyleGAN's AdaIN. Upsampling is a stride-2 transposed convolution
# followed by the blur, the official implementation of "upsample, then 3x3 conv".
class ModulatedConv2d(nn.Module):
    def __init__(self, *, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(
            torch.randn(1, out_channels, in_channels, kernel_size, kernel_size))
        self.modulation = EqualLinear(in_features=style_dim, out_features=in_channels,
                                      bias_init=1.0)
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2
        self.demodulate = demodulate
        self.upsample = upsample
        if upsample:
            # (2H + K - 2) after the transposed conv; these pads bring it to exactly 2H.
            spare = len(BLUR_TAPS) - 2 - (kernel_size - 1)
            self.blur = Blur(pad=((spare + 1) // 2 + 1, spare // 2 + 1), gain=4.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # x: (N, in, H, W), w: (N, style_dim) -> (N, out, H, W), or (N, out, 2H, 2W) upsampling
        n, in_channels, height, width = x.shape
        style = self.modulation(w)  # (N, in)
        # Eq. 1: each image gets its own weights, scaled per input channel by its style.
        weight = self.scale * self.weight * style[:, None, :, None, None]  # (N, out, in, K, K)
        if self.demodulate:  # eq. 3: unit expected L2 norm per output channel
            weight = weight * torch.rsqrt(weight.square().sum(dim=(2, 3, 4)) + 1e-8)[
                :, :, None, None, None]
        out_channels, k = weight.shape[1], weight.shape[-1]
        # One grouped convolution, a group per image. (Scaling the activations instead and
        # sharing one weight was no faster on a CPU, and rounds differently from the
        # official code.)
        x = x.reshape(1, n * in_channels, height, width)
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(n * in_channels, out_channels, k, k)
            x = F.conv_transpose2d(x, weight, stride=2, groups=n)
            return self.blur(x.reshape(n, out_channels, *x.shape[2:]))
        x = F.conv2d(x, weight.reshape(n * out_channels, in_channels, k, k),
                     padding=self.padding, groups=n)
        return x.reshape(n, out_channels, *x.shape[2:])


# Per-pixel noise, scaled per layer: StyleGAN, https://arxiv.org/abs/1812.04948, section 3.2
# (moved outside the style block in StyleGAN2, https://arxiv.org/abs/1912.04958, section 2.1).
class NoiseInjection(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        # x: (N, C, H, W), noise: (1 or N, 1, H, W) -> (N, C, H, W)
        return x + self.weight * noise


class BiasedLeakyReLU(nn.Module):
    """Rosinality's FusedLeakyReLU, unfused: a per-channel bias, leaky ReLU, sqrt(2) gain."""

    def __init__(self, *, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_relu_with_bias(x, self.bias)


class StyledConv(nn.Module):
    """Modulated 3x3 conv, noise, bias and activation: one layer of the synthesis network."""

    def __init__(self, *, in_channels: int, out_channels: int, style_dim: int,
                 upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels=in_channels, out_channels=out_channels,
                                    kernel_size=3, style_dim=style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = BiasedLeakyReLU(channels=out_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        # (N, in, H, W), (N, style_dim), (1, 1, H', W') -> (N, out, H', W')
        return self.activate(self.noise(self.conv(x, w), noise))


# Output skips: StyleGAN2, https://arxiv.org/abs/1912.04958, section 4.1 and figure 7b: every
# resolution adds its RGB to the upsampled RGB of the one below.
class ToRGB(nn.Module):
    def __init__(self, *, in_channels: int, style_dim: int, upsample: bool = True) -> None:
        super().__init__()
        if upsample:
            self.upsample = Blur(pad=(2, 1), up=2, gain=4.0)
        self.conv = ModulatedConv2d(in_channels=in_channels, out_channels=3, kernel_size=1,
                                    style_dim=style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor,
                skip: torch.Tensor | None = None) -> torch.Tensor:
        # x: (N, C, H, W), skip: (N, 3, H/2, W/2) or None -> (N, 3, H, W)
        rgb = self.conv(x, w) + self.bias
        return rgb if skip is None else rgb + self.upsample(skip)


# The learned constant that synthesis starts from: StyleGAN, https://arxiv.org/abs/1812.04948,
# section 2.
class ConstantInput(nn.Module):
    def __init__(self, *, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        # -> (batch, channels, 4, 4)
        return self.input.expand(batch, -1, -1, -1)


# ---- the generator ----------------------------------------------------------------------------


# StyleGAN2 config F: Karras et al. 2020, https://arxiv.org/abs/1912.04958 (figure 2d, table 1);
# the mapping network z -> w and the truncation trick in W from StyleGAN,
# https://arxiv.org/abs/1812.04948 (section 2 and appendix B).
class StyleGAN2Generator(nn.Module):
    """z ~ N(0, I) in R^style_dim -> an RGB image of size x size, roughly in [-1, 1]."""

    def __init__(self, *, size: int = 1024, style_dim: int = 512, n_mlp: int = 8,
                 channel_multiplier: int = 2, lr_mlp: float = 0.01) -> None:
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(map(str, SIZES))}, got {size}")
        if channel_multiplier not in (1, 2):
            raise ValueError(f"channel_multiplier must be 1 or 2, got {channel_multiplier}")
        self.size, self.style_dim = size, style_dim
        self.log_size = int(math.log2(size))
        # Every synthesis layer and ToRGB reads one w; ToRGB shares its w with the next conv.
        self.n_latent = self.log_size * 2 - 2
        self.num_layers = (self.log_size - 2) * 2 + 1  # modulated 3x3 convs, one noise each

        self.style = nn.Sequential(PixelNorm(), *(
            EqualLinear(in_features=style_dim, out_features=style_dim, lr_mul=lr_mlp,
                        activate=True) for _ in range(n_mlp)))

        base = channels_at(4, channel_multiplier)
        self.input = ConstantInput(channels=base)
        self.conv1 = StyledConv(in_channels=base, out_channels=base, style_dim=style_dim)
        self.to_rgb1 = ToRGB(in_channels=base, style_dim=style_dim, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        in_channels = base
        for log_resolution in range(3, self.log_size + 1):
            out_channels = channels_at(2**log_resolution, channel_multiplier)
            self.convs.append(StyledConv(in_channels=in_channels, out_channels=out_channels,
                                         style_dim=style_dim, upsample=True))
            self.convs.append(StyledConv(in_channels=out_channels, out_channels=out_channels,
                                         style_dim=style_dim))
            self.to_rgbs.append(ToRGB(in_channels=out_channels, style_dim=style_dim))
            in_channels = out_channels

        # Fixed noise for deterministic images: one map per conv, at that conv's resolution.
        self.noises = nn.Module()
        for layer in range(self.num_layers):
            resolution = 2 ** ((layer + 5) // 2)
            self.noises.register_buffer(f"noise_{layer}",
                                        torch.randn(1, 1, resolution, resolution))
        # Zero until weights arrive: a file's latent_avg, or estimate_mean_latent().
        self.register_buffer("latent_avg", torch.zeros(style_dim))

    # ---- the two networks -------------------------------------------------------------------

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        # z: (N, style_dim) -> w: (N, style_dim)
        return self.style(z)

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        # w: (N, style_dim), or (N, n_latent, style_dim) per layer -> (N, 3, size, size)
        if w.ndim == 2:
            w = w[:, None].expand(-1, self.n_latent, -1)
        if w.shape[1] != self.n_latent:
            raise ValueError(f"expected {self.n_latent} latents per image, got {w.shape[1]}")
        noise = [getattr(self.noises, f"noise_{layer}") for layer in range(self.num_layers)]
        x = self.conv1(self.input(len(w)), w[:, 0], noise[0])
        rgb = self.to_rgb1(x, w[:, 1])
        for level, to_rgb in enumerate(self.to_rgbs):
            index = 2 * level + 1
            x = self.convs[2 * level](x, w[:, index], noise[index])
            x = self.convs[2 * level + 1](x, w[:, index + 1], noise[index + 1])
            rgb = to_rgb(x, w[:, index + 2], rgb)
        return rgb

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """w pulled towards the mean latent: psi = 1 leaves it, 0 gives the mean itself."""
        if not 0.0 <= psi <= 1.0:
            raise ValueError(f"truncation psi must be in [0, 1], got {psi}")
        mean = self.latent_avg.to(w.dtype)
        return w if psi == 1.0 else mean + psi * (w - mean)

    def forward(self, z: torch.Tensor, *, truncation: float = 1.0) -> torch.Tensor:
        # z: (N, style_dim) -> (N, 3, size, size), roughly in [-1, 1]
        return self.synthesis(self.truncate(self.mapping(z), truncation))

    # ---- seeds, truncation and walks ----------------------------------------------------------

    def latents(self, count: int, seed: int) -> torch.Tensor:
        """(count, style_dim) z drawn on the CPU, so that a seed means the same faces anywhere."""
        return torch.randn(count, self.style_dim, generator=torch.Generator().manual_seed(seed))

    @torch.no_grad()
    def estimate_mean_latent(self, *, samples: int = MEAN_LATENT_SAMPLES,
                             seed: int = MEAN_LATENT_SEED) -> torch.Tensor:
        """Sets latent_avg to the mean of w over `samples` seeded z (rosinality's mean_latent)."""
        z = self.latents(samples, seed).to(self.latent_avg.device)
        self.latent_avg.copy_(self.mapping(z).mean(dim=0))
        return self.latent_avg

    @torch.no_grad()
    def w_of_seeds(self, seeds: list[int] | tuple[int, ...] | int, count: int = 1, *,
               truncation: float = 1.0) -> torch.Tensor:
        """Truncated w for `count` latents of one seed, or the first latent of each seed."""
        if isinstance(seeds, int):
            z = self.latents(count, seeds)
        else:
            z = torch.cat([self.latents(1, seed) for seed in seeds])
        return self.truncate(self.mapping(z.to(self.latent_avg.device)), truncation)

    @torch.no_grad()
    def render(self, w: torch.Tensor) -> torch.Tensor:
        """w (N, style_dim) -> images (N, 3, size, size) on the CPU, CHUNK_PIXELS at a time."""
        chunk = max(1, CHUNK_PIXELS // self.size**2)
        return torch.cat([self.synthesis(part).float().cpu() for part in w.split(chunk)])

    def sample(self, count: int, seed: int, *, truncation: float = 1.0) -> torch.Tensor:
        """`count` images of a seed: (count, 3, size, size) on the CPU, roughly in [-1, 1]."""
        return self.render(self.w_of_seeds(seed, count, truncation=truncation))

    def walk(self, seed_a: int, seed_b: int, steps: int, *,
             truncation: float = 1.0) -> torch.Tensor:
        """(steps, 3, size, size): from seed_a's first image to seed_b's, straight in W.

        W is the space StyleGAN made to be walked in straight lines (its perceptual path
        length, https://arxiv.org/abs/1812.04948 section 4.2); truncation is affine, so
        interpolating after it is the same line between the truncated endpoints.
        """
        if steps < 2:
            raise ValueError(f"a walk needs at least 2 steps, got {steps}")
        ends = self.w_of_seeds([seed_a, seed_b], truncation=truncation)  # (2, style_dim)
        t = torch.linspace(0.0, 1.0, steps, dtype=ends.dtype, device=ends.device)[:, None]
        path = torch.lerp(ends[0][None], ends[1][None], t)
        path[0], path[-1] = ends[0], ends[1]  # exact endpoints, whatever lerp rounds to
        return self.render(path)
