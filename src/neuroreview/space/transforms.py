"""MNI <-> Talairach coordinate transforms.

Meta-analyses pool foci reported in two coordinate conventions, so every focus must be brought
into one space before kernels are placed. Which correction is "right" depends on how the study
normalised its images, hence several methods:

* Lancaster et al. (2007) icbm2tal, fitted separately for images normalised with SPM, with FSL,
  and for the pooled data ("other"). The pooled fit is the default because NiMARE and GingerALE
  use it, so our converted foci match theirs.
* Brett's mni2tal (1999): piecewise linear, with a smaller vertical zoom below the AC. Kept for
  reproducing older meta-analyses that used it.

Every inverse is exact (a true matrix inverse, not a separately fitted transform), so a round
trip returns the input to floating-point precision; foci therefore never drift when a dataset is
converted back and forth.

References
----------
Lancaster JL et al. (2007) Bias between MNI and Talairach coordinates analyzed using the
ICBM-152 brain template. Hum Brain Mapp 28:1194-1205. doi:10.1002/hbm.20345
Brett M et al. (2002) The problem of functional localization in the human brain. Nat Rev
Neurosci 3:243-249; mni2tal.m / tal2mni.m (MRC CBU, 1999-2001).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuroreview.model.enums import Space

__all__ = [
    "DEFAULT_METHOD",
    "TransformMethod",
    "convert",
    "mni_to_tal",
    "tal_to_mni",
]


class TransformMethod(StrEnum):
    """The MNI <-> Talairach corrections on offer, named by what normalised the source images."""

    LANCASTER_SPM = "lancaster_spm"
    LANCASTER_FSL = "lancaster_fsl"
    LANCASTER_POOLED = "lancaster_pooled"
    BRETT = "brett"


DEFAULT_METHOD = TransformMethod.LANCASTER_POOLED


def _frozen(values: list[list[float]]) -> NDArray[np.float64]:
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


# Lancaster et al. 2007 icbm2tal, MNI -> Talairach, as distributed by BrainMap (ric.uthscsa.edu,
# 3/14/07) in icbm_spm2tal.m, icbm_fsl2tal.m and icbm_other2tal.m. They act on column vectors
# [x, y, z, 1].
_ICBM2TAL = {
    TransformMethod.LANCASTER_SPM: _frozen(
        [
            [0.9254, 0.0024, -0.0118, -1.0207],
            [-0.0048, 0.9316, -0.0871, -1.7667],
            [0.0152, 0.0883, 0.8924, 4.0926],
            [0.0, 0.0, 0.0, 1.0],
        ]
    ),
    TransformMethod.LANCASTER_FSL: _frozen(
        [
            [0.9464, 0.0034, -0.0026, -1.0680],
            [-0.0083, 0.9479, -0.0580, -1.0239],
            [0.0053, 0.0617, 0.9010, 3.1883],
            [0.0, 0.0, 0.0, 1.0],
        ]
    ),
    TransformMethod.LANCASTER_POOLED: _frozen(
        [
            [0.9357, 0.0029, -0.0072, -1.0423],
            [-0.0065, 0.9396, -0.0726, -1.3940],
            [0.0103, 0.0752, 0.8967, 3.6475],
            [0.0, 0.0, 0.0, 1.0],
        ]
    ),
}
_TAL2ICBM = {method: np.linalg.inv(matrix) for method, matrix in _ICBM2TAL.items()}

# Brett's mni2tal is spm_matrix([0 0 0 0.05 0 0 0.99 0.97 zoom_z]): zoom first, then a 0.05 rad
# pitch about x. Keeping the two factors apart (rather than the 4-decimal products often quoted:
# 0.9688, 0.0460, -0.0485, 0.9189 / 0.0420, 0.8390) reproduces mni2tal.m exactly and makes the
# inverse exact too: the zoom preserves the sign of z, so un-rotating a Talairach point tells
# which side of the AC its MNI pre-image lies on.
_BRETT_PITCH_RAD = 0.05
_BRETT_ROTATION = _frozen(
    [
        [1.0, 0.0, 0.0],
        [0.0, np.cos(_BRETT_PITCH_RAD), np.sin(_BRETT_PITCH_RAD)],
        [0.0, -np.sin(_BRETT_PITCH_RAD), np.cos(_BRETT_PITCH_RAD)],
    ]
)
_BRETT_ZOOM_ABOVE_AC = np.array([0.99, 0.97, 0.92])
_BRETT_ZOOM_BELOW_AC = np.array([0.99, 0.97, 0.84])


def _as_points(xyz: ArrayLike) -> tuple[NDArray[np.float64], bool]:
    """Return points as a fresh (n, 3) float array, and whether a single (3,) point was given.

    One entry point for both shapes keeps callers from reshaping, and the copy guarantees no
    transform ever writes into the caller's array.
    """
    points = np.array(xyz, dtype=np.float64)
    if points.shape == (3,):
        return points[np.newaxis, :], True
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(
            f"coordinates must be a single (3,) point or an (n, 3) array, got shape {points.shape}"
        )
    return points, False


def _restore_shape(points: NDArray[np.float64], single: bool) -> NDArray[np.float64]:
    return points[0] if single else points


def _parse_method(method: TransformMethod | str) -> TransformMethod:
    try:
        return TransformMethod(method)
    except ValueError:
        options = ", ".join(repr(m.value) for m in TransformMethod)
        raise ValueError(
            f"unknown transform method {method!r} (expected one of: {options})"
        ) from None


def _apply_affine(matrix: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def _brett_mni_to_tal(points: NDArray[np.float64]) -> NDArray[np.float64]:
    above_ac = points[:, 2:3] >= 0
    zoomed = points * np.where(above_ac, _BRETT_ZOOM_ABOVE_AC, _BRETT_ZOOM_BELOW_AC)
    return zoomed @ _BRETT_ROTATION.T


def _brett_tal_to_mni(points: NDArray[np.float64]) -> NDArray[np.float64]:
    # A rotation's inverse is its transpose; after un-rotating, the z sign equals the MNI z sign.
    zoomed = points @ _BRETT_ROTATION
    above_ac = zoomed[:, 2:3] >= 0
    return zoomed / np.where(above_ac, _BRETT_ZOOM_ABOVE_AC, _BRETT_ZOOM_BELOW_AC)


def mni_to_tal(
    xyz: ArrayLike, method: TransformMethod | str = DEFAULT_METHOD
) -> NDArray[np.float64]:
    """Convert MNI coordinates (mm) to Talairach coordinates (mm).

    Accepts one (3,) point or an (n, 3) array and returns the same shape, so a single focus and a
    whole table go through the same call. Choose ``lancaster_spm`` or ``lancaster_fsl`` when the
    study says which package normalised its images; otherwise keep the pooled default.
    """
    points, single = _as_points(xyz)
    chosen = _parse_method(method)
    if chosen is TransformMethod.BRETT:
        converted = _brett_mni_to_tal(points)
    else:
        converted = _apply_affine(_ICBM2TAL[chosen], points)
    return _restore_shape(converted, single)


def tal_to_mni(
    xyz: ArrayLike, method: TransformMethod | str = DEFAULT_METHOD
) -> NDArray[np.float64]:
    """Convert Talairach coordinates (mm) to MNI coordinates (mm): the exact inverse of
    :func:`mni_to_tal` with the same ``method``.

    For Talairach-reported studies pick the method matching how the other (MNI) studies will be
    converted; the default pooled Lancaster transform is what NiMARE and GingerALE apply.
    """
    points, single = _as_points(xyz)
    chosen = _parse_method(method)
    if chosen is TransformMethod.BRETT:
        converted = _brett_tal_to_mni(points)
    else:
        converted = _apply_affine(_TAL2ICBM[chosen], points)
    return _restore_shape(converted, single)


def convert(
    xyz: ArrayLike,
    source: Space | str,
    target: Space | str,
    method: TransformMethod | str = DEFAULT_METHOD,
) -> NDArray[np.float64]:
    """Bring coordinates from ``source`` space into ``target`` space.

    Lets callers hold a study's declared space and the analysis space without branching on them.
    Same-space calls return a copy, so the result can always be modified freely. An unknown space
    is refused rather than guessed: silently treating Talairach foci as MNI shifts them by up to
    a centimetre, and that choice belongs to the reviewer.
    """
    source_space, target_space = Space.parse(source), Space.parse(target)
    if Space.UNKNOWN in (source_space, target_space):
        raise ValueError(
            "Cannot convert coordinates to or from an UNKNOWN space; record whether the study "
            "reported MNI or Talairach coordinates before converting them."
        )
    chosen = _parse_method(method)
    if source_space is target_space:
        points, single = _as_points(xyz)
        return _restore_shape(points, single)
    if source_space is Space.MNI:
        return mni_to_tal(xyz, chosen)
    return tal_to_mni(xyz, chosen)
