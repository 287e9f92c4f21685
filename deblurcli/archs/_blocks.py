"""Building blocks shared by the seed networks. Pure torch, no I/O.

Tile safety: nothing here pools over the whole image. Channel attention uses a *local* mean over a
fixed window (``local_mean``) both in training and at inference, so a network's output at a pixel
depends only on a bounded neighbourhood (its receptive field) and tiled inference with enough overlap
reproduces untiled inference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad bottom/right so H and W are multiples of ``multiple``; return the original size."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if (ph < h and pw < w) else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


def _window_counts(n: int, p: int, device: torch.device) -> torch.Tensor:
    """How many of positions i-p..i+p lie inside 0..n-1, for every i."""
    i = torch.arange(n, device=device)
    return ((i + p + 1).clamp(max=n) - (i - p).clamp(min=0)).float()


def local_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Mean over a ``window``×``window`` neighbourhood clipped to the image (exact box filter).

    The local stand-in for global average pooling: identical to it on inputs no larger than
    ``window // 2 + 1``, and independent of where a tile starts on larger ones. Integral images in
    fp32 (O(1) per pixel, whatever the window), on a contiguous NCHW copy with zero padding and
    shifted slices: gathers on channels_last tensors were half of DPA Net's run time.
    """
    p = window // 2
    h, w = x.shape[-2:]
    c = F.pad(x.float().contiguous(), (0, 0, p + 1, p)).cumsum(-2)
    s = c[..., window:, :] - c[..., :-window, :]
    c = F.pad(s, (p + 1, p)).cumsum(-1)
    s = c[..., window:] - c[..., :-window]
    area = _window_counts(h, p, x.device)[:, None] * _window_counts(w, p, x.device)[None, :]
    out = (s / area).to(x.dtype)
    return out.contiguous(memory_format=torch.channels_last) if x.is_contiguous(memory_format=torch.channels_last) and x.dim() == 4 else out


def can_write_into(y: torch.Tensor, *others: torch.Tensor) -> bool:
    """Whether ``y``, a fresh intermediate, may take an in-place result computed with ``others``: at
    inference only (autograd may need ``y``), and only without dtype promotion or broadcasting, so the
    result is the same as out of place, bit for bit. Saves a whole-tile allocation and memory pass."""
    return not torch.is_grad_enabled() and all(o.dtype == y.dtype and o.shape == y.shape for o in others)


def add_into(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """y + x, in ``y`` when ``can_write_into`` allows."""
    return y.add_(x) if can_write_into(y, x) else y + x


class ResBlock(nn.Module):
    """conv-act-conv + identity (SRResNet block without batch norm)."""

    def __init__(self, ch: int, act: str = "relu", k: int = 3) -> None:
        super().__init__()
        self.c1 = conv(ch, ch, k)
        self.c2 = conv(ch, ch, k)
        self.act = nn.LeakyReLU(0.2, inplace=True) if act == "lrelu" else nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c2(self.act(self.c1(x)))
        return add_into(y, x)


class ChannelAttention(nn.Module):
    """Squeeze-excitation channel attention; the squeeze is a local mean (see ``local_mean``)."""

    def __init__(self, ch: int, reduction: int = 4, window: int = 31) -> None:
        super().__init__()
        mid = max(ch // reduction, 4)
        self.window = window
        self.body = nn.Sequential(nn.Conv2d(ch, mid, 1), nn.ReLU(inplace=True), nn.Conv2d(mid, ch, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The first 1×1 conv is affine, so conv(mean(x)) = mean(conv(x)): pooling its ch/4 outputs
        # instead of the ch inputs gives the same result for a quarter of the box-filter work.
        return x * self.body[1:](local_mean(self.body[0](x), self.window))


class PixelAttention(nn.Module):
    """A = sigmoid(conv(relu(conv(F)))), one weight per pixel; F * A."""

    def __init__(self, ch: int, reduction: int = 4) -> None:
        super().__init__()
        mid = max(ch // reduction, 4)
        self.body = nn.Sequential(conv(ch, mid), nn.ReLU(inplace=True), conv(mid, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.body(x)


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int) -> torch.Tensor:
    """Each pixel attends to its ``window``×``window`` neighbourhood (sliding, shift-invariant).

    q, k: (B, D, H, W); v: (B, C, H, W). Weights are softmax_j(q_i·k_j / sqrt(D)) over the window;
    out_i = Σ_j w_ij v_j. The windowed stand-in for full-image attention: a sliding window (not a fixed
    partition) keeps the output independent of where a tile starts. Out-of-image neighbours are masked.

    Computed offset by offset on shifted views of zero-padded NCHW fp32 copies, never materialising
    the window×window unfolded neighbourhoods (which made this op 85% of LCNet's run time; measured
    4-6× faster per call on this CPU).
    """
    b, d, h, w = q.shape
    n, p = window * window, window // 2
    dtype, cl = v.dtype, v.dim() == 4 and v.is_contiguous(memory_format=torch.channels_last)
    q = q.float().contiguous()
    kp = F.pad(k.float().contiguous(), (p, p, p, p))
    vp = F.pad(v.float().contiguous(), (p, p, p, p))
    offsets = [(dy, dx) for dy in range(window) for dx in range(window)]
    logits = torch.stack([(q * kp[..., dy : dy + h, dx : dx + w]).sum(1) for dy, dx in offsets], 1)
    ones = torch.ones(1, 1, h, w, dtype=torch.float32, device=q.device)
    valid = F.unfold(ones, window, padding=p).view(1, n, h, w) > 0
    wts = torch.softmax((logits / d**0.5).masked_fill(~valid, float("-inf")), dim=1)
    out = vp[..., :h, :w] * wts[:, :1]
    for j, (dy, dx) in enumerate(offsets[1:], 1):
        out = out + vp[..., dy : dy + h, dx : dx + w] * wts[:, j : j + 1]
    out = out.to(dtype)
    return out.contiguous(memory_format=torch.channels_last) if cl else out


def zero_init(m: nn.Conv2d) -> nn.Conv2d:
    """Zero the weights and bias of a network's last conv, so an untrained residual net is the identity."""
    nn.init.zeros_(m.weight)
    if m.bias is not None:
        nn.init.zeros_(m.bias)
    return m


def bilinear_up_init(m: nn.ConvTranspose2d) -> nn.ConvTranspose2d:
    """Initialise a (C->C, k=4, s=2, p=1) transposed conv as per-channel bilinear ×2 upsampling."""
    w = torch.tensor([0.25, 0.75, 0.75, 0.25])
    k = torch.outer(w, w)
    with torch.no_grad():
        m.weight.zero_()
        for c in range(min(m.in_channels, m.out_channels)):
            m.weight[c, c] = k
        if m.bias is not None:
            m.bias.zero_()
    return m
