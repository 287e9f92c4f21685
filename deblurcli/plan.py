"""One planner for every file a command writes: photos, compare images, kernel traces, blur maps and
their previews, priors, calibration previews, charts, JSON reports.

Every name is settled before any work. A file the run reads (a photo, a kernel, a map, a prior) is never
written, ``--overwrite`` or not; no two files the run writes share a name; an existing file is kept
unless ``--overwrite`` says otherwise (``publish`` checks that again when the file is written).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import OutputExistsError, UsageError


def same_file_key(p: Path) -> str:
    """What two names that reach the same file have in common (links resolved, case as the OS has it)."""
    return os.path.normcase(str(Path(p).resolve()))


@dataclass
class Plan:
    """The files a run reads and the files it will write (``what`` names each for messages)."""

    reads: dict[str, Path] = field(default_factory=dict)
    writes: dict[str, tuple[Path, str]] = field(default_factory=dict)

    def read(self, *paths: Path | str | None) -> Plan:
        for p in paths:
            if p is not None and str(p) != "-":
                self.reads.setdefault(same_file_key(Path(p)), Path(p))
        return self

    def conflict(self, path: Path, what: str) -> str | None:
        """Why ``path`` cannot be written — it is one of the run's inputs, or another of its outputs —
        or None, and then it is this run's ``what`` from now on."""
        k = same_file_key(path)
        if k in self.reads:
            return f"the {what} {path} would replace the input {self.reads[k]} (inputs are never replaced, --overwrite or not)"
        if k in self.writes:
            other, other_what = self.writes[k]
            return f"the {what} {path} is also the {other_what} {other} of this run"
        self.writes[k] = (path, what)
        return None

    def claim(self, path: Path, what: str, overwrite: bool, hint: str = "choose another name") -> Path:
        """``path`` for a command that writes a fixed set of files: a ``UsageError`` for an input or a
        name taken twice, ``OutputExistsError`` for an existing file without ``overwrite``."""
        why = self.conflict(path, what)
        if why is not None:
            raise UsageError(why, hint)
        if path.is_dir():
            raise UsageError(f"the {what} {path} is a folder: it needs a file name", hint)
        if not overwrite and path.exists():
            raise OutputExistsError(f"the {what} {path} exists", "pass --overwrite to replace it")
        from .io.images import check_writable

        check_writable(path.parent)
        return path


def plan_calibration(sharp: Path | None, blur: Path | None, output: Path, preview: Path | None = None,
                     overwrite: bool = False, adapt_images: Path | None = None) -> None:
    """The files a calibration writes (the prior, its preview), checked before any work (``plan.Plan``):
    never one of its inputs (the pair, the photos it adapts on), never one name for both, an existing
    file kept without ``overwrite``, a preview in a format we write."""
    from .io.images import FORMATS

    plan = Plan().read(sharp, blur)
    if adapt_images is not None and adapt_images.is_dir():
        plan.read(*(p for p in adapt_images.rglob("*") if p.is_file()))
    plan.claim(output, "prior file", overwrite, "choose another -o name, e.g. camera.prior")
    if preview is not None:
        if preview.suffix.lower() not in FORMATS:
            raise UsageError(f"--preview {preview}: unknown image format {preview.suffix!r}", "name it .png")
        plan.claim(preview, "preview", overwrite, "choose another --preview name, e.g. camera_psf.png")


__all__ = ["Plan", "plan_calibration", "same_file_key"]
