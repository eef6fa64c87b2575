"""The figures the user guide (README.md until issue 29) and BENCHMARKS.md give of pcagmm's
design, against the code that has them (issue 17). What each figure does is tested where
the behaviour is (the large-data start, the hierarchical subset, page release, the Dask
tree); these say the documents name the values the code uses."""

from __future__ import annotations

import numpy as np

from pcagmm import settings


def test_timeouts_the_readme_gives_as_defaults():
    assert settings.HTTP_TIMEOUT == (5.0, 30.0)  # "default 5 to connect, 30 to read"
    assert settings.DASK_TIMEOUT == "10s"  # "(default `10s`)"


def test_the_exact_uint8_scatter_blocks():
    """README: rows shifted by 128 are multiplied in float32 blocks of 1,024 rows, whose
    sums float32 holds exactly."""
    from pcagmm.decomposition.scatter import EXACT_UINT8_BLOCK

    assert EXACT_UINT8_BLOCK == 1024
    largest = EXACT_UINT8_BLOCK * 128 * 128  # |row - 128| <= 128, a block's sum of products
    assert largest <= 2**24  # every integer up to 2**24 is a float32
    assert np.float32(largest) == largest and np.float32(largest - 1) == largest - 1


def test_the_large_data_start():
    """README: above a million rows, k-means on a 200,000-row sample."""
    from pcagmm.mixture import initialization

    assert initialization.KMEANS_SAMPLE_ABOVE == 1_000_000
    assert initialization.KMEANS_SAMPLE_ROWS == 200_000


def test_the_hierarchical_subset():
    """README: a random subset of at most 2,000 rows (mclust's default)."""
    from pcagmm.mixture.hierarchical import HIERARCHICAL_MAX_ROWS

    assert HIERARCHICAL_MAX_ROWS == 2000


def test_the_dask_blocks_and_tree():
    """README: sums added 8 at a time, the projection merged into 8 MiB blocks;
    BENCHMARKS: each 64 MiB block of the file is one task."""
    import inspect

    from pcagmm.rows import dask as rows_dask

    assert rows_dask.SPLIT_EVERY == 8
    assert inspect.signature(rows_dask.fewer_blocks).parameters["block_bytes"].default == 8 << 20
    assert rows_dask.DEFAULT_BLOCK_BYTES == 64 << 20


def test_memory_maps_released_from_256_mib():
    """BENCHMARKS: memory maps of 256 MiB and more have their pages released."""
    from pcagmm.rows.chunks import RELEASE_MAPS_FROM_BYTES

    assert RELEASE_MAPS_FROM_BYTES == 256 << 20


def test_one_byte_a_row_up_to_256_clusters():
    """README: each row's cluster comes to the client as one byte up to 256 clusters (the
    run's clusters are stored in the smallest type that holds K - 1)."""
    assert np.min_scalar_type(256 - 1) == np.uint8
    assert np.min_scalar_type(257 - 1).itemsize == 2


def test_the_pca_sums_of_784_features():
    """README: a PCA pass sends count, column sums and scatter matrix: 4.9 MB at 784."""
    from pcagmm.decomposition.scatter import scatter_sums

    sums = scatter_sums(np.random.default_rng(0).integers(0, 256, (3, 784), np.uint8))
    size = sum(np.asarray(part).nbytes for part in (sums.n, sums.shift, sums.linear, sums.scatter))
    assert sums.scatter.shape == (784, 784)
    assert round(size / 1e6, 1) == 4.9


def test_the_umap_settings_the_readme_gives():
    """README (--reducer umap): PCA to 50 first; 30 neighbours, min_dist 0; above 100,000
    rows a uniform sample of 100,000, the rest placed in chunks of 16,384; 10 starts;
    exact neighbours up to 2e9 row pairs."""
    import inspect

    from pcagmm.reducers import placement
    from pcagmm.reducers import umap as umap_stage
    from pcagmm.workflow import config

    defaults = inspect.signature(umap_stage.UMAP).parameters
    assert defaults["pca_components"].default == 50
    assert defaults["n_neighbors"].default == 30 and defaults["min_dist"].default == 0.0
    assert umap_stage.SAMPLE_ROWS == 100_000 and umap_stage.PLACE_ROWS == 16_384
    assert placement.EXACT_PAIRS == 2_000_000_000
    run = config.RunConfig("digits", reducer="umap")
    assert (run.umap_neighbors, run.umap_min_dist, run.n_init) == (30, 0.0, 10)
    assert config.RunConfig("digits").n_init == 1


def test_the_image_folder_reads_the_guide_names():
    """docs/site/guide/images.md: a chunk of 256 files at a time; RELIABILITY.md: a read
    whose entry a newer version replaced lists the folder again, up to three reads."""
    from pcagmm.datasets import images

    assert images.CHUNK_FILES == 256
    assert images.READ_ATTEMPTS == 3
