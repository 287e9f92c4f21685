"""The prior file: safetensors holding the multi-scale distortion prior (one tensor per level, on a
coarse grid over normalised sensor coordinates, in the sensor's own orientation) and the PSF field,
with metadata: sensor size, model id + sha256 + arch + hyperparameters, alignment residual, date,
tool version, name. Loading checks all of it against the model the user is about to run."""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .. import __version__
from ..engine.runner import PriorField
from ..errors import PriorError
from ..hub.registry import WeightsEntry
from ..io.images import Photo, publish
from ..models.store import tensors_sha256

if TYPE_CHECKING:
    from ..engine.runner import Runner

FORMAT = "deblurcli-prior/1"
ADAPTED = "adapted_dpa."  # prefix of the optional DPA weights from `deblur calibrate --adapt-images`


@dataclass(frozen=True)
class CameraPrior:
    levels: tuple[torch.Tensor, ...]  # (1, P, G, G) each, sensor orientation
    psfs: np.ndarray  # (g, g, k, k), sensor orientation
    meta: dict[str, str]
    adapted: dict[str, torch.Tensor] | None = None  # DPA weights fine-tuned to this module (sensor frame)

    @property
    def space(self) -> str:
        """Where the calibrated blur acts (``psf.SPACES``); a prior made before it was read is linear."""
        return self.meta.get("blur_space", "linear")

    @property
    def sensor(self) -> tuple[int, int]:
        w, h = json.loads(self.meta["sensor_size"])
        return int(w), int(h)

    def for_photo(self, photo: Photo, allow_aspect_mismatch: bool = False) -> PriorField:
        """The prior resampled to an (upright) photo: rotated with its EXIF orientation, aspect checked."""
        self.check_aspect(photo, allow_aspect_mismatch)
        return self._oriented(photo)

    def _oriented(self, photo: Photo) -> PriorField:
        return PriorField(tuple(orient_grid(lev, photo.orientation) for lev in self.levels))

    def check_aspect(self, photo: Photo, allow_aspect_mismatch: bool = False) -> None:
        sw, sh = self.sensor
        if photo.orientation in (5, 6, 7, 8):
            sw, sh = sh, sw
        h, w = photo.pixels.shape[:2]
        if abs(w / h - sw / sh) > 0.01 * (sw / sh) and not allow_aspect_mismatch:
            raise PriorError(f"the photo's aspect ratio ({w}×{h}) differs from the calibration's ({sw}×{sh})",
                             "use photos from the calibrated camera mode, or pass --allow-aspect-mismatch to stretch the prior")

    def restore(self, photo: Photo, runner: Runner, method: str = "dpa", allow_aspect_mismatch: bool = False,
                progress: Callable[[int, int], None] | None = None, psf_step: bool | None = None) -> np.ndarray:
        """Restore an (upright) photo of this camera: the DPA net with the prior (``runner`` holds the
        adapted weights when the file has them: then in the sensor's frame, where they were adapted),
        then, with ``psf_step``, one deconvolution step with the PSF field that keeps the net's result
        consistent with the photo (``classical.field_deconvolve`` with ``ref``; None: only without
        adapted weights, since a net adapted to the field has learned it and the step only adds back
        noise); or ``method="psf"``, classical deconvolution with the PSF field alone."""
        from ..classical import PSF_STEP_NSR, field_deconvolve

        self.check_aspect(photo, allow_aspect_mismatch)
        linear = self.space == "linear"
        if method == "psf":
            return field_deconvolve(photo.rgb(), self.psf_field_for(photo), linear=linear)
        if self.adapted is None:
            out = runner.restore(photo.rgb(), self._oriented(photo), progress=progress)  # aspect checked above
        else:
            from ..io.images import orient, unorient

            o = photo.orientation
            out = orient(runner.restore(unorient(photo.rgb(), o), PriorField(self.levels), progress=progress), o)
        if not (self.adapted is None if psf_step is None else psf_step):
            return out
        return field_deconvolve(photo.rgb(), self.psf_field_for(photo), PSF_STEP_NSR, ref=out, linear=linear)

    def psf_field_for(self, photo: Photo) -> np.ndarray:
        """The PSF field in the upright photo's frame and pixel scale: the grid and every kernel are
        rotated with the photo's EXIF orientation; kernels are rescaled if the photo's resolution
        differs from the calibration's."""
        t = torch.from_numpy(self.psfs)  # (g, g, k, k)
        t = orient_grid(t.permute(2, 3, 0, 1), photo.orientation).permute(2, 3, 0, 1)  # the grid
        t = orient_grid(t, photo.orientation)  # each kernel
        psfs = t.contiguous().numpy()
        sw, _ = self.sensor
        w = photo.pixels.shape[0] if photo.orientation in (5, 6, 7, 8) else photo.pixels.shape[1]
        scale = w / sw
        if abs(scale - 1) > 0.01:
            import cv2

            k = psfs.shape[-1]
            n = max(3, int(round(k * scale)) | 1)
            out = np.zeros(psfs.shape[:2] + (n, n), np.float32)
            for i in range(psfs.shape[0]):
                for j in range(psfs.shape[1]):
                    r = cv2.resize(psfs[i, j], (n, n), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
                    out[i, j] = np.clip(r, 0, None) / max(float(r.sum()), 1e-8)
            psfs = out
        return psfs


def orient_grid(t: torch.Tensor, o: int) -> torch.Tensor:
    """Apply EXIF orientation ``o`` to a (…, H, W) grid, as images are oriented on read."""
    from ..io.images import orient

    a = np.moveaxis(t.detach().cpu().numpy(), (-2, -1), (0, 1))
    return torch.from_numpy(np.moveaxis(orient(a, o), (0, 1), (-2, -1)).copy()).to(t.device, t.dtype)


def unorient_grid(t: torch.Tensor, o: int) -> torch.Tensor:
    """Inverse of ``orient_grid``: from the upright photo's frame back to the sensor's."""
    from ..io.images import INVERSE_ORIENTATION

    return orient_grid(t, INVERSE_ORIENTATION[o])


def save_prior(path: Path, levels: list[torch.Tensor], psfs: np.ndarray, entry: WeightsEntry, hparams: dict,
               sensor_size: tuple[int, int], extra: dict[str, object],
               adapted: dict[str, torch.Tensor] | None = None, overwrite: bool = True) -> Path:
    tensors = {f"level{i}": lev.float().contiguous() for i, lev in enumerate(levels)}
    tensors["psf_field"] = torch.from_numpy(np.ascontiguousarray(psfs, np.float32))
    tensors |= {ADAPTED + k: v.float().contiguous() for k, v in (adapted or {}).items()}
    meta = {
        "format": FORMAT, "model_id": entry.id, "model_sha256": entry.sha256, "arch": entry.arch,
        "hparams": json.dumps(hparams, sort_keys=True), "sensor_size": json.dumps(list(sensor_size)),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "tool_version": __version__,
    }
    meta |= {k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()}
    meta["tensors_sha256"] = tensors_sha256(tensors)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        save_file(tensors, str(tmp), metadata=meta)
        publish(tmp, path, overwrite)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_prior(path: Path) -> CameraPrior:
    if not path.is_file():
        raise PriorError(f"{path}: no such prior file", "make one with `deblur calibrate SHARP BLUR -o camera.prior`")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            names = set(f.keys())
            tensors = {k: f.get_tensor(k) for k in names}
    except (SafetensorError, OSError, ValueError) as e:
        raise PriorError(f"{path}: not a readable prior file (truncated or corrupt: {e})",
                         "re-run `deblur calibrate` to make it again") from e
    if meta.get("format") != FORMAT:
        raise PriorError(f"{path}: not a deblurcli prior (format {meta.get('format')!r})")
    levels = []
    i = 0
    while f"level{i}" in tensors:
        levels.append(tensors[f"level{i}"])
        i += 1
    if not levels or "psf_field" not in tensors:
        raise PriorError(f"{path}: incomplete prior file (levels or PSF field missing)")
    check_prior_values(path, meta, tensors, levels)
    adapted = {k[len(ADAPTED):]: v for k, v in tensors.items() if k.startswith(ADAPTED)}
    return CameraPrior(tuple(levels), tensors["psf_field"].numpy(), meta, adapted or None)


# The largest |value| a prior level may hold: the DPE net's grid means lie within ±3 on every
# calibration we have made (pairs of the synthetic lens modules and of shared photos); 50 leaves room
# for other cameras and refuses what no calibration gives (a value of 1e6 left a blob on the photo).
LEVEL_LIMIT = 50.0


def check_prior_values(path: Path, meta: dict[str, str], tensors: dict[str, torch.Tensor], levels: list[torch.Tensor]) -> None:
    """A prior's tensors and metadata checked before any photo sees them, one ``PriorError`` line per
    fault: the tensors as saved (their hash, in files that record one), finite, levels of one grid and
    in range, a PSF field of non-negative kernels that each sum to 1, a sensor size."""
    redo = "re-run `deblur calibrate` to make it again"
    recorded = meta.get("tensors_sha256")
    if recorded and tensors_sha256(tensors) != recorded:
        raise PriorError(f"{path}: corrupt (its tensors do not match the hash recorded when it was made)", redo)
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise PriorError(f"{path}: corrupt ({name} holds values that are not finite)", redo)
    for i, lev in enumerate(levels):
        if lev.ndim != 4 or lev.shape[0] != 1 or lev.shape[-2:] != levels[0].shape[-2:]:
            raise PriorError(f"{path}: corrupt (level{i} has shape {tuple(lev.shape)})", redo)
        if float(lev.abs().max()) > LEVEL_LIMIT:
            raise PriorError(f"{path}: corrupt (level{i} holds {float(lev.abs().max()):.3g}; a calibration gives at "
                             f"most ±{LEVEL_LIMIT:g})", redo)
    psf = tensors["psf_field"]
    if psf.ndim != 4 or psf.shape[0] != psf.shape[1] or psf.shape[2] != psf.shape[3] or psf.shape[2] % 2 == 0:
        raise PriorError(f"{path}: corrupt (PSF field of shape {tuple(psf.shape)}; expected g×g cells of odd k×k kernels)", redo)
    sums = psf.double().sum((2, 3))
    if bool((psf < 0).any()) or float((sums - 1).abs().max()) > 1e-3:
        raise PriorError(f"{path}: corrupt (a PSF of its field is negative or does not sum to 1)", redo)
    from .psf import SPACES

    if meta.get("blur_space", "linear") not in SPACES:
        raise PriorError(f"{path}: blur space {meta.get('blur_space')!r} is not one of {', '.join(SPACES)}",
                         "re-run `deblur calibrate` with this version")
    try:
        w, h = json.loads(meta["sensor_size"])
        if int(w) <= 0 or int(h) <= 0:
            raise ValueError
    except (KeyError, ValueError, TypeError) as e:
        raise PriorError(f"{path}: corrupt (no sensor size: {meta.get('sensor_size')!r})", redo) from e


def load_prior(path: Path, entry: WeightsEntry, hparams: dict | None = None) -> CameraPrior:
    """Read a prior and check it was made by exactly this model (same id and weights)."""
    return check_prior(read_prior(path), path, entry, hparams)


def check_prior(prior: CameraPrior, path: Path, entry: WeightsEntry, hparams: dict | None = None) -> CameraPrior:
    """Refuse a prior made by another model (arch, weights or hyperparameters); return it otherwise."""
    m = prior.meta
    if m.get("arch") != entry.arch or entry.arch != "dpa":
        raise PriorError(f"{path}: made for arch {m.get('arch')!r}; model {entry.id} is {entry.arch!r}",
                         "calibrated deblurring needs the DPA model the prior was made with (--model)")
    if m.get("model_sha256") != entry.sha256:
        raise PriorError(f"{path}: made with {m.get('model_id')} ({m.get('model_sha256', '')[:12]}…), not with {entry.id} ({entry.sha256[:12]}…)",
                         f"use --model {m.get('model_id')} or re-run `deblur calibrate` with this model")
    if hparams is not None and json.loads(m.get("hparams", "{}")) != json.loads(json.dumps(hparams, sort_keys=True)):
        raise PriorError(f"{path}: made for a different version of the {entry.arch} architecture")
    return prior


def in_sensor_frame(levels: list, psfs: np.ndarray, orientation: int, shape: tuple[int, int]) -> tuple[list, np.ndarray, tuple[int, int]]:
    """A calibration's prior levels and PSF grid (in the upright SHARP photo's frame) turned into the
    sensor's frame, as prior files store them, with the sensor's (width, height)."""
    lv = [unorient_grid(lev, orientation) for lev in levels]
    p = unorient_grid(torch.from_numpy(psfs).permute(2, 3, 0, 1), orientation).permute(2, 3, 0, 1).numpy()
    h, w = shape
    return lv, np.ascontiguousarray(p), ((h, w) if orientation in (5, 6, 7, 8) else (w, h))
