"""Where a run lives: a local (or NFS) directory, or an ``s3://`` / ``gs://`` URI through pyarrow.fs.

Ray Tune writes its experiment state and checkpoints through pyarrow's filesystems
itself; ``RunLocation`` gives curriclip's own files (experiment.yaml, run.json, the
Parquet exports and report.html) the same route. Exports and the report are rendered
in a local staging directory (the run directory itself when it is local) and uploaded.
Credentials and endpoints come from the usual environment (``AWS_*``,
``AWS_ENDPOINT_URL`` for S3-compatible servers, Google's application credentials).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pyarrow.fs as pafs

from curriclip.errors import CurriclipError
from curriclip.rundir.atomic import atomic_bytes


def is_uri(location: str) -> bool:
    return "://" in location


def join(root: str, name: str) -> str:
    return f"{root.rstrip('/')}/{name}" if is_uri(root) else str(Path(root).expanduser().resolve() / name)


class RunLocation:
    def __init__(self, location: str | Path) -> None:
        text = str(location)
        self.remote = is_uri(text)
        if self.remote:
            try:
                self.fs, self.path = pafs.FileSystem.from_uri(text)
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad URIs
                raise CurriclipError(f"{text}: cannot open storage ({exc})") from None
            self.uri = text.rstrip("/")
        else:
            self.fs = pafs.LocalFileSystem()
            self.path = str(Path(text).expanduser().resolve())
            self.uri = self.path

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[0]

    def _p(self, rel: str) -> str:
        return f"{self.path}/{rel}" if rel else self.path

    def exists(self, rel: str = "") -> bool:
        return self.fs.get_file_info(self._p(rel)).type != pafs.FileType.NotFound

    def has_entries(self) -> bool:
        if not self.exists():
            return False
        return bool(self.fs.get_file_info(pafs.FileSelector(self.path, allow_not_found=True)))

    def read_text(self, rel: str) -> str:
        with self.fs.open_input_stream(self._p(rel)) as f:
            return f.read().decode("utf-8", errors="replace")

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Atomic on a local disk (temp name, then rename); a single PUT on object stores."""
        if self.remote:
            with self.fs.open_output_stream(self._p(rel)) as f:
                f.write(data)
            return
        target = Path(self._p(rel))
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_bytes(target, data)

    def write_text(self, rel: str, text: str) -> None:
        self.write_bytes(rel, text.encode("utf-8"))

    @property
    def writable(self) -> bool:
        """Whether curriclip can write here (a local run on a read-only share cannot; object stores are tried)."""
        return self.remote or os.access(self.path, os.W_OK | os.X_OK)

    def require_writable(self, what: str) -> None:
        """Refuse, before any work, a command that must write into a read-only run directory."""
        if self.exists() and not self.writable:
            raise CurriclipError(f"{self.uri}: the run directory is not writable ({what} writes into it)")

    def staging(self) -> Path:
        """A local directory holding this run's small files (the run directory itself when local and writable)."""
        if not self.remote and self.writable:
            return Path(self.path)
        from curriclip.data.sources import cache_dir

        key = hashlib.sha256(self.uri.encode()).hexdigest()[:16]
        path = cache_dir() / "remote-runs" / f"{self.name}-{key}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def upload(self, names: list[str]) -> None:
        """Copy files from the staging directory to the run location (no-op when local)."""
        if not self.remote:
            return
        staging = self.staging()
        for name in names:
            if (staging / name).is_file():
                self.write_bytes(name, (staging / name).read_bytes())


#: Ray Tune experiments of the confirm phase: ``confirm-<n>`` inside the run directory.
CONFIRM_PATTERN = re.compile(r"^confirm-(\d+)$")


def confirm_dirs(run: RunLocation) -> list[str]:
    """The names of a run's confirm-phase experiments, in the order they were started."""
    selector = pafs.FileSelector(run.path, allow_not_found=True)
    names = [
        info.base_name
        for info in run.fs.get_file_info(selector)
        if info.type == pafs.FileType.Directory and CONFIRM_PATTERN.match(info.base_name)
    ]
    return sorted(names, key=lambda name: int(CONFIRM_PATTERN.match(name).group(1)))
