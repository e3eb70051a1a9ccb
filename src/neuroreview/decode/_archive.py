"""A ``.npz`` archive whose bytes depend only on the arrays in it.

``numpy.savez_compressed`` stamps each member with the current time, so two builds of the same
maps differ byte for byte and a file hash cannot confirm a rebuild. Here members are written in
the order given, with a fixed 1980-01-01 timestamp and fixed permissions, and compressed with
LZMA (numpy's ``np.load`` reads it: ``zipfile`` decompresses LZMA members transparently). LZMA
makes the shipped activation counts a quarter smaller than deflate does.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

_EPOCH = (1980, 1, 1, 0, 0, 0)


def array_sha256(array: NDArray) -> str:
    """sha256 of an array's C-order bytes, its dtype and shape: a hash of the values, not the file.

    The compressed file's bytes depend on the compressor's version; the values do not.
    """
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def npz_bytes(arrays: Mapping[str, NDArray]) -> bytes:
    """The archive as bytes: one ``<name>.npy`` member per array, in the mapping's order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_LZMA
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the building machine is
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()
