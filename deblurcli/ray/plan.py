"""What the Ray pipeline will do, decided on the driver before any worker starts: one ``Item`` per input
(named as the local batch names it), and the items settled at once (bad input, output exists)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..batch import BatchOptions, FileResult, Job, NamingOptions, expand, output_name, plan_jobs, settled_before_work, triage
from ..errors import UsageError
from .storage import existing, is_uri, join, list_images


@dataclass(frozen=True)
class Item:
    """One input and its output, as strings: local paths or URIs."""

    src: str
    dest: str | None
    error: str | None = None


def plan(inputs: list[str], output: str | Path | None, naming: NamingOptions, sides: tuple[str, ...] = (),
         reads: tuple[Path | None, ...] = ()) -> list[Item]:
    """Every input's ``Item``. Local inputs and outputs are planned by ``batch.plan_jobs`` itself (with
    their ``sides`` and the files options name, ``reads``); with a URI anywhere, a URI input is a file or
    a folder, and a URI output is a folder."""
    if not any(is_uri(i) for i in inputs) and not is_uri(output):
        named = NamingOptions(Path(output) if output is not None else None, naming.suffix, naming.format, naming.recursive)
        return [Item(str(j.src), None if j.dest is None else str(j.dest), j.error) for j in plan_jobs(inputs, named, sides, reads)]
    found: list[tuple[str, str]] = []  # (input, its folder relative to the input folder named)
    for raw in inputs:
        if is_uri(raw):
            found += list_images(raw, naming.recursive, naming.suffix)
        else:
            found += [(str(f), str(f.parent.relative_to(base)) if base is not None else "")
                      for f, base in expand([raw], naming.recursive, naming.suffix)]
    if not found:
        raise UsageError("no input images found", "pass image files, folders (with -r to descend) or URIs")
    items: list[Item] = []
    seen: dict[str, str] = {}
    for src, rel in found:
        name = output_name(PurePosixPath(src), naming)
        dest = join(src.rsplit("/", 1)[0], name) if output is None else join(str(output), rel, name)
        error = None
        if dest == src:
            error = "output would overwrite the input; choose another --suffix or -o"
        elif dest in seen:
            error = f"two inputs map to the same output {dest} (also {seen[dest]})"
        seen.setdefault(dest, src)
        items.append(Item(src, dest, error))
    return items


def settle(items: list[Item], opts: BatchOptions) -> tuple[list[FileResult], list[Item]]:
    """The results known before any work, and the items to restore: ``batch.triage`` for local items
    (stale temporary files cleaned, unwritable folders found), the same rules for URIs."""
    local = [i for i in items if not is_uri(i.src) and not is_uri(i.dest)]
    settled, todo_jobs = triage([Job(Path(i.src), None if i.dest is None else Path(i.dest), i.error) for i in local], opts)
    todo = [Item(str(j.src), str(j.dest)) for j in todo_jobs]
    is_local = set(local)
    remote = [i for i in items if i not in is_local]
    there = existing([i.dest for i in remote if i.dest is not None and i.error is None])
    for i in remote:
        res = settled_before_work(i.src, i.dest, i.error, lambda: i.dest in there, opts)
        if res is not None:
            settled.append(res)
        else:
            todo.append(i)
    return settled, todo
