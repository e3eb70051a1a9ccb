"""Reading a file's text for a reader, so every reader reports missing files and bad bytes alike."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from neuroreview.errors import InputError


def read_text(path: str | Path) -> str:
    """The file's text decoded as UTF-8 (a BOM is allowed; ``.gz`` files are decompressed).

    A byte sequence that is not UTF-8 becomes an InputError naming the line it sits on, because
    "bad encoding" is a user's problem to fix in the file, not a traceback.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path) from None
    except OSError as error:
        raise InputError(f"cannot be read ({error.strerror})", path) from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise InputError(f"is not a valid gzip file ({error})", path) from None
    return decode_text(raw, path)


def decode_text(raw: bytes, source: str | Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise InputError(
            f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save it as UTF-8 and try again",
            source,
            line,
        ) from None


def split_lines(text: str) -> list[str]:
    """Lines without their endings, accepting \\n, \\r\\n and old Mac \\r files."""
    # Not str.splitlines(): it also breaks at form feeds and Unicode separators, and the line
    # numbers in our messages must match what an editor shows.
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines
