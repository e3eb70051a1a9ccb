"""The files of one run folder, as a run writes them and as its report reads them.

A run's later steps (the report above all) need what its earlier steps wrote. Reading those
files back from disk would make the folder the interface between steps, with every reader
guessing at a writer's format. Instead every file a run writes goes through :class:`RunFiles`,
which writes it whole (write-then-rename) and keeps what it wrote: a later step asks for a
file by its name in :mod:`neuroreview.io.layout` and gets exactly those bytes from memory. A
folder written earlier (``neuroreview report DIR``) is read through the same object from disk,
so a report built during the run and one built later from its folder are the same page.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from neuroreview.errors import InputError
from neuroreview.io.atomic import atomic_path, atomic_paths, atomic_write_text
from neuroreview.model.table import Table


class RunFiles:
    """Writes into ``root`` and reads from it: what was written here from memory, the rest from
    disk. Paths are relative to ``root``, with ``/`` between folders."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._texts: dict[str, str] = {}
        self._images: dict[str, Any] = {}

    def path(self, relative: str) -> Path:
        return self.root / relative

    # --- writing ---------------------------------------------------------------------------

    def write_text(self, relative: str, text: str) -> Path:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, text)
        self._texts[relative] = text
        return target

    def write_bytes(self, relative: str, data: bytes) -> Path:
        """A binary file (a PNG figure), whole or not at all; not kept in memory."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as temporary:
            temporary.write_bytes(data)
        return target

    def write_texts(self, texts: Mapping[str, str]) -> list[Path]:
        """Several files, all or none: each goes to a temporary file first and all are renamed
        into place only when every one is written."""
        targets = [self.path(relative) for relative in texts]
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_paths(targets) as temporaries:
            for temporary, text in zip(temporaries, texts.values(), strict=True):
                temporary.write_text(text, encoding="utf-8", newline="")
        self._texts.update(texts)
        return targets

    def write_json(self, relative: str, document: Mapping[str, Any]) -> Path:
        return self.write_text(relative, json.dumps(document, indent=2, allow_nan=False) + "\n")

    def write_image(self, relative: str, image: Any, keep: bool = False) -> Path:
        """A NIfTI image (``.nii.gz``, the same bytes for the same image); ``keep`` holds it
        for later steps (a map is megabytes: only those a later step reads are kept)."""
        from neuroreview.io.maps import nifti_gz

        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as temporary:
            temporary.write_bytes(nifti_gz(image))
        if keep:
            self._images[relative] = image
        return target

    # --- reading ---------------------------------------------------------------------------

    def exists(self, relative: str) -> bool:
        return relative in self._texts or relative in self._images or self.path(relative).is_file()

    def _need(self, relative: str) -> Path:
        path = self.path(relative)
        if not path.is_file():
            raise InputError("not found; give a folder written by `neuroreview run`", source=path)
        return path

    def text(self, relative: str) -> str:
        if relative in self._texts:
            return self._texts[relative]
        return self._need(relative).read_text(encoding="utf-8")

    def json(self, relative: str) -> dict[str, Any]:
        try:
            return json.loads(self.text(relative))
        except json.JSONDecodeError as error:
            raise InputError(f"not valid JSON: {error}", source=self.path(relative)) from error

    def table(self, relative: str, required: Iterable[str] = ()) -> Table:
        """A TSV as text cells; a missing or ragged file, or one without a ``required`` column,
        is an error naming it."""
        path = self.path(relative)
        rows = list(csv.reader(io.StringIO(self.text(relative), newline=""), delimiter="\t"))
        if not rows:
            raise InputError("empty table; expected a header line", source=path)
        header, body = rows[0], rows[1:]
        missing = [column for column in required if column not in header]
        if missing:
            raise InputError(f"lacks the column(s) {', '.join(missing)} a run writes", source=path)
        for number, row in enumerate(body, start=2):
            if len(row) != len(header):
                raise InputError(f"{len(row)} cells, the header has {len(header)}", path, number)
        return Table(relative, header, body)

    def image(self, relative: str) -> Any:
        """A NIfTI image as written (from memory) or as stored (loaded from disk)."""
        if relative in self._images:
            return self._images[relative]
        import nibabel

        path = self._need(relative)
        try:
            return nibabel.load(path)
        except (OSError, nibabel.filebasedimages.ImageFileError) as error:
            raise InputError(f"cannot read the image: {error}", source=path) from error
