"""SHA-256 sidecars: a file that a later job loads is checked to hold the bytes that were written.

Every model, checkpoint, ingredients file, generative model and results table is written by
``disentangle.io`` together with ``<file>.sha256`` in the ``sha256sum`` format
(``"<64 hex>  <basename>\\n"``, so ``cd <folder> && sha256sum -c <file>.sha256`` checks it by
hand). Both are written to temporary files, flushed to disk, then renamed into place, file first.

Loaders read the file's bytes once, check them against the sidecar and only then parse those same
bytes (``read_verified``), so a file changed between the check and the use cannot slip through.
A mismatch (a flipped bit, a truncated copy, a file edited by hand) or a missing sidecar (a file
written by an older version, or a writer killed between the two renames) raises
``IntegrityError`` naming the file and how to rebuild it. There is no fallback that trusts a file
without a sidecar: every loaded file comes from the workflow, which always writes one, and a
rebuilt file is always correct. Only checkpoints are treated differently (``io.load_checkpoint``):
a damaged one is ignored and training starts from scratch, which gives the same weights.

The hash is of the whole file and is computed from what was written to disk, so it also catches
damage that the format itself would not notice (a flipped byte inside a tensor of a torch zip file
loads without complaint).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SUFFIX = ".sha256"
REBUILD = "delete it and rerun snakemake to rebuild it"


class IntegrityError(Exception):
    """A file does not hold the bytes its writer recorded (or the record is missing)."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}; {REBUILD}")


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where the SHA-256 of ``path`` is recorded: ``<path>.sha256``."""
    return Path(f"{os.fspath(path)}{SUFFIX}")


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (64 hex characters), read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sidecar_line(digest: str, name: str) -> str:
    """One ``sha256sum`` line: the digest, two spaces, the file's base name."""
    return f"{digest}  {name}\n"


def expected_digest(path: str | os.PathLike) -> str:
    """The digest recorded for ``path``; ``IntegrityError`` if the sidecar is missing or unreadable.

    Only the digest is used: the name in the line is there for ``sha256sum -c``, so a file renamed
    together with its sidecar still verifies.
    """
    side = sidecar_path(path)
    try:
        text = side.read_text(encoding="ascii")
    except FileNotFoundError:
        raise IntegrityError(
            path,
            f"no SHA-256 sidecar {side.name} (written by an older version, or its writer was "
            "interrupted)",
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise IntegrityError(path, f"unreadable SHA-256 sidecar {side.name} ({err})") from None
    digest = text.split(" ", 1)[0].strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise IntegrityError(path, f"malformed SHA-256 sidecar {side.name}")
    return digest


def _mismatch(path: str | os.PathLike) -> IntegrityError:
    return IntegrityError(
        path, "SHA-256 mismatch (file changed, truncated or corrupted since it was written)"
    )


def verify(path: str | os.PathLike) -> str:
    """Check ``path`` against its sidecar without keeping its bytes; returns the digest.

    Raises ``FileNotFoundError`` if the file is missing and ``IntegrityError`` if its sidecar is
    missing or the bytes differ from what was written.
    """
    actual = sha256_file(path)  # first, so that a missing file reads as FileNotFoundError
    expected = expected_digest(path)
    if actual != expected:
        raise _mismatch(path)
    return expected


def read_verified(path: str | os.PathLike) -> tuple[bytes, str]:
    """The bytes of ``path`` and their digest, after checking them against the sidecar.

    Read once: the caller parses exactly the bytes that were checked.
    """
    data = Path(path).read_bytes()
    expected = expected_digest(path)
    if hashlib.sha256(data).hexdigest() != expected:
        raise _mismatch(path)
    return data, expected
