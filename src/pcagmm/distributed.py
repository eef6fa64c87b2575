"""Dask arrays and clusters for pcagmm: what a user of the Dask path imports.

The driver itself lives in :mod:`pcagmm.rows.dask`; see there for how a fit runs
on the workers. Dask is optional (``pip install 'pcagmm[dask]'``) and imported only
when one of these is used.
"""

from .rows.dask import DaskError, as_dask_array, connect, fewer_blocks, from_memmap, persist

__all__ = ["DaskError", "as_dask_array", "connect", "fewer_blocks", "from_memmap", "persist"]
