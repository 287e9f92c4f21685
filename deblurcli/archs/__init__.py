"""Architecture registry: name -> (module class, typed hyperparameter dataclass).

A checkpoint names its arch and hyperparameters in its metadata; ``build(name, hparams)`` rebuilds it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from torch import nn

from .attgan import AttentionGenerator, AttGANConfig
from .blurmap import BlurMapConfig, BlurMapNet
from .dpa import DistortionPriorDeblur, DPAConfig
from .hqs import HQSConfig, HQSDeconv
from .lcnet import LCNet, LCNetConfig
from .mtwd import MTWDConfig, MTWDNet
from .svbr import SVBRConfig, SVBRNet


@dataclass(frozen=True)
class ArchSpec:
    name: str
    module: type[nn.Module]
    config: type
    paper: str
    output: str = "image"  # "image": a restored RGB photo; "radius": a per-pixel defocus radius map (px)

    @property
    def takes_blur_map(self) -> bool:
        """Non-blind defocus: the model's second input is a per-pixel blur radius map."""
        return getattr(self.module, "cond", None) == "blur_map"

    @property
    def takes_kernel(self) -> bool:
        """Non-blind deconvolution: the model's inputs include the PSF and the noise level."""
        return getattr(self.module, "cond", None) == "kernel"

    @property
    def uses_radius(self) -> bool:
        """Training and validation samples need the true radius map (as input or as target)."""
        return self.takes_blur_map or self.output == "radius"


ARCHS: dict[str, ArchSpec] = {
    s.name: s
    for s in (
        ArchSpec("dpa", DistortionPriorDeblur, DPAConfig, "Kim et al., deep multi-scale distortion prior"),
        ArchSpec("mtwd", MTWDNet, MTWDConfig, "Cheng et al., multi-scale two-way deblurring"),
        ArchSpec("lcnet", LCNet, LCNetConfig, "Su, Yuan, Wang, local correlation block"),
        ArchSpec("svbr", SVBRNet, SVBRConfig, "Karaali & Jung, SVBR-Net"),
        ArchSpec("attgan", AttentionGenerator, AttGANConfig, "Lenka, Mittal, Pandey, blind deblurring using GANs"),
        ArchSpec("blurmap", BlurMapNet, BlurMapConfig, "ours: learned defocus map estimator for SVBR-Net", "radius"),
        ArchSpec("hqs", HQSDeconv, HQSConfig, "after Zhang et al., USRNet: unrolled half-quadratic splitting"),
    )
}

RESTORERS = tuple(n for n, s in ARCHS.items() if s.output == "image")


def config_from_dict(arch: str, hparams: dict[str, Any]) -> Any:
    """Typed config from a JSON-like dict (lists become tuples); unknown keys are an error."""
    spec = ARCHS[arch]
    fields = {f.name for f in dataclasses.fields(spec.config)}
    unknown = set(hparams) - fields
    if unknown:
        raise ValueError(f"unknown hyperparameters for {arch}: {sorted(unknown)}")
    return spec.config(**{k: tuple(v) if isinstance(v, list) else v for k, v in hparams.items()})


def build(arch: str, hparams: dict[str, Any] | None = None) -> nn.Module:
    if arch not in ARCHS:
        raise KeyError(f"unknown arch {arch!r}; known: {', '.join(ARCHS)}")
    return ARCHS[arch].module(config_from_dict(arch, hparams or {}))


def hparams_of(model: nn.Module) -> dict[str, Any]:
    return dataclasses.asdict(model.cfg)  # type: ignore[arg-type]


def arch_of(model: nn.Module) -> str:
    for s in ARCHS.values():
        if type(model) is s.module:
            return s.name
    raise KeyError(type(model).__name__)
