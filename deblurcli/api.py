"""The Python API. The CLI's photo commands are built on it.

    import deblurcli
    sharp = deblurcli.restore("photo.jpg")           # numpy array, the file's bit depth, upright
    r = deblurcli.load("dpa-compact")                # a reusable Restorer: the model loads once
    out = r.restore(pil_image, strength=0.8)         # PIL in, PIL out; uint8 in, uint8 out; …

What goes in and what comes out:
- a **path** (str or Path): the file is read as the CLI reads it (EXIF orientation applied, 16-bit
  kept, grey kept, alpha passed through); the result is a numpy array of the file's own dtype (uint8
  or uint16), H×W (grey), H×W×2 (grey + alpha), H×W×3 or H×W×4;
- a **PIL image** (L, LA, RGB, RGBA, I;16, P, CMYK; its EXIF orientation is applied): a PIL image of
  the same mode (P and CMYK come back as RGB/RGBA);
- a **numpy array**, uint8, uint16 or float in [0, 1], of shape H×W, H×W×1, H×W×2, H×W×3 or H×W×4:
  an array of the same dtype and shape. The last channel of a 2- or 4-channel array is alpha and is
  passed through untouched. A float array outside [0, 1] is refused (it is not a photo's range).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Union

import numpy as np

from .errors import InputError, UsageError
from .io.images import Photo, quantise

if TYPE_CHECKING:
    from PIL import Image

    from .calibration.prior_file import CameraPrior
    from .engine.runner import Runner

ImageLike = Union[str, Path, np.ndarray, "Image.Image"]
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------------------- inputs and outputs

@dataclass
class _Kind:
    """How to give the result back in the form the image came in."""

    kind: str  # "path" | "pil" | "array"
    dtype: Any = np.uint8
    shape: tuple[int, ...] = ()
    mode: str = "RGB"
    extra: dict[str, Any] = field(default_factory=dict)


def _from_array(a: np.ndarray) -> tuple[Photo, _Kind]:
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 2, 3, 4)):
        raise InputError(f"an array of shape {a.shape}: expected H×W, H×W×1, H×W×2, H×W×3 or H×W×4")
    if a.size == 0:
        raise InputError(f"an empty array (shape {a.shape})", "pass an image of at least 1×1 px")
    if a.dtype == np.uint8:
        top, bits = 255.0, 8
    elif a.dtype == np.uint16:
        top, bits = 65535.0, 16
    elif np.issubdtype(a.dtype, np.floating):
        top, bits = 1.0, 16
        if not np.isfinite(a).all():
            raise InputError("the float array holds NaN or infinite values", "replace them, e.g. np.nan_to_num(a)")
        if float(a.min()) < 0 or float(a.max()) > 1:
            raise InputError("a float array must hold values in [0, 1]", "scale it, or pass uint8/uint16")
    else:
        raise InputError(f"an array of dtype {a.dtype}: expected uint8, uint16 or float in [0, 1]")
    x = a[..., None] if a.ndim == 2 else a
    nc = 1 if x.shape[2] in (1, 2) else 3
    alpha = x[..., nc].copy() if x.shape[2] > nc else None
    pixels = (x[..., :nc].astype(np.float32) / np.float32(top))
    return Photo(np.ascontiguousarray(pixels), bits, alpha), _Kind("array", a.dtype, a.shape)


def _from_pil(im: "Image.Image") -> tuple[Photo, _Kind]:
    from PIL import ImageOps

    im = ImageOps.exif_transpose(im)  # the orientation a camera wrote, applied once
    mode = im.mode
    if mode == "1":  # black and white: restored as grey, given back as grey (L)
        im = im.convert("L")
        mode = "L"
    if mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
        has_alpha = mode in ("PA",) or (mode == "P" and "transparency" in im.info)
        im = im.convert("RGBA" if has_alpha else "RGB")
        mode_out = im.mode
    else:
        mode_out = mode
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im)
        if a.size and (int(a.min()) < 0 or int(a.max()) > 65535):
            raise InputError(f"a PIL image of mode {im.mode} with values from {int(a.min())} to {int(a.max())}: "
                             "a photo's samples are 0 to 65535", "scale it to 16 bits first")
        a = a.astype(np.uint16)
    elif im.mode in ("L", "LA", "RGB", "RGBA"):
        a = np.asarray(im)
    else:
        raise InputError(f"a PIL image of mode {im.mode}: not supported", "convert it to RGB first")
    photo, _ = _from_array(a)
    photo.icc = im.info.get("icc_profile")
    return photo, _Kind("pil", a.dtype, a.shape, mode_out)


def _to_array(photo: Photo, dtype: Any) -> np.ndarray:
    """The photo as an array of ``dtype`` with its alpha last: integers as the writer quantises them."""
    if dtype in (np.uint8, np.uint16):
        return quantise(photo, 16 if dtype == np.uint16 else 8)
    x = photo.pixels.astype(dtype)
    return x if photo.alpha is None else np.concatenate([x, photo.alpha[..., None].astype(dtype)], axis=2)


def _give_back(photo: Photo, kind: _Kind) -> Any:
    if kind.kind == "path":
        a = _to_array(photo, np.uint16 if photo.bits == 16 else np.uint8)
        return a[..., 0] if a.shape[2] == 1 else a
    if kind.kind == "array":
        return _to_array(photo, kind.dtype).reshape(kind.shape)
    from PIL import Image

    a = _to_array(photo, kind.dtype)
    if kind.mode.startswith("I"):
        return Image.fromarray(np.ascontiguousarray(a[..., 0], np.uint16))  # Pillow's 16-bit grey (I;16)
    return Image.fromarray(a[..., 0] if a.shape[2] == 1 else a, kind.mode)


def as_photo(image: ImageLike, max_megapixels: float = 200.0) -> tuple[Photo, _Kind]:
    """``image`` as a ``Photo`` (upright, float32), and how to give a result back in its kind."""
    if isinstance(image, (str, Path)):
        from .io.images import read_photo

        return read_photo(image, max_megapixels), _Kind("path")
    if isinstance(image, np.ndarray):
        return _from_array(image)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        Image = None  # type: ignore[assignment]
    if Image is not None and isinstance(image, Image.Image):
        return _from_pil(image)
    raise InputError(f"cannot restore a {type(image).__name__}", "pass a path, a PIL image or a numpy array")


# ------------------------------------------------------------------------------------------- restoring

class Restorer:
    """A loaded model on its device, ready to restore any number of images (``load`` makes one)."""

    def __init__(self, runner: "Runner", entry: Any, prior: "CameraPrior | None" = None, method: str = "dpa",
                 psf_step: bool | None = None, allow_aspect_mismatch: bool = False) -> None:
        self.runner, self.entry, self.prior = runner, entry, prior
        self.method, self.psf_step, self.allow_aspect_mismatch = method, psf_step, allow_aspect_mismatch

    @property
    def model_id(self) -> str:
        return str(self.entry.id)

    def restore_photo(self, photo: Photo, progress: Progress | None = None) -> np.ndarray:
        """The restored RGB (H×W×3 float32) of an upright ``Photo`` (no strength applied)."""
        if self.prior is None:
            return self.runner.restore(photo.rgb(), None, progress=progress)
        return self.prior.restore(photo, self.runner, self.method, self.allow_aspect_mismatch, progress, self.psf_step)

    def batch_process(self, save_kernel: bool = False, save_map: bool = False) -> Callable[..., Any]:
        """The ``batch.Process`` of this restorer, for ``run_batch`` / ``run_one``: each photo's restored
        RGB, and writers of its side files, which the batch writes beside the output when asked to
        (``BatchOptions.extra``): the kernel it was deconvolved with (methods kernel and auto), the blur
        map it was restored with (auto's defocus route). A photo that took another route has none: a
        warning says that the side file was not written, and why."""
        from .batch import Restored

        def process(job: Any, photo: Photo, on_tiles: Progress) -> Restored:
            rgb = self.restore_photo(photo, on_tiles)
            d = getattr(self, "diagnosis", None)  # --method auto: what it found and where it sent the photo
            info: dict[str, object] = {} if d is None else {**d.as_dict(), "line": d.line()}
            sides: dict[str, Any] = {}
            radius = getattr(self, "radius", None)  # --method auto's defocus route: the map it restored with
            if save_map and radius is not None:
                from .defocusing.mapfile import map_writers

                sides |= map_writers(radius)
            elif save_map:
                photo.warnings.append("no blur map written: the photo did not take the defocus route")
            last = getattr(self, "last", None)  # --method kernel: what was estimated (a fallback warns itself)
            if last is None or last.used != "kernel" or last.kernel is None:
                if save_kernel and (last is not None or d is not None):
                    photo.warnings.append("no kernel trace written: no kernel was used for this photo")
                return Restored(rgb, sides, info)
            from .deconv.psf import write_kernel_npy, write_trace

            k = last.kernel
            return Restored(rgb, sides | {"kernel trace": lambda p, o: write_trace(k, p, o),
                                          "kernel": lambda p, o: write_kernel_npy(k, p, o)}, info)

        return process

    def restore(self, image: ImageLike, *, strength: float = 1.0, progress: Progress | None = None) -> Any:
        """Restore ``image`` (a path, PIL image or numpy array) and return the result in its kind."""
        from .batch import blend, check_strength

        check_strength(strength)
        photo, kind = as_photo(image)
        out = photo.with_pixels(blend(photo, self.restore_photo(photo, progress), strength))
        return _give_back(out, kind)


class KernelRestorer(Restorer):
    """`method="kernel"`: the photo's camera-shake kernel (estimated, or the one given), deconvolved by
    the non-blind net; a photo whose estimate is not confident goes to the blind net, with a warning.
    ``last`` holds the latest photo's ``deconv.pipeline.KernelResult`` (its kernel, confidence, σ)."""

    def __init__(self, runner: "Runner", entry: Any, deconvolver: Any, kernel: np.ndarray | None = None) -> None:
        super().__init__(runner, entry, method="kernel")
        self.deconvolver, self.kernel = deconvolver, kernel
        self.last: Any = None

    def restore_photo(self, photo: Photo, progress: Progress | None = None) -> np.ndarray:
        if self.kernel is not None:
            from .deconv.psf import check_kernel

            check_kernel(self.kernel, photo.pixels.shape[:2])  # larger than this photo: this file fails
        self.last = self.deconvolver.restore(photo.rgb(), self.kernel, progress, photo.warnings)
        return self.last.rgb


class AutoRestorer(Restorer):
    """`method="auto"`: each photo diagnosed (``route.diagnose``, from its shake-kernel estimate and its
    defocus map) and sent where it is best restored: left as it is (sharp), the kernel path (one shake),
    SVBR-Net with the estimated map (defocus), or the blind net (varying or unknown blur). ``diagnosis``
    holds the latest photo's verdict, ``last`` its ``KernelResult`` when it took the kernel path. A
    diagnosis that cannot be made never fails the photo: it goes to the blind net, with a warning."""

    def __init__(self, runner: "Runner", entry: Any, deconvolver: Any, defocuser: "Defocuser", route_cfg: Any = None) -> None:
        from .route import RouteConfig

        super().__init__(runner, entry, method="auto")
        self.deconvolver, self.defocuser = deconvolver, defocuser
        self.route_cfg = route_cfg or RouteConfig()
        self.last: Any = None
        self.radius: np.ndarray | None = None  # the blur map of the latest photo, when it took the defocus route
        self.diagnosis: Any = None

    def restore_photo(self, photo: Photo, progress: Progress | None = None) -> np.ndarray:
        from .deconv.estimate import estimate
        from .route import Diagnosis, diagnose, features

        rgb = photo.rgb()
        self.last = self.radius = None
        try:
            radius = self.defocuser.estimate(rgb)
            est = estimate(rgb, self.deconvolver.est_cfg)
            self.diagnosis = diagnose(features(est, radius, rgb), self.route_cfg)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as e:  # the estimators' numerical faults
            self.diagnosis = Diagnosis("other", 0.0, f"no diagnosis ({type(e).__name__}: {e})")
            photo.warnings.append(f"the blur could not be diagnosed ({e}): used the blind network")
        route = self.diagnosis.route
        if route == "none":
            return rgb.copy()
        if route == "kernel":
            self.last = self.deconvolver.restore(rgb, None, progress, photo.warnings, estimated=est)
            return self.last.rgb
        if route == "defocus":
            self.radius = radius
            return self.defocuser.restore_photo(photo, radius, progress)
        return self.runner.restore(rgb, None, progress=progress)


METHODS = ("auto", "blind", "kernel", "dpa", "psf")


def resolve_method(method: str | None, prior: Any = None, kernel: Any = None, model: Any = None) -> str:
    """The method a call means, or a ``UsageError`` for a combination that cannot run; the CLI calls it
    before any photo is decoded. None means: kernel with a kernel, dpa with a prior, blind with a blind
    network named (``model``: an id or a weights file), else auto (diagnose the blur, route the photo)."""
    if method is None:
        return "kernel" if kernel is not None else "dpa" if prior is not None else "blind" if model is not None else "auto"
    if method not in METHODS:
        raise UsageError(f"--method {method!r}: expected {', '.join(METHODS)}")
    if method == "psf" and prior is None:
        raise UsageError("--method psf needs --prior (the PSF field comes from the calibration)")
    if kernel is not None and method != "kernel":
        raise UsageError(f"--kernel is for --method kernel, not {method}")
    if method in ("kernel", "auto") and prior is not None:
        raise UsageError(f"--method {method} does not take --prior", "use --method dpa or psf with --prior")
    return method


def _kernel_restorer(model: str | None, weights: str | Path | None, kernel: Any, noise: float | None,
                     kernel_size: int, runner_args: dict[str, Any], blind_model: str | None,
                     blind: Callable[[np.ndarray, Any], np.ndarray] | None = None, sharp_check: bool = True) -> KernelRestorer:
    from .deconv.estimate import EstimateConfig
    from .deconv.pipeline import KernelDeconvolver
    from .deconv.psf import check_kernel, read_kernel
    from .engine.setup import make_runner
    from .models.loader import load_model

    if not 7 <= kernel_size <= 75:
        raise UsageError(f"--kernel-size {kernel_size}: expected 7 to 75 px")
    if noise is not None and not 0 <= noise <= 0.5:
        raise UsageError(f"--noise {noise}: expected a σ of 0 to 0.5 (values in [0, 1]; 0.01 is 2.55/255)")
    # A kernel the user has (measured) gets the net for given kernels; an estimated one the other.
    net, entry = load_model(model, "deconv" if kernel is None else "deconv_given", Path(weights) if weights else None)
    k = None
    if kernel is not None:  # checked against the net's canvas now: a kernel too wide is one error, not one per photo
        side = net.cfg.canvas
        k = read_kernel(Path(kernel), max_side=side) if isinstance(kernel, (str, Path)) else check_kernel(kernel, max_side=side)
    runner = make_runner(net, **runner_args)
    sharpness = None
    if k is None and blind is None:  # estimated kernels: a blind fallback for photos whose kernel cannot be estimated
        bnet, _ = load_model(blind_model, "deblur")
        brun = make_runner(bnet, **runner_args)
        blind = lambda rgb, p: brun.restore(rgb, None, progress=p)  # noqa: E731
    if k is None and sharp_check:  # --method auto's diagnosis applies the same rule (route.unsure_on_sharp) itself
        from .defocusing.estimate import load_learned_estimator
        from .route import sharpness as map_sharpness

        sharpness = map_sharpness(load_learned_estimator().to(runner.device))  # the defocus map tells a sharp photo
    # never look for a kernel wider than the net takes (a checkpoint with a smaller canvas than 75 px)
    est_cfg = EstimateConfig(kernel_size=min(kernel_size, net.cfg.canvas) | 1)
    return KernelRestorer(runner, entry, KernelDeconvolver(runner, blind, est_cfg, noise, sharpness), k)


def load(model: str | None = None, *, weights: str | Path | None = None, prior: str | Path | None = None,
         method: str | None = None, psf_step: bool | None = None, allow_aspect_mismatch: bool = False,
         device: str = "auto", precision: str = "auto", tile: str | int | None = "auto", overlap: int | None = None,
         batch: int = 1, cuda_graph: bool = False, notes: list[str] | None = None,
         tone_guard: float | None = None, kernel: Any = None, noise: float | None = None, kernel_size: int = 75,
         blind_model: str | None = None) -> Restorer:
    """A ``Restorer`` for blind deblurring (``model``: a weights id, default ``dpa-lite``; or a
    ``weights`` file), or calibrated with ``prior`` (a file from `deblur calibrate`; the model it was
    made with unless ``model`` says otherwise; ``method`` "dpa" or "psf"). ``method="kernel"`` (implied
    by ``kernel``, a .npy/PNG path or a 2-D array): the camera-shake kernel estimated from each photo (up
    to ``kernel_size`` px) or the one given, deconvolved by the non-blind net (``model``: default
    ``hqs`` for an estimated kernel, ``hqs-large`` for a given one), with ``noise`` σ (default: measured
    per photo); photos whose kernel cannot be estimated go to ``blind_model``. ``method="auto"``: each
    photo diagnosed and routed (``AutoRestorer``; ``model`` is then its blind net). ``tone_guard``: σ px below which the photo's own brightness and colour are kept
    (``engine.tone``; default on, 0: off)."""
    from .engine.setup import make_runner
    from .engine.tone import DEFAULT_SIGMA
    from .models.loader import load_model

    method = resolve_method(method, prior, kernel, model if weights is None else weights)
    if method in ("kernel", "auto"):
        args = dict(device=device, precision=precision, tile=tile, overlap=overlap, batch=batch, cuda_graph=cuda_graph,
                    notes=notes, tone_sigma=DEFAULT_SIGMA if tone_guard is None else tone_guard)
        if method == "kernel":
            return _kernel_restorer(model, weights, kernel, noise, kernel_size, args, blind_model)
        # auto: ``model``/``weights`` choose the blind net; the kernel path and SVBR-Net take their defaults
        blind_net, blind_entry = load_model(model, "deblur", Path(weights) if weights else None)
        brun = make_runner(blind_net, **args)
        k = _kernel_restorer(None, None, None, noise, kernel_size, args, None, lambda rgb, p: brun.restore(rgb, None, progress=p),
                             sharp_check=False)
        d = load_defocus(device=device, precision=precision, tile=tile, overlap=overlap, batch=batch, cuda_graph=cuda_graph,
                         notes=notes, tone_guard=tone_guard)
        return AutoRestorer(brun, blind_entry, k.deconvolver, d)
    if method == "blind":
        method = "dpa"
    field = None
    if prior is not None:
        from .calibration.prior_file import read_prior

        field = read_prior(Path(prior))
        model = model or field.meta.get("model_id")  # the model the prior was made with
    net, entry = load_model(model, "calibrate" if prior is not None else "deblur", Path(weights) if weights else None)
    if field is not None:
        from .archs import hparams_of
        from .calibration.prior_file import check_prior

        field = check_prior(field, Path(prior), entry, hparams_of(net))  # type: ignore[arg-type]
        if field.adapted is not None and method == "dpa":
            from .calibration.adapt import apply_adapted

            net = apply_adapted(net, field.adapted)
    runner = make_runner(net, device, precision, tile, overlap, batch, cuda_graph, notes,
                         DEFAULT_SIGMA if tone_guard is None else tone_guard)
    return Restorer(runner, entry, field, method, psf_step, allow_aspect_mismatch)


def restore(image: ImageLike, *, model: str | None = None, strength: float = 1.0, device: str = "auto",
            prior: str | Path | None = None, method: str | None = None, kernel: Any = None) -> Any:
    """Deblur one image (a path, PIL image or numpy array); the result comes back in the same kind.
    ``method``: auto (the default: diagnose the blur and route the photo), blind (the default when
    ``model`` names a network), kernel (estimate the shake kernel, or use ``kernel``), or with a
    ``prior`` dpa / psf. For many images, ``load`` once and call ``Restorer.restore``."""
    return load(model, prior=prior, method=method, device=device, kernel=kernel).restore(image, strength=strength)


class Defocuser:
    """SVBR-Net on its device with a blur-map estimator (``load_defocus`` makes one): `deblur defocus`
    and ``defocus`` both run through it."""

    def __init__(self, runner: "Runner", entry: Any, estimate: Callable[[np.ndarray], np.ndarray], space: str = "linear") -> None:
        from .calibration.psf import check_space

        self.runner, self.entry, self.estimate, self.space = runner, entry, estimate, check_space(space)

    def restore_photo(self, photo: Photo, radius: np.ndarray | None = None, progress: Progress | None = None) -> np.ndarray:
        """The restored RGB of an upright ``Photo`` with the blur map ``radius`` (px; estimated when
        None), clamped to the radii the net was trained on (with a note in ``photo.warnings``).
        ``space`` "srgb": the blur acted on the photo's sRGB values, not on linear light. The net learned
        lens blur, which acts on linear light, so it is given the values encoded once more (the sRGB
        values taken as linear light) and its result is decoded back. The map is estimated on the
        values as they are: so read, its error was 0.47 px on such blur, against 0.81 px on the values
        encoded once more (docs/experiments.md, "Defocus in either space")."""
        from .calibration.psf import restore_in_space
        from .defocusing.mapfile import to_trained_range
        from .engine.runner import BlurMap

        rgb = photo.rgb()
        if radius is None:
            radius = self.estimate(rgb)
        elif radius.shape != photo.pixels.shape[:2]:
            raise InputError(f"blur map of shape {radius.shape} for an image of {photo.pixels.shape[:2]}")
        cond = BlurMap(to_trained_range(np.asarray(radius, np.float32), photo.warnings))
        return restore_in_space(lambda x: self.runner.restore(x, cond, progress=progress), rgb, self.space)


def load_defocus(model: str | None = None, *, weights: str | Path | None = None, estimator: str = "learned",
                 device: str = "auto", precision: str = "auto", tile: str | int | None = "auto", overlap: int | None = None,
                 batch: int = 1, cuda_graph: bool = False, notes: list[str] | None = None,
                 tone_guard: float | None = None, space: str = "linear") -> Defocuser:
    """A ``Defocuser``: the defocus checkpoint (``model`` or ``weights``) and the ``estimator`` ("learned"
    or "edge") of the blur maps it is given none of; ``tone_guard`` as in ``load``; ``space``: where the
    blur acts, "linear" (a lens) or "srgb" (blur applied to the sRGB values)."""
    from .calibration.psf import check_space
    from .engine.tone import DEFAULT_SIGMA
    from .defocusing.estimate import estimate_radius, estimate_radius_learned, load_learned_estimator
    from .engine.setup import make_runner
    from .models.loader import load_model

    if estimator not in ("learned", "edge"):
        raise UsageError(f"estimator {estimator!r}: expected learned or edge")
    check_space(space)  # before any model loads
    net, entry = load_model(model, "defocus", Path(weights) if weights else None)  # refuses nets without a map input
    runner = make_runner(net, device, precision, tile, overlap, batch, cuda_graph, notes,
                         DEFAULT_SIGMA if tone_guard is None else tone_guard)
    if estimator == "edge":
        return Defocuser(runner, entry, estimate_radius, space)
    est_net = load_learned_estimator().to(runner.device)
    return Defocuser(runner, entry, lambda rgb: estimate_radius_learned(rgb, est_net), space)


def defocus(image: ImageLike, *, blur_map: np.ndarray | None = None, estimator: str = "learned",
            strength: float = 1.0, device: str = "auto", model: str | None = None, space: str = "linear") -> Any:
    """Remove defocus blur with SVBR-Net: ``blur_map`` (per-pixel disk radius in px, H×W) or one
    estimated by ``estimator`` ("learned" or "edge"); ``space``: where the blur acts, "linear" (a lens,
    the default) or "srgb" (blur applied to the sRGB values); the result comes back in the image's kind."""
    from .batch import blend, check_strength

    check_strength(strength)
    photo, kind = as_photo(image)
    d = load_defocus(model, estimator="edge" if blur_map is not None else estimator, device=device, space=space)
    return _give_back(photo.with_pixels(blend(photo, d.restore_photo(photo, blur_map), strength)), kind)


def calibrate(sharp: ImageLike, blurred: ImageLike, output: str | Path, *, model: str | None = None,
              psf_grid: int = 6, overwrite: bool = False) -> dict[str, Any]:
    """Calibrate a camera from a sharp/blurred pair (paths, PIL images or arrays of one scene) and
    write the prior file ``output`` (for ``load(prior=…)``); returns the calibration summary
    (alignment residual, PSF widths, noise). No adaptation here: `deblur calibrate --adapt-images` does it."""
    from .archs import hparams_of
    from .calibration.estimate import calibrate as run
    from .calibration.prior_file import in_sensor_frame, save_prior
    from .plan import plan_calibration
    from .models.loader import load_model

    out = Path(output)
    plan_calibration(*(Path(i) if isinstance(i, (str, Path)) else None for i in (sharp, blurred)), out, overwrite=overwrite)
    s, _ = as_photo(sharp)
    b, _ = as_photo(blurred)
    net, entry = load_model(model, "calibrate")
    cal = run(net, s.rgb(), b.rgb(), psf_grid)
    levels, psfs, sensor = in_sensor_frame(cal.levels, cal.psfs, s.orientation, s.pixels.shape[:2])
    save_prior(out, levels, psfs, entry, hparams_of(net), sensor, {"name": out.stem, "alignment": cal.summary, "blur_space": cal.space}, None, overwrite)
    return dict(cal.summary)
