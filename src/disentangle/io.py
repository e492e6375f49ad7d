"""Atomic, checksummed writes and verifying reads.

A final artefact either exists complete or not at all: it is written to a temporary file beside
its path, flushed to disk and renamed into place. Files that later jobs load (torch files and
parquet tables) also get a ``<file>.sha256`` sidecar (``disentangle.integrity``), and are read
back only through ``load_torch`` / ``read_parquet``, which check the bytes first. torch files are
loaded with ``weights_only=True``: they hold tensors and plain Python data only, so loading a
file can never run code, whatever is in it.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from disentangle.integrity import (
    IntegrityError,
    read_verified,
    sha256_file,
    sidecar_line,
    sidecar_path,
)


def _temp_beside(path: Path) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return tmp


def _settle(tmp: str) -> None:
    """Give ``tmp`` normal permissions (mkstemp creates 0600) and flush it to disk, so that a
    crash after the rename cannot leave an empty or partial file under the final name."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make the renames durable; best effort (not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(
    path: str | os.PathLike, write: Callable[[str], Any], checksum: bool = False
) -> str | None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    With ``checksum``, also write ``<path>.sha256`` the same way, right after the file, and return
    the digest. Both temporary files are complete and on disk before either rename, so the window
    in which the file is new and its sidecar is not is two renames long; a reader that falls into
    it sees a mismatch, never unchecked data.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    side_tmp = None
    try:
        write(tmp)
        _settle(tmp)
        digest = None
        if checksum:
            digest = sha256_file(tmp)
            side_tmp = _temp_beside(path)
            Path(side_tmp).write_text(sidecar_line(digest, path.name), encoding="ascii")
            _settle(side_tmp)
        os.replace(tmp, path)
        if side_tmp is not None:
            os.replace(side_tmp, sidecar_path(path))
        _fsync_dir(path.parent)
        return digest
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        if side_tmp is not None:
            Path(side_tmp).unlink(missing_ok=True)
        raise


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> str:
    """``torch.save`` atomically, with a SHA-256 sidecar; returns the digest.

    ``obj`` must load with ``weights_only=True`` (tensors, dicts, lists, tuples, str, numbers,
    bools, None): ``load_torch`` refuses anything else.
    """
    import torch  # here, not at the top: the panel notebooks write files without torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp), checksum=True)


def atomic_parquet(df, path: str | os.PathLike) -> str:
    """Write a pandas DataFrame as parquet, atomically, with a SHA-256 sidecar."""
    return atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False), checksum=True)


def unlink(path: str | os.PathLike) -> None:
    """Remove a file and its SHA-256 sidecar (either may be missing)."""
    Path(path).unlink(missing_ok=True)
    sidecar_path(path).unlink(missing_ok=True)


def load_torch(path: str | os.PathLike, with_digest: bool = False) -> Any:
    """A torch file written by ``atomic_torch_save``: checked against its sidecar, then loaded
    onto the CPU with ``weights_only=True``; with ``with_digest``, ``(obj, sha256)``.

    Raises ``IntegrityError`` for a damaged file, a missing sidecar, or a file that holds Python
    objects other than tensors and plain data (torch refuses to unpickle them, so no code runs).
    """
    import torch

    data, digest = read_verified(path)
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:
        raise IntegrityError(
            path,
            "refused to load: not a torch file of tensors and plain data "
            f"(torch.load with weights_only=True: {_one_line(err)})",
        ) from None
    return (obj, digest) if with_digest else obj


def _one_line(err: Exception) -> str:
    """The informative line of a torch.load error (its messages run over several lines, with a
    generic preamble before the name of the refused object)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or "Unsupported" in line:
            return line[:300]
    return (lines[0][:300] if lines else "") or type(err).__name__


def read_parquet(path: str | os.PathLike, **kwargs):
    """A parquet table written by ``atomic_parquet``, checked against its sidecar first.
    ``kwargs`` go to ``pandas.read_parquet`` (``columns=...``)."""
    import pandas as pd

    data, _ = read_verified(path)
    return pd.read_parquet(io.BytesIO(data), **kwargs)


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex, 16 characters)."""
    return sha256_file(path)[:16]


def load_checkpoint(path: str | os.PathLike, guard: str, fmt: str, log) -> dict | None:
    """A checkpoint to resume from, or None to start afresh.

    Starting afresh is always safe: training is deterministic, so a fresh run ends with the
    weights an uninterrupted run would have, while resuming from a damaged checkpoint would
    silently change them. Hence a checkpoint that is damaged (SHA-256 mismatch, truncated), has
    no sidecar, does not load as tensors and plain data, is of another format, or was written for
    other settings (``guard`` differs) is ignored, with one log line naming it.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        ckpt = load_torch(path)
    except IntegrityError as err:
        log(f"checkpoint {path} is unreadable ({err.reason}); starting afresh from step 0")
        return None
    except Exception as err:  # unreadable for another reason (permissions, I/O): start clean
        log(f"checkpoint {path} is unreadable ({type(err).__name__}: {err}); starting afresh")
        return None
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        log(f"checkpoint {path} has an unknown format; starting afresh")
        return None
    if ckpt.get("guard") != guard:
        log(
            f"checkpoint {path} belongs to other settings ({ckpt.get('guard')} != {guard}); "
            "starting afresh"
        )
        return None
    return ckpt
