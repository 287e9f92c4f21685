"""Load a registered checkpoint: resolve (hub), verify (sha256), build the arch, strict load.

``--weights PATH`` loads the user's own safetensors file by its metadata (arch, hyperparameters): no
registered hash applies to it, but it is strictly loaded and no code in it can run. Someone else's
checkpoint (a ``.pth`` or a plain safetensors) goes to spandrel (``models.foreign``), whose unpickler
admits only tensors and plain containers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from ..archs import ARCHS, RESTORERS
from ..errors import UsageError, WeightsError
from ..hub.registry import Registry, WeightsEntry, load_registry
from ..hub.resolve import HF_PREFIX, fetch_spec, resolve, sha256_of
from .foreign import SUFFIXES as FOREIGN_SUFFIXES
from .foreign import load_foreign
from .store import FORMAT, load, read_metadata

log = logging.getLogger("deblurcli.models")


def load_entry(entry: WeightsEntry) -> tuple[nn.Module, dict[str, str]]:
    path = resolve(entry)  # sha256 verified
    if entry.arch.startswith("spandrel:"):  # someone else's checkpoint, registered by `deblur weights add`
        net, found = load_foreign(path, entry.sha256)
        if found.arch != entry.arch:
            raise WeightsError(f"{path}: spandrel reads a {found.arch[9:]} but weights.toml says {entry.arch[9:]} for {entry.id}")
        return net, {"arch": entry.arch}
    model, meta = load(path)
    if meta["arch"] != entry.arch:
        raise WeightsError(f"{path}: holds arch {meta['arch']!r} but weights.toml says {entry.arch!r} for {entry.id}")
    return model, meta


def load_file(path: Path, registry: Registry | None = None) -> tuple[nn.Module, WeightsEntry]:
    """A user's safetensors file. When its sha256 is a registered entry's, it is that entry; a file that
    claims a registered id but differs from it is loaded as a user file, with a warning; in every case
    the tensors are checked against the hash recorded at export (``store.load``)."""
    if not path.is_file():
        raise WeightsError(f"--weights {path}: no such file")
    sha = sha256_of(path)
    if path.suffix.lower() in FOREIGN_SUFFIXES or read_metadata(path).get("format") != FORMAT:
        return load_foreign(path, sha)  # someone else's (a .pth, or safetensors without our metadata): spandrel
    model, meta = load(path)
    reg = registry or load_registry()
    for e in reg.entries.values():
        if e.sha256 == sha:
            log.debug("weights: --weights %s is the registered %s (sha256 verified)", path, e.id)
            return model, e
    claimed = meta.get("id", "")
    if claimed in reg.entries:
        log.warning("--weights %s: not the registered %s checkpoint (its sha256 differs); loaded as your own file", path, claimed)
    log.debug("weights: --weights %s (arch %s, not a registered checkpoint)", path, meta["arch"])
    task = reg.entries[claimed].task if claimed in reg.entries else ARCH_TASK.get(meta["arch"], "motion")
    entry = WeightsEntry(id=claimed or path.stem, arch=meta["arch"], task=task, sha256=sha,
                         size=path.stat().st_size, license="user file", file=str(path))
    return model, entry


# The task of a user file, from its arch (registered files carry theirs in weights.toml).
ARCH_TASK = {"svbr": "defocus", "blurmap": "blurmap", "hqs": "deconv"}
# What each command can run: the arch's kind decides, whatever the entry's task says.
COMMAND_ARCHS = {
    "deblur": lambda a: a.startswith("spandrel:") or (a in RESTORERS and not ARCHS[a].takes_blur_map and not ARCHS[a].takes_kernel),
    "deconv": lambda a: a in ARCHS and ARCHS[a].takes_kernel,
    "deconv_given": lambda a: a in ARCHS and ARCHS[a].takes_kernel,  # --kernel FILE: the same kind of net
    "calibrate": lambda a: a == "dpa",
    "defocus": lambda a: a in ARCHS and ARCHS[a].takes_blur_map,
    "blurmap": lambda a: a in ARCHS and ARCHS[a].output == "radius",
}
COMMAND_NEEDS = {"deblur": "a blind deblurring network", "calibrate": "the distortion-prior network (dpa)",
                 "defocus": "a network that takes a blur map (svbr)", "blurmap": "a blur-map estimator",
                 "deconv": "a non-blind network that takes a kernel (hqs)",
                 "deconv_given": "a non-blind network that takes a kernel (hqs)"}


def check_task(entry: WeightsEntry, command: str) -> None:
    """Refuse a checkpoint made for another task (a blur-map estimator as a deblurrer wrote an
    all-white picture with exit 0)."""
    ok = COMMAND_ARCHS.get(command)
    if ok is not None and not ok(entry.arch):
        fits = [c for c, f in COMMAND_ARCHS.items() if f(entry.arch)]
        where = f"; it is for `deblur {fits[0]}`" if fits and fits[0] not in ("deblur", "blurmap", "deconv") else ""
        if fits and fits[0] == "deconv":
            where = "; it is for `deblur --method kernel`"
        raise UsageError(f"{entry.id} (arch {entry.arch}, task {entry.task}) is not {COMMAND_NEEDS[command]}{where}",
                         "`deblur weights list` shows each checkpoint's task")


def load_model(model_id: str | None, command: str, explicit: Path | None = None,
               registry: Registry | None = None) -> tuple[nn.Module, WeightsEntry]:
    """The checkpoint for ``command`` (deblur | calibrate | defocus | blurmap): ``explicit`` file, the
    id, or the command's default; refused when it was made for another task."""
    reg = registry or load_registry()
    if explicit is None and model_id and model_id.startswith(HF_PREFIX):  # someone's file on the Hub
        explicit = fetch_spec(model_id)
    if explicit is not None:
        model, entry = load_file(explicit, reg)
        check_task(entry, command)
        return model, entry
    entry = reg.get(model_id) if model_id else reg.default_for(command)
    check_task(entry, command)
    model, _ = load_entry(entry)
    return model, entry


def untrained(names: list[str]) -> dict[str, tuple[nn.Module, str]]:
    """Each restoration arch in ``names`` (or every one, for ``["all"]``) in its compact config with
    random weights, by label: what `deblur bench --arch` times without a checkpoint."""
    from ..archs import build

    chosen = list(RESTORERS) if names == ["all"] else names
    for n in chosen:
        if n not in RESTORERS:
            raise UsageError(f"--arch {n!r}: known restoration archs: {', '.join(RESTORERS)}")
    return {f"{n} (compact, untrained)": (build(n).eval(), n) for n in chosen}


def registered(ids: list[str]) -> dict[str, tuple[nn.Module, str]]:
    """The checkpoints ``ids`` (none or ``["all"]``: every restoration checkpoint of the registry),
    loaded and verified, by id, with their arch: what `deblur bench` and the evaluations measure."""
    reg = load_registry()
    chosen = [i for i, e in reg.entries.items() if e.arch in RESTORERS] if not ids or ids == ["all"] else ids
    return {i: (load_entry(reg.get(i))[0], reg.get(i).arch) for i in chosen}
