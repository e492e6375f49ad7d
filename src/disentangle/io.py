"""Atomic writes: a final artefact either exists complete or not at all."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it into place."""
    import torch  # here, not at the top: the panel notebooks write files without torch

    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def atomic_parquet(df, path: str | os.PathLike) -> None:
    """Write a pandas DataFrame as parquet, atomically."""
    atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex, 16 characters)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def load_checkpoint(path: str | os.PathLike, guard: str, fmt: str, log) -> dict | None:
    """A checkpoint to resume from, or None to start afresh: missing, unreadable (truncated or
    foreign), of another format, or written for other settings (``guard`` differs)."""
    import torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated or foreign file: start clean rather than crash
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
