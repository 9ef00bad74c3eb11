"""Writing files: atomically, privately, never over a user's file unless asked.

Every file the SDK and the CLI write goes through `write_file`:

- atomically: the bytes go to a temporary file beside the target, which is then renamed
  onto it, so a reader or a crash sees the old file or the new one, never half of one
  (nothing is left at the target when writing fails, e.g. an integrity check raised
  by the iterator of pieces);
- privately when asked (`private=True`): the file is created readable by its owner
  only (0600) before a byte is written, also when it replaces an existing file (a key,
  a salt, a data key, a password);
- never over an existing file unless asked (`overwrite=False`): the rename refuses a
  target that exists, atomically (no window between a check and the write), with one
  line naming the file (a holder secret, an enrollment's salt: losing one loses what
  it proves).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medchain.errors import InvalidInput


def write_file(
    path: str | os.PathLike[str],
    data: bytes | str | Iterable[bytes],
    *,
    private: bool = False,
    overwrite: bool = True,
    durable: bool = False,
    exists_message: str | None = None,
) -> Path:
    """Write `data` (bytes, text as UTF-8, or an iterable of byte pieces, streamed) to
    `path` atomically and return the path. `private`: mode 0600 (else 0666 less the
    umask, as `open` would). `overwrite=False`: refuse an existing file with
    `InvalidInput` ("<path> exists and is not overwritten", or `exists_message`).
    `durable`: fsync the data before the rename (journals a crash must not lose)."""
    target = Path(path)
    if not overwrite and target.exists():  # before any work; the link below is the real check
        raise InvalidInput(exists_message or f"{target} exists and is not overwritten")
    tmp = _temporary(target, 0o600 if private else 0o666)
    try:
        with tmp.open("wb") as handle:
            if isinstance(data, str):
                handle.write(data.encode())
            elif isinstance(data, bytes | bytearray | memoryview):
                handle.write(data)
            else:
                for piece in data:
                    handle.write(piece)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the target exists, unlike a rename
            except FileExistsError:
                raise InvalidInput(
                    exists_message or f"{target} exists and is not overwritten"
                ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_json(
    path: str | os.PathLike[str],
    doc: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = False,
    **options: Any,
) -> Path:
    """`doc` as JSON text with a final newline, through `write_file` and its `options`."""
    return write_file(path, json.dumps(doc, indent=indent, sort_keys=sort_keys) + "\n", **options)


def _temporary(target: Path, mode: int) -> Path:
    """A new, empty file beside `target` created with `mode` (less the umask)."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        except FileExistsError:
            continue
        return tmp
