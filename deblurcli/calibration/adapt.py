"""Adapt the DPA net to one camera module (`deblur calibrate --adapt-images DIR`).

The calibration pair gives the module's PSF field (``psf.estimate_field``). Blurring other sharp images
with that field makes as many training pairs for this one camera as we like, so the DPA net can be
fine-tuned to it without memorising the calibration photo (gradient steps on the pair itself overfit:
``scripts/calibration_adaptation.py``). Each pair is a crop at a random place on the sensor, blurred
with the PSFs of that place (the bilinear PSF blend of ``synth.degrade.field_blur``, computed on a
margin so the crop's borders are blurred as on the sensor) and given the prior of that place
(``PriorField.for_tile``, as at inference). The sharp sources are the user's own sharp photos
(``--adapt-images``) and crops of the calibration's sharp shot. Procedural scenes (shapes, text, dead
leaves) in their place made the net worse on natural photos than not adapting at all (`deblur bench
--calibration`, README), so there is no adaptation without photos.
Everything happens in the sensor's frame: the prior file stores the adapted DPA weights, and photos
restored with them are turned into that frame first (``deblur --prior``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..engine.runner import PriorField, _autocast, pick_precision
from ..synth.data import augment, random_crop
from ..synth.degrade import GAMMA, blend_weights, field_blur, maybe_jpeg, sensor, to_gamma, to_linear


MIN_NOISE = 0.002  # a floor for the measured setting: a clean shot still leaves the net some noise to see
JPEG_SHARE = 0.3  # as in training (``synth.degrade.sensor``)


def jpeg_share(fmt: str) -> float:
    """``AdaptConfig.jpeg`` for a camera whose blurred calibration shot came as a file of format ``fmt``
    (PIL's name): a camera that writes JPEGs is adapted to JPEG artefacts too."""
    return JPEG_SHARE if fmt.upper() in ("JPEG", "MPO") else 0.0


@dataclass(frozen=True)
class AdaptConfig:
    # chart pairs: dpa-lite 24.82 dB at 200 steps, 24.98 at 600; dpa-compact 25.47 at 600, 25.55 at 1000,
    # 25.53 at 1500 (docs/logs/adapt_sweep.txt)
    steps: int = 1000
    batch: int = 4
    crop: int = 256  # px on the sensor (smaller sensors: the whole sensor)
    lr: float = 3e-4  # Adam, cosine to zero
    # Sensor noise of the synthetic inputs (``synth.degrade.sensor``'s setting); None: measured on the
    # blurred calibration shot (``with_measured_noise``).
    noise: float | None = None
    seed: int = 0
    # Sharp photos kept in memory as sources (8 bits), each at most ``photo_side`` px long. The defaults
    # of max_photos, real_share and loss each moved the adapted row by +0.01 to +0.04 dB alone
    # (docs/logs/adapt_sweep.txt).
    max_photos: int = 200
    photo_side: int = 1024
    # Share of the crops cut from the calibration pair itself (its real blur, at its place on the sensor)
    # instead of synthesised with the estimated PSF field: dpa-compact, 1000 steps, 25.65 dB at 0.125
    # against 25.55 at 0.25; dpa-lite, 600 steps, 25.10 / 25.04 / 24.81 at 0.125 / 0.25 / 0.5.
    real_share: float = 0.125
    # Share of the synthetic inputs re-encoded as JPEG (``synth.degrade.sensor``'s ``jpeg_p``): none for
    # a camera whose shots are lossless, ``JPEG_SHARE`` when the blurred calibration shot is a JPEG
    # (``jpeg_share``: `deblur calibrate` reads it off the file).
    jpeg: float = 0.0
    loss: Literal["l1", "l2"] = "l2"  # l2: mean squared error, what PSNR measures
    # Decay of an exponential moving average of the adapted weights, kept in float32 and returned instead
    # of the last step's weights; 0: the last step's weights.
    ema: float = 0.0
    # Where the calibrated blur acts (``psf.SPACES``): the synthetic inputs are blurred there, as the
    # pair was (`deblur calibrate` reads it off the pair).
    space: str = "linear"

    def describe(self) -> dict[str, object]:
        return asdict(self)

    def with_measured_noise(self, rms: float, mean: float) -> "AdaptConfig":
        """This config with ``noise`` set from the blurred calibration shot's measured noise (``rms``
        and mean level, linear light, in the sharp shot's exposure: ``calibration.noise.noise_rms``),
        unless it was set."""
        if self.noise is not None:
            return self
        from .noise import sensor_setting

        return replace(self, noise=round(max(sensor_setting(rms, mean), MIN_NOISE), 5))


class PairMaker:
    """Synthetic (blurred, sharp, prior) batches for one module, in the sensor's frame."""

    def __init__(self, sharp: np.ndarray, psfs: np.ndarray, levels: list[torch.Tensor], cfg: AdaptConfig,
                 multiple: int, scale: int, photos: list[np.ndarray], blur: np.ndarray | None = None) -> None:
        self.sources, self.cfg, self.scale = [sharp, *photos], cfg, scale
        self.real = (sharp, blur) if blur is not None and cfg.real_share > 0 else None
        self.h, self.w = sharp.shape[:2]
        self.g = psfs.shape[0]
        self.psfs = [k for row in psfs for k in row]
        self.margin = psfs.shape[-1] // 2
        self.field = PriorField(tuple(levels))
        self.size = max(multiple, min(cfg.crop, self.h, self.w) // multiple * multiple)
        self._kernels: torch.Tensor | None = None  # the PSFs as conv2d weights on the device (``blur_on``)

    def _source(self, rng: np.random.Generator, n: int) -> np.ndarray:
        crop = random_crop(self.sources[int(rng.integers(len(self.sources)))], rng, n)
        if crop.dtype == np.uint8:  # photos are kept as 8 bits (``load_photos``)
            crop = crop.astype(np.float32) / 255
        return np.ascontiguousarray(augment(crop, rng))

    def _draw(self, rng: np.random.Generator) -> tuple[tuple[int, int], np.ndarray, np.ndarray | None]:
        """A place on the sensor and either the calibration pair's crop there (sharp, blurred) or a
        sharp source with the blur's margin (and None)."""
        c, m = self.size, self.margin
        y0, x0 = int(rng.integers(0, self.h - c + 1)), int(rng.integers(0, self.w - c + 1))
        if self.real is not None and rng.random() < self.cfg.real_share:
            s, b = (np.ascontiguousarray(a[y0 : y0 + c, x0 : x0 + c]) for a in self.real)
            return (y0, x0), s, b
        return (y0, x0), self._source(rng, c + 2 * m), None

    def _core(self, src: np.ndarray) -> np.ndarray:
        m = self.margin
        return np.ascontiguousarray(src[m : m + self.size, m : m + self.size])

    def _prior(self, at: tuple[int, int]) -> list[torch.Tensor]:
        (y0, x0), c = at, self.size
        return self.field.for_tile(y0, y0 + c, x0, x0 + c, self.h, self.w, self.scale)["prior"]

    def pair(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        at, src, real_blur = self._draw(rng)
        if real_blur is not None:
            return real_blur, src, at
        blurred = blur_window(src, self.psfs, self.g, (self.h, self.w), at, self.margin, self.cfg.space == "linear")
        return sensor(blurred, rng, noise=self.cfg.noise, jpeg_p=self.cfg.jpeg), self._core(src), at

    def batch_on(self, device: torch.device, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """``batch`` with the synthetic blur and sensor noise computed on ``device`` (a GPU: one
        convolution for all the field's PSFs), the CPU only cutting and turning the crops. The same
        pairs in law as ``batch``, not the same random sequence."""
        xs: list[torch.Tensor | None] = []
        ys, priors, srcs, places = [], [], [], []
        for _ in range(self.cfg.batch):
            at, src, real_blur = self._draw(rng)
            if real_blur is not None:
                xs.append(torch.from_numpy(real_blur).permute(2, 0, 1).to(device))
                ys.append(torch.from_numpy(src).permute(2, 0, 1))
            else:
                srcs.append(src)
                places.append(at)
                xs.append(None)
                ys.append(torch.from_numpy(self._core(src)).permute(2, 0, 1))
            priors.append(self._prior(at))
        if srcs:
            noisy = iter(self._sensor_on(self.blur_on(np.stack(srcs), places, device), rng))
            xs = [x if x is not None else next(noisy) for x in xs]
        return (torch.stack(xs),  # type: ignore[arg-type]
                torch.stack(ys).to(device), [torch.cat(p).to(device) for p in zip(*priors)])

    def blur_on(self, srcs: np.ndarray, places: list[tuple[int, int]], device: torch.device) -> torch.Tensor:
        """``blur_window`` of each source (n, c+2m, c+2m, 3) at its place, on ``device``: (n, 3, c, c)."""
        n, side = srcs.shape[0], srcs.shape[1]
        c, g = side - 2 * self.margin, self.g
        if self._kernels is None or self._kernels.device.type != torch.device(device).type:
            # conv2d correlates: flip each PSF to convolve, as ``synth.degrade.convolve`` does
            self._kernels = torch.from_numpy(np.stack([k[::-1, ::-1] for k in self.psfs]).copy())[:, None].float().to(device)
        lin = torch.from_numpy(srcs).to(device).permute(0, 3, 1, 2).clamp(0, 1).pow(GAMMA)
        each = torch.nn.functional.conv2d(lin.reshape(n * 3, 1, side, side), self._kernels)  # (n·3, g², c, c)
        wts = torch.from_numpy(np.stack([blend_weights(self.h, self.w, g, g, (y0, y0 + c, x0, x0 + c)) for y0, x0 in places]))
        out = (each.reshape(n, 3, g * g, c, c) * wts.to(device)[:, None]).sum(2)
        return out.clamp(0, 1).pow(1 / GAMMA)

    def _sensor_on(self, img: torch.Tensor, rng: np.random.Generator) -> list[torch.Tensor]:
        """``synth.degrade.sensor`` for each image of ``img`` (n, 3, H, W) on its device."""
        gen = torch.Generator(img.device).manual_seed(int(rng.integers(2**62)))
        noise, out = float(self.cfg.noise or 0.0), []
        for x in img:
            a, b = rng.uniform(0, noise) ** 2, rng.uniform(0, noise / 2)
            lin = x.clamp(0, 1).pow(GAMMA)
            lin = lin + torch.sqrt(a * lin + b * b) * torch.randn(lin.shape, generator=gen, device=lin.device)
            x = lin.clamp(0, 1).pow(1 / GAMMA)
            if self.cfg.jpeg > 0:
                x = torch.from_numpy(maybe_jpeg(x.permute(1, 2, 0).cpu().numpy(), rng, self.cfg.jpeg)).permute(2, 0, 1).to(x.device)
            out.append(x)
        return out

    def batch(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        xs, ys, priors = [], [], []
        for _ in range(self.cfg.batch):
            b, s, at = self.pair(rng)
            xs.append(torch.from_numpy(b).permute(2, 0, 1))
            ys.append(torch.from_numpy(s).permute(2, 0, 1))
            priors.append(self._prior(at))
        return torch.stack(xs), torch.stack(ys), [torch.cat(p) for p in zip(*priors)]


def blur_window(src: np.ndarray, psfs: list[np.ndarray], g: int, sensor_hw: tuple[int, int], at: tuple[int, int],
                margin: int, linear: bool = True) -> np.ndarray:
    """Blur ``src`` as if it lay on the sensor with its top-left ``margin`` px above and left of ``at``
    (y, x), with the PSFs of those places (on linear light, or on the sRGB values with ``linear``
    False); return the (gamma) blurred core without the margin."""
    (h, w), (y0, x0), m = sensor_hw, at, margin
    ch, cw = src.shape[0] - 2 * m, src.shape[1] - 2 * m
    wts = blend_weights(h, w, g, g, (y0 - m, y0 + ch + m, x0 - m, x0 + cw + m))
    if not linear:
        return np.clip(field_blur(src, psfs, g, g, wts)[m : m + ch, m : m + cw], 0, 1)
    return to_gamma(field_blur(to_linear(src), psfs, g, g, wts)[m : m + ch, m : m + cw])


class _Batches(torch.utils.data.IterableDataset):
    """``PairMaker.batch`` without end, each data-loader worker with its own generator (seed, worker)."""

    def __init__(self, maker: PairMaker, seed: int) -> None:
        self.maker, self.seed = maker, seed

    def __iter__(self):  # type: ignore[no-untyped-def]
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            yield self.maker.batch(rng)


def _one_thread(_: int) -> None:
    """A data-loader worker's OpenCV uses one thread: the workers are the parallelism."""
    import cv2

    cv2.setNumThreads(1)


def _batches(maker: PairMaker, seed: int, workers: int, device: torch.device) -> Generator[tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]], None, None]:
    """The training batches: made here from one generator (``workers`` = 0: on the CPU the reference
    sequence, on another device blurred there, ``PairMaker.batch_on``), or by ``workers`` processes in
    turn (another sequence, fixed for a given count) while the net trains."""
    if workers <= 0:
        rng = np.random.default_rng(seed)
        while True:
            yield maker.batch(rng) if device.type == "cpu" else maker.batch_on(device, rng)
    loader = torch.utils.data.DataLoader(_Batches(maker, seed), batch_size=None, num_workers=workers,
                                         prefetch_factor=4, worker_init_fn=_one_thread,
                                         multiprocessing_context="spawn")  # forked OpenCV/CUDA state can hang
    yield from loader


def adapt(model: nn.Module, sharp: np.ndarray, psfs: np.ndarray, levels: list[torch.Tensor], cfg: AdaptConfig,
          photos: list[np.ndarray], progress: Callable[[int, int], None] | None = None,
          blur: np.ndarray | None = None, device: torch.device | str = "cpu",
          workers: int = 0) -> dict[str, torch.Tensor]:
    """Fine-tune a copy of ``model.dpa`` to the PSF field ``psfs`` (g, g, k, k) of a sensor whose sharp
    calibration photo is ``sharp`` and whose prior is ``levels``, all in the sensor's frame, on crops of
    ``photos`` and ``sharp`` (and of the calibration pair itself, ``blur`` being its blurred shot aligned to
    ``sharp``, when ``cfg.real_share`` > 0); return the adapted DPA weights on the CPU (``model`` is left as
    it was). The net trains on ``device``; ``workers`` > 0 makes the pairs in that many processes (worth it
    when the device outpaces one CPU core: a GPU)."""
    if not photos:
        raise ValueError("adaptation needs sharp photos besides the calibration shot")
    if cfg.noise is None:
        raise ValueError("AdaptConfig.noise is unset: use cfg.with_measured_noise(*noise_rms(blurred shot))")
    import copy

    torch.manual_seed(cfg.seed)
    device = torch.device(device)
    net = copy.deepcopy(model).to(device).train()
    for p in net.parameters():
        p.requires_grad_(False)
    params = list(net.dpa.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=cfg.lr)
    maker = PairMaker(sharp, psfs, levels, cfg, int(net.multiple), net.level_scale(0), photos, blur)
    dtype = pick_precision("auto", device)
    batches = _batches(maker, cfg.seed, workers, device)
    avg = _Average(net.dpa, cfg.ema) if cfg.ema > 0 else None
    try:
        _train(net, opt, batches, cfg, device, dtype, progress, avg)
    finally:
        batches.close()  # stops the workers, if any
    weights = avg.state if avg is not None else net.dpa.state_dict()
    return {k: v.detach().float().cpu().contiguous() for k, v in weights.items()}


class _Average:
    """An exponential moving average of a module's parameters (``AdaptConfig.ema``); its buffers, if
    any, are the module's own."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.module, self.decay = module, decay
        self.avg = {n: p.detach().float().clone() for n, p in module.named_parameters()}

    def update(self) -> None:
        torch._foreach_lerp_(list(self.avg.values()), [p.detach().float() for p in self.module.parameters()], 1 - self.decay)

    @property
    def state(self) -> dict[str, torch.Tensor]:
        return {**self.module.state_dict(), **self.avg}


def _train(net: nn.Module, opt: torch.optim.Optimizer, batches: Iterator[tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]],
           cfg: AdaptConfig, device: torch.device, dtype: torch.dtype, progress: Callable[[int, int], None] | None,
           avg: _Average | None = None) -> None:
    for i in range(cfg.steps):
        x, y, prior = next(batches)
        x, y, prior = x.to(device), y.to(device), [p.to(device) for p in prior]
        for group in opt.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + np.cos(np.pi * i / cfg.steps))
        with _autocast(device, dtype):
            out = net(x.contiguous(memory_format=torch.channels_last), prior)
        err = out.float() - y
        loss = (err * err).mean() if cfg.loss == "l2" else err.abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if avg is not None:
            avg.update()
        if progress:
            progress(i + 1, cfg.steps)


def apply_adapted(model: nn.Module, weights: dict[str, torch.Tensor]) -> nn.Module:
    """Load adapted DPA weights into ``model`` (strict: the prior file was checked to match the model)."""
    model.dpa.load_state_dict(weights, strict=True)
    return model


def load_photos(folder: Path, cfg: AdaptConfig) -> tuple[list[np.ndarray], list[str]]:
    """Up to ``cfg.max_photos`` sharp photos from ``folder`` and its subfolders (sorted by path, hidden
    ones left out), each shrunk to ``cfg.photo_side`` px on its long side (sources only: shrinking makes
    them sharper still) and kept as 8-bit RGB (200 photos of 1024×768: 470 MB), and the messages of the
    files that could not be read (skipped)."""
    import cv2

    from ..errors import DeblurError, UsageError
    from ..io.images import read_photo

    if not folder.is_dir():
        raise UsageError(f"--adapt-images {folder}: not a folder", "give a folder of sharp photos")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp")
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise UsageError(f"{folder}: no photos (.jpg, .png, .tif, .webp) to adapt with")
    out: list[np.ndarray] = []
    skipped: list[str] = []
    for f in files:
        if len(out) == cfg.max_photos:
            break
        try:
            rgb = read_photo(f, 200.0).rgb()
        except DeblurError as e:
            skipped.append(str(e))
            continue
        s = cfg.photo_side / max(rgb.shape[:2])
        if s < 1:
            rgb = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)))  # a quarter of float32's memory
    if not out:
        raise UsageError(f"{folder}: none of its photos could be read ({skipped[0]})")
    return out, skipped
