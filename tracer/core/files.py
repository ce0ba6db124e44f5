"""Files a person asked for (``--output``, ``--export``): whole or not at all, private.

An export is written to a temporary file in the destination's folder, then
renamed over the destination: a missing folder, a destination that is a
folder, a full disk or a writer that fails leaves no half-written file, only
one French line (``UserError``). Exports hold personal data or published
figures: they are created 0600, whatever the umask.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tracer.core.errors import UserError


def _refusal(path: Path, exc: OSError) -> UserError:
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return UserError(f"écriture impossible : {path} est un dossier, donnez un nom de fichier")
    if isinstance(exc, FileNotFoundError) or not path.parent.is_dir():
        return UserError(f"écriture impossible : le dossier {path.parent} n'existe pas")
    if isinstance(exc, PermissionError):
        return UserError(f"écriture impossible : permission refusée pour {path}")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return UserError(f"écriture impossible : disque plein, {path} n'a pas été écrit")
    return UserError(f"écriture impossible de {path} : {exc.strerror or exc.__class__.__name__}")


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``target``; renamed over it when the block succeeds."""
    path = Path(target)
    if path.is_dir():
        raise _refusal(path, IsADirectoryError(errno.EISDIR, "is a directory"))
    try:
        fd, name = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise _refusal(path, exc) from None
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _refusal(path, exc) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as temp:
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())


def write_text(target: str | os.PathLike, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_with(target: str | os.PathLike, writer: Callable[[io.BytesIO], None]) -> None:
    """``writer(out)`` writes the file into memory (a workbook's ``save`` takes a
    file object), then it is written as above: a full disk fails in one place,
    never half-way inside a library that leaves its file open."""
    out = io.BytesIO()
    writer(out)
    write_bytes(target, out.getvalue())
