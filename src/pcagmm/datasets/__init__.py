"""Data sets: the built-in registry, sources, file formats and the cache.

``load(name_or_path)`` is the entry point; see :mod:`pcagmm.datasets.loading`.
"""

from .dataset import Dataset
from .export import write_pictures
from .loading import cached_path, fetch, list_datasets, load, load_path, verify
from .registry import BUILTIN, DatasetSpec, get_spec

__all__ = [
    "BUILTIN",
    "Dataset",
    "DatasetSpec",
    "cached_path",
    "fetch",
    "get_spec",
    "list_datasets",
    "load",
    "load_path",
    "verify",
    "write_pictures",
]
