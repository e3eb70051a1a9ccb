"""Writing the shipped topic-map archive (``tools/build_topic_maps.py``).

The decoder builds the counts' archive bytes and their metadata in memory; writing them is
``io``'s job, done as every output here is: to a temporary file beside the target, then renamed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuroreview.io.atomic import atomic_path, atomic_write_text


def write_archive(
    folder: Path, archive_name: str, data: bytes, metadata_name: str, document: dict[str, Any]
) -> None:
    """Write the archive bytes and its metadata JSON into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / archive_name) as temporary:
        temporary.write_bytes(data)
    text = json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    atomic_write_text(folder / metadata_name, text)
