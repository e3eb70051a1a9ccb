"""Continuous decoding: how much a whole-brain map looks like each topic's meta-analytic map.

The decoding Neurosynth and NeuroVault show for an unthresholded map, and NiMARE's
``CorrelationDecoder``: the Pearson correlation, across the voxels of the brain mask, between the
map and each topic's MKDA chi-squared *association* z map (the map of where studies about the
topic report activation more often than studies about other topics; see
:mod:`neuroreview.decode.topic_maps`). The association map rather than the uniformity map,
because the uniformity map mostly shows where any study activates, and every topic would then
look alike.

Voxels where the input map has no value (NaN, or outside the image it was resampled from) are
left out of every correlation; zeros are kept, as a thresholded map's zeros mean "no effect".
A correlation is a similarity of spatial patterns, not a test: with 228,483 spatially
autocorrelated voxels there is no meaningful p value, so the table ranks and reports r alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from neuroreview.decode.labels import topic_label
from neuroreview.errors import NeuroreviewError

if TYPE_CHECKING:
    from neuroreview.decode.topic_maps import TopicMaps

__all__ = ["COLUMNS", "ContinuousDecoding", "MapDecodingError", "correlate_rows", "decode_map"]

COLUMNS = ("rank", "topic", "label", "kind", "r")


class MapDecodingError(NeuroreviewError, ValueError):
    """The map cannot be correlated (wrong shape, no values in the mask, or constant)."""


@dataclass(frozen=True, eq=False)
class ContinuousDecoding:
    """The ranked topic table, and how many mask voxels the correlations used."""

    table: pd.DataFrame
    n_voxels: int


def correlate_rows(
    x: NDArray[np.floating],
    rows: NDArray[np.floating],
    columns: NDArray[np.bool_] | None = None,
    block: int = 8,
) -> NDArray[np.float64]:
    """Pearson r between vector ``x`` (n,) and each row of ``rows`` (m, n), in float64.

    With ``columns`` (a boolean mask over the rows' columns, n true), only those columns of
    ``rows`` are correlated with ``x``.

    Centred first and then multiplied, rather than through sums of squares, so float32 maps with
    large means lose no precision to cancellation. Rows are taken ``block`` at a time, so the
    float64 working copy is a few megabytes rather than the whole (50, 228,483) matrix, which
    also halves the time.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean()
    x_norm = np.linalg.norm(x)
    rows = np.asarray(rows)
    r = np.empty(rows.shape[0], dtype=np.float64)
    for start in range(0, rows.shape[0], block):
        chunk = rows[start : start + block]
        centred = (chunk if columns is None else chunk[:, columns]).astype(np.float64)
        centred -= centred.mean(axis=1, keepdims=True)
        norms = np.sqrt(np.einsum("ij,ij->i", centred, centred))
        with np.errstate(divide="ignore", invalid="ignore"):
            r[start : start + block] = (centred @ x) / (norms * x_norm)
    return r


def decode_map(values: NDArray[np.floating], maps: TopicMaps | None = None) -> ContinuousDecoding:
    """Correlate a map on the topic maps' grid (a 3-D array) with every topic map.

    ``maps`` defaults to the shipped topic maps (:func:`neuroreview.decode.topic_maps.
    load_topic_maps`).
    """
    if maps is None:
        from neuroreview.decode.topic_maps import load_topic_maps

        maps = load_topic_maps()
    volume = np.asarray(values, dtype=np.float64)
    grid_shape = maps.space.grid.shape
    if volume.shape != grid_shape:
        raise MapDecodingError(f"the map has shape {volume.shape}; the grid is {grid_shape}")
    in_mask = volume[maps.space.mask]
    usable = np.isfinite(in_mask)
    n_usable = int(usable.sum())
    if n_usable < 3:
        raise MapDecodingError("the map has no values inside the brain mask")
    x = in_mask[usable]
    if np.ptp(x) == 0:
        raise MapDecodingError(f"the map is constant ({x[0]:g}) over the brain mask")
    r = correlate_rows(x, maps.z, None if n_usable == usable.size else usable)
    labels = [topic_label(t) for t in maps.topic_ids]
    table = pd.DataFrame(
        {
            "topic": list(maps.topic_ids),
            "label": [label.label for label in labels],
            "kind": [label.kind for label in labels],
            "r": r,
        }
    )
    table = table.sort_values(
        ["r", "topic"], ascending=[False, True], kind="mergesort", ignore_index=True
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return ContinuousDecoding(table=table[list(COLUMNS)], n_voxels=n_usable)
