"""A batch restored on a Ray cluster: a Ray Data pipeline whose actor pool holds the model once per
worker (on a GPU each where the cluster has them). The files are planned and settled on the driver as
the local batch settles them; each worker runs ``batch.run_one`` — the local batch's own reading,
naming, metadata, atomic publishing and per-file errors — on one file at a time.

Faults: a worker that dies has its file retried on a restarted worker (``ClusterOptions.retries`` more
times, counted by a ``Ledger`` actor; then the file is reported failed: a photo that kills its decoder
cannot stall the batch). Every
output is published whole, so a killed worker leaves at most a hidden temporary file, removed at the
end. The summary counts every input exactly once, whatever was retried."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..batch import BatchOptions, FileResult, Job, NamingOptions, Process, failure, run_one, settle_write
from ..errors import ClusterError, DeblurError, UsageError
from ..io.images import clean_stale_parts
from .plan import Item, plan, settle
from .storage import exists, fetch, is_uri, join, upload

EARLIER = "written by an earlier attempt whose worker was lost"


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how wide: ``address`` None joins ``RAY_ADDRESS`` or starts a local cluster, "auto" joins
    the running one, else ``HOST:PORT`` or ``ray://HOST:10001``; ``workers`` default: one per GPU, or one
    per CPU; ``retries``: how often a file whose worker died is tried again."""

    address: str | None = None
    workers: int | None = None
    retries: int = 2
    ray_init: dict[str, Any] = field(default_factory=dict)  # more ray.init arguments (a local cluster's num_cpus…)


def require_ray() -> None:
    """A one-line error, not a traceback, where Ray Data (and the pyarrow it brings) is not installed."""
    try:
        import pyarrow  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as e:
        raise UsageError("batches on Ray need Ray Data", "pip install 'deblurcli[cluster]'") from e


def run_item(item: Item, process: Process, opts: BatchOptions) -> FileResult:
    """One planned item on a worker: ``batch.run_one``, with a URI input fetched and URI outputs uploaded."""
    assert item.dest is not None
    if not opts.overwrite and exists(item.dest):  # absent when the run was planned: an earlier attempt of
        return FileResult(item.src, item.dest, "done", EARLIER)  # this run published it whole, then died
    if not is_uri(item.src) and not is_uri(item.dest):
        return run_one(Job(Path(item.src), Path(item.dest)), process, opts)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="deblur-ray-") as tmp:
        try:
            src = fetch(item.src, Path(tmp) / "in") if is_uri(item.src) else Path(item.src)
        except DeblurError as e:
            return FileResult(item.src, item.dest, "failed", failure(e))
        out = Path(tmp) / "out"
        dest = out / item.dest.rsplit("/", 1)[-1] if is_uri(item.dest) else Path(item.dest)
        res = run_one(Job(src, dest), process, opts)
        if res.status == "done" and is_uri(item.dest):
            folder = item.dest.rsplit("/", 1)[0]
            try:  # what goes beside the output first (a compare, a kernel): the output last, so that
                for f in [*sorted(p for p in out.iterdir() if p != dest), dest]:  # its presence means all is there
                    upload(f, join(folder, f.name), opts.overwrite)
            except Exception as e:  # noqa: BLE001 — this file's fault, never the batch's
                settle_write(e, res, opts.skip_existing)
    res.src, res.dest, res.seconds = item.src, item.dest, time.perf_counter() - t0
    return res


def _row(res: FileResult, info: dict[str, Any]) -> dict[str, Any]:
    w, h = res.size or (-1, -1)
    return {"src": str(res.src), "dest": str(res.dest), "status": res.status, "reason": res.reason,
            "seconds": res.seconds, "megapixels": res.megapixels, "warnings": json.dumps(res.warnings),
            "width": w, "height": h, "pid": os.getpid(), "info": json.dumps(info), "said": json.dumps(res.info)}


def _result(row: dict[str, Any]) -> FileResult:
    w, h = int(row["width"]), int(row["height"])
    src, dest = str(row["src"]), str(row["dest"])
    return FileResult(src if is_uri(src) else Path(src), dest if is_uri(dest) else Path(dest), row["status"],
                      str(row["reason"]), float(row["seconds"]), float(row["megapixels"]), json.loads(row["warnings"]),
                      None if w < 0 else (w, h), json.loads(row.get("said") or "{}"))


class Ledger:
    """How often each file has been started, cluster-wide (one small actor of the driver's): a file
    whose workers keep dying is failed after ``retries`` more tries instead of retried forever."""

    def __init__(self, retries: int) -> None:
        self.retries, self.starts = retries, {}  # type: ignore[var-annotated]

    def begin(self, key: str) -> bool:
        """Count one more start of ``key``; False once it has been started more than ``retries`` times."""
        self.starts[key] = self.starts.get(key, 0) + 1
        return self.starts[key] <= self.retries + 1


class Worker:
    """One actor of the pool: loads the model once (``api.load``), then restores one file per call. A
    model that cannot load fails each of its files with the reason, instead of restarting forever.
    Relative paths are the driver's (its working folder, where a node has it)."""

    def __init__(self, load_args: dict[str, Any], opts: BatchOptions, ledger: Any, retries: int,
                 save_kernel: bool = False, cwd: str = "") -> None:
        from ..api import load

        if cwd and os.path.isdir(cwd):  # the driver's relative paths mean the same here (a shared filesystem)
            os.chdir(cwd)
        self.opts, self.ledger, self.retries, self.error, self.info = opts, ledger, retries, "", {}
        try:
            r = load(**load_args)
            self.process = r.batch_process(save_kernel)
            self.info = {"model": r.entry.id, "sha256": r.entry.sha256, "device": str(r.runner.device),
                         "precision": str(r.runner.dtype).replace("torch.", "")}
        except Exception as e:  # noqa: BLE001 — reported per file, on the driver
            self.error = f"the model did not load on a worker: {failure(e)}"

    def _one(self, item: Item) -> FileResult:
        import ray

        if self.error:
            return FileResult(item.src, item.dest, "failed", self.error)
        if not ray.get(self.ledger.begin.remote(item.src)):
            return FileResult(item.src, item.dest, "failed", f"its worker died {self.retries + 1} times on it "
                              "(a photo that crashes the decoder, or too little memory for it)")
        try:
            return run_item(item, self.process, self.opts)
        except Exception as e:  # noqa: BLE001 — a storage fault (credentials, a lost bucket) is this file's
            return FileResult(item.src, item.dest, "failed", failure(e))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        rows = [_row(self._one(Item(str(s), str(d))), self.info) for s, d in zip(batch["src"], batch["dest"])]
        return {k: [r[k] for r in rows] for k in rows[0]}


def connect(address: str | None, init_args: dict[str, Any] | None = None) -> bool:
    """Join or start Ray (nothing when this process already has); True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
                 **(init_args or {}))
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ClusterError(f"cannot join the Ray cluster at {address or os.environ.get('RAY_ADDRESS', 'a new local one')}: {e}",
                           "start one with `ray start --head`, or leave out --ray-address to start a local one") from e
    return True


def placement(workers: int | None, device: str) -> tuple[int, dict[str, float], str]:
    """(actors, resources per actor, device) for this cluster: a GPU each where it has GPUs (unless
    ``device`` says cpu), else the CPUs shared out."""
    import ray

    have = ray.cluster_resources()
    gpus, cpus = int(have.get("GPU", 0)), max(1, int(have.get("CPU", 1)))
    if workers is not None and workers < 1:
        raise UsageError(f"--ray-workers {workers}: expected 1 or more")
    if gpus and device in ("auto", "cuda"):
        return workers or gpus, {"num_gpus": 1, "num_cpus": 1}, "cuda"
    n = workers or cpus
    return n, {"num_cpus": max(1, cpus // n)}, "cpu" if device in ("auto", "cuda") else device


def iter_dataset(inputs: list[str], output: str | Path | None = None, *, naming: NamingOptions = NamingOptions(),
                 **kwargs: Any) -> Iterator[FileResult]:
    """The results of restoring ``inputs`` on Ray into ``output``, one per input as each finishes
    (settled ones first): ``run_items`` of their ``plan``."""
    return run_items(plan(inputs, output, naming), **kwargs)


def run_items(items: list[Item], *, options: BatchOptions = BatchOptions(), load_args: dict[str, Any] | None = None,
              cluster: ClusterOptions = ClusterOptions(), save_kernel: bool = False,
              made_by: dict[str, Any] | None = None) -> Iterator[FileResult]:
    """The results of the planned ``items`` (``plan.plan``), one per item as each finishes (settled
    ones first); ``made_by`` is filled with the model, device and cluster, for the summary."""
    require_ray()
    import ray
    import ray.data

    settled, todo = settle(items, options)
    yield from settled
    if not todo:
        return
    started = connect(cluster.address, cluster.ray_init)
    ctx = ray.data.DataContext.get_current()
    saved = (ctx.max_errored_blocks, ctx.enable_progress_bars, ctx.print_on_execution_start)
    try:
        n, resources, device = placement(cluster.workers, (load_args or {}).get("device", "auto"))
        ctx.max_errored_blocks, ctx.enable_progress_bars, ctx.print_on_execution_start = -1, False, False
        args = {**(load_args or {}), "device": device}
        ledger = ray.remote(num_cpus=0)(Ledger).remote(cluster.retries)
        ds = ray.data.from_items([{"src": i.src, "dest": i.dest} for i in todo], override_num_blocks=len(todo))
        out = ds.map_batches(Worker, batch_size=1, compute=ray.data.ActorPoolStrategy(size=n), batch_format="numpy",
                             fn_constructor_kwargs=dict(load_args=args, opts=options, ledger=ledger, retries=cluster.retries,
                                                        save_kernel=save_kernel, cwd=os.getcwd()), **resources)
        if made_by is not None:
            made_by["cluster"] = {"address": cluster.address or os.environ.get("RAY_ADDRESS") or "local", "workers": n}
        seen: set[tuple[str, str]] = set()
        for row in out.iter_rows():
            key = (str(row["src"]), str(row["dest"]))
            if key in seen:  # never counted twice, whatever was retried
                continue
            seen.add(key)
            if made_by is not None and "model" not in made_by and json.loads(row["info"]):
                made_by.update(json.loads(row["info"]))
            yield _result(row)
        for i in todo:  # a block Ray gave up on (its rows are dropped): still one result per input
            if (i.src, str(i.dest)) not in seen:
                yield FileResult(i.src, i.dest, "failed", "lost by the cluster (see the Ray logs)")
    finally:
        ctx.max_errored_blocks, ctx.enable_progress_bars, ctx.print_on_execution_start = saved
        for folder in {Path(i.dest).parent for i in todo if i.dest is not None and not is_uri(i.dest)}:
            clean_stale_parts(folder, min_age=0.0)  # what a killed worker left, hidden: gone now
        if started:
            ray.shutdown()


def restore_dataset(inputs: list[str] | str, output: str | Path | None = None, *, model: str | None = None,
                    suffix: str = "_deblurred", format: str = "same", recursive: bool = False,  # noqa: A002
                    overwrite: bool = False, skip_existing: bool = False, strength: float = 1.0, quality: int = 95,
                    address: str | None = None, workers: int | None = None, **load_args: Any) -> list[FileResult]:
    """Restore photos (files, folders, glob patterns or URIs such as ``s3://bucket/shots/``) on a Ray
    cluster into ``output`` (a folder or URI; default: beside each input), named as `deblur` names them;
    returns one ``FileResult`` per input. ``address``: as ``ClusterOptions``; ``load_args``: the rest of
    ``deblurcli.load``'s arguments (``method``, ``prior``, ``weights``, ``precision``…)."""
    if overwrite and skip_existing:
        raise UsageError("overwrite and skip_existing contradict each other")
    naming = NamingOptions(None, suffix, format, recursive)  # type: ignore[arg-type]
    opts = BatchOptions(overwrite=overwrite, skip_existing=skip_existing, strength=strength, quality=quality)
    return list(iter_dataset([inputs] if isinstance(inputs, str) else list(inputs), output, naming=naming, options=opts,
                             load_args={"model": model, **load_args}, cluster=ClusterOptions(address, workers)))
