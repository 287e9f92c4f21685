"""Files named by URIs — ``s3://``, ``gs://``, ``abfs://``, ``hdfs://``, ``file://`` — for the Ray
pipeline, through pyarrow's filesystems (credentials come from the environment, the way pyarrow reads
them: the README's cluster section). A photo is fetched into a private temporary folder, restored there
by the local batch code, and its outputs uploaded: an object store publishes an object whole, and a local
filesystem gets a hidden temporary name renamed into place, so no reader ever sees half a photo."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from ..batch import is_our_output
from ..errors import InputError, OutputExistsError
from ..io.images import INPUT_EXTS, part_name

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_CHUNK = 1 << 20


def is_uri(s: object) -> bool:
    return isinstance(s, str) and bool(URI.match(s))


def _fs(uri: str) -> tuple[Any, str]:
    import pyarrow
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, OSError) as e:
        raise InputError(f"{uri}: {e}", "check the URI, and that its filesystem's credentials are set "
                                        "(see the README's cluster section)") from e


def _kind(uri: str) -> str:
    import pyarrow.fs as pafs

    fs, path = _fs(uri)
    try:
        t = fs.get_file_info(path).type
    except OSError as e:
        raise InputError(f"{uri}: {e}", "check the URI and its credentials") from e
    return {pafs.FileType.File: "file", pafs.FileType.Directory: "dir"}.get(t, "missing")


def exists(target: str) -> bool:
    """Whether ``target`` (a URI or a local path) names a file now."""
    return _kind(target) == "file" if is_uri(target) else Path(target).is_file()


def existing(targets: list[str]) -> set[str]:
    """Which of ``targets`` (URIs) name a file now, by one listing per folder rather than one request
    per file (planning a batch into a bucket of thousands of outputs)."""
    import pyarrow.fs as pafs

    by_folder: dict[str, set[str]] = {}
    for t in targets:
        by_folder.setdefault(t.rsplit("/", 1)[0], set()).add(t)
    found: set[str] = set()
    for folder, names in by_folder.items():
        fs, base = _fs(folder)
        try:
            infos = fs.get_file_info(pafs.FileSelector(base, recursive=False, allow_not_found=True))
        except OSError as e:
            raise InputError(f"{folder}: {e}", "check the URI and its credentials") from e
        files = {PurePosixPath(i.path).name for i in infos if i.type == pafs.FileType.File}
        found |= {t for t in names if t.rsplit("/", 1)[1] in files}
    return found


def join(base: str, *parts: str) -> str:
    """``base`` (a URI or a local path) with ``parts`` appended, ``/``-separated (empty parts dropped)."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p and p != ".")])


def list_images(uri: str, recursive: bool, suffix: str) -> list[tuple[str, str]]:
    """(file URI, its folder relative to ``uri``) for every photo in the folder ``uri`` (our own outputs
    and hidden files left out, as for a local folder), or ``[(uri, "")]`` when ``uri`` is a file."""
    import pyarrow.fs as pafs

    kind = _kind(uri)
    if kind == "missing":
        raise InputError(f"{uri}: not found", "check the URI (a folder's photos, or one photo)")
    if kind == "file":
        return [(uri, "")]
    fs, base = _fs(uri)
    found: list[tuple[str, str]] = []
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=recursive))
    root = base.rstrip("/")
    for info in sorted(infos, key=lambda i: i.path):
        p = PurePosixPath(info.path)
        if info.type != pafs.FileType.File or p.suffix.lower() not in INPUT_EXTS or p.name.startswith("."):
            continue
        if is_our_output(p, suffix):
            continue
        rel = PurePosixPath(info.path[len(root):].lstrip("/"))
        found.append((join(uri, str(rel)), "" if str(rel.parent) == "." else str(rel.parent)))
    return found


def fetch(uri: str, folder: Path) -> Path:
    """Copy the file ``uri`` into ``folder`` under its own name; returns the local path."""
    fs, path = _fs(uri)
    local = folder / PurePosixPath(path).name
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with fs.open_input_stream(path) as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
    except OSError as e:
        raise InputError(f"cannot read {uri}: {e}") from e
    return local


def upload(local: Path, uri: str, overwrite: bool) -> None:
    """Publish the finished file ``local`` at ``uri``; with ``overwrite`` False an object that exists
    is kept (``OutputExistsError``). Local filesystems get a hidden name renamed into place."""
    fs, path = _fs(uri)
    if not overwrite and exists(uri):
        raise OutputExistsError(f"output {uri} exists")
    parent = str(PurePosixPath(path).parent)
    atomic_rename = fs.type_name == "local"
    target = f"{parent}/{part_name(Path(path))}{uuid.uuid4().hex[:8]}.part" if atomic_rename else path  # as write_photo names it
    try:
        fs.create_dir(parent, recursive=True)
        with open(local, "rb") as src, fs.open_output_stream(target) as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
        if atomic_rename:
            fs.move(target, path)
    except OSError as e:
        if atomic_rename:
            try:
                fs.delete_file(target)
            except OSError:
                pass
        raise OSError(f"cannot write {uri}: {e}") from e
