"""Batches on a Ray cluster (`deblur shots/ -o out/ --ray`, PyPI extra ``deblurcli[cluster]``)::

    from deblurcli.ray import restore_dataset
    results = restore_dataset("s3://bucket/shots/", "s3://bucket/sharp/", address="auto")

Ray is imported only when a pipeline runs; this package imports without it."""

from .pipeline import ClusterOptions, iter_dataset, restore_dataset

__all__ = ["ClusterOptions", "iter_dataset", "restore_dataset"]
