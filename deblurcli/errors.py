"""One error vocabulary. Deep code raises these; the CLI maps each to a one-line message + hint."""

from __future__ import annotations


class DeblurError(Exception):
    """Base class. ``hint`` says what to do next."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class InputError(DeblurError):
    """A file the user gave cannot be used (missing, corrupt, wrong size, unsupported mode)."""


class UsageError(DeblurError):
    """Options that contradict each other or name something that does not exist."""


class OutputExistsError(DeblurError):
    hint = "pass --overwrite to replace it or --skip-existing to keep it"


class OutputFolderError(DeblurError):
    """An output cannot be written where it was asked for (permissions, read-only folder)."""


class ModelOutputError(DeblurError):
    """A network produced values that cannot be a picture (not finite, far out of range)."""

    hint = "the checkpoint may be corrupt: run `deblur weights list` to verify it, or pull it again"


class KernelMismatchError(ModelOutputError):
    """The non-blind net's result, blurred again by the kernel, does not give back the photo: the kernel
    is not this photo's, or (less likely) the checkpoint is corrupt."""

    hint = ("check that the kernel is this photo's (same size and orientation); if it is, the checkpoint "
            "may be corrupt: deblur weights list")


class WeightsError(DeblurError):
    """A checkpoint cannot be resolved, verified or loaded."""


class ChecksumError(WeightsError):
    hint = "the file was removed; run `deblur weights pull ID` again"


class OfflineError(WeightsError):
    pass


class RegistryError(WeightsError):
    """weights.toml is malformed; the message names the entry and field."""


class PriorError(DeblurError):
    """A prior file is unreadable, truncated, or made for another model."""


class ClusterError(DeblurError):
    """A Ray cluster cannot be joined or started (`deblur … --ray`)."""


class AlignmentError(DeblurError):
    """A calibration pair could not be registered."""
