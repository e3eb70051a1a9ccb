"""Kernels that turn one focus into modelled activation (MA) around it.

ALE's Gaussian width follows the experiment's sample size (Eickhoff et al. 2009, 2012): the
spatial uncertainty of a reported peak is the between-template error (5.7 mm) combined with the
between-subject error (11.6 mm, shrinking with sqrt(n)). Each is a mean Euclidean distance;
dividing by 2*sqrt(2/pi) turns it into a per-axis standard deviation and sqrt(8 ln 2) into a
FWHM. By default the kernel is built exactly as NiMARE's ``get_ale_kernel`` builds it (a unit
impulse in a 31-voxel cube blurred by ``scipy.ndimage.gaussian_filter``, cropped to values above
machine epsilon), so our maps are NiMARE's maps.

NiMARE converts the FWHM to voxels by dividing by ``sqrt(prod(zooms))`` and then applies a
sigma formula with an extra sqrt(2); the two cancel only for 2 mm voxels. At 1 mm its kernel is
41% too wide, at 3 mm 18% too narrow. ``voxel_exact=True`` uses sigma_mm / edge per axis
instead: right at any voxel size, and equal to the default at 2 mm (to ~1e-6 in the far
tails, where NiMARE's float32 voxel sizes show, and except that NiMARE clips very wide kernels,
n < 2, to its 31-voxel cube).

MKDA and KDA use a binary sphere of radius r mm: the voxels whose centres lie within r of the
focus voxel's centre, as NiMARE enumerates them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

#: Eickhoff et al. (2009): mean Euclidean distance between matching points across templates.
TEMPLATE_UNCERTAINTY_MM = 5.7
#: Eickhoff et al. (2009): mean Euclidean distance between matching points across subjects.
SUBJECT_UNCERTAINTY_MM = 11.6
#: NiMARE's working cube for the ALE kernel (voxels per side) before cropping.
NIMARE_KERNEL_CUBE = 31
#: scipy's default truncation of the Gaussian, in standard deviations; NiMARE inherits it.
GAUSSIAN_TRUNCATE = 4.0

_FWHM_TO_SIGMA = 1.0 / math.sqrt(8.0 * math.log(2.0))


def ale_fwhm_mm(sample_size: float) -> np.float64:
    """Kernel FWHM (mm) for an experiment with ``sample_size`` subjects."""
    if not sample_size > 0:
        raise ValueError(f"sample size must be positive, got {sample_size}")
    # Evaluated in this order (distance / (2 sqrt(2/pi)) * sqrt(8 ln 2)) so the result is
    # NiMARE's to the last bit; a pre-folded constant differs in the 16th digit.
    to_sd = 2.0 * math.sqrt(2.0 / math.pi)
    to_fwhm = math.sqrt(8.0 * math.log(2.0))
    templates = TEMPLATE_UNCERTAINTY_MM / to_sd * to_fwhm
    subjects = (SUBJECT_UNCERTAINTY_MM / to_sd * to_fwhm) / math.sqrt(sample_size)
    return np.float64(math.sqrt(subjects**2 + templates**2))


def ale_sigma_voxels(
    fwhm_mm: float, voxel_size: Sequence[float], *, voxel_exact: bool = False
) -> NDArray[np.float64]:
    """Per-axis Gaussian standard deviation in voxels.

    NiMARE's rule: ``fwhm / sqrt(prod(zooms)) * sqrt(2) / (2 sqrt(2 ln 2))``, the same along
    every axis. Exact rule: ``fwhm / (2 sqrt(2 ln 2)) / edge`` per axis.
    """
    sizes = np.asarray(voxel_size, dtype=np.float64)
    if voxel_exact:
        return fwhm_mm * _FWHM_TO_SIGMA / sizes
    # NIfTI stores zooms as float32 and NiMARE divides by the root of their float32 product.
    # Under numpy's promotion rules a sample-size FWHM (np.float64) stays float64 while a FWHM
    # typed in as a plain number drops to float32: mirroring both keeps our kernels equal to
    # NiMARE's to the last bit, not just to 1e-8.
    fwhm_vox = fwhm_mm / np.sqrt(np.prod(sizes.astype(np.float32)))
    sigma = fwhm_vox * np.sqrt(2.0) / (np.sqrt(2.0 * np.log(2.0)) * 2.0)
    return np.full(3, sigma)


def ale_kernel(
    fwhm_mm: float, voxel_size: Sequence[float] = (2.0, 2.0, 2.0), *, voxel_exact: bool = False
) -> NDArray[np.float64]:
    """The ALE kernel as an odd-sided cube of probabilities centred on its middle voxel.

    The default reproduces NiMARE to the bit, including its crop: the extent is decided along
    the first axis and applied to all three. With ``voxel_exact`` the cube is as large as the
    Gaussian's truncation needs along each axis (never clipped by a fixed 31-voxel box).
    """
    sigma = ale_sigma_voxels(fwhm_mm, voxel_size, voxel_exact=voxel_exact)
    if voxel_exact:
        half = [int(GAUSSIAN_TRUNCATE * s + 0.5) for s in sigma]
        impulse = np.zeros([2 * h + 1 for h in half])
        impulse[tuple(half)] = 1.0
        kernel = ndimage.gaussian_filter(impulse, sigma, mode="constant")
        keep = []
        for axis in range(3):
            profile = kernel.max(axis=tuple(a for a in range(3) if a != axis))
            nonzero = np.flatnonzero(profile > np.spacing(1))
            keep.append(slice(nonzero[0], nonzero[-1] + 1))
        return np.ascontiguousarray(kernel[tuple(keep)])
    impulse = np.zeros((NIMARE_KERNEL_CUBE,) * 3)
    mid = NIMARE_KERNEL_CUBE // 2
    impulse[mid, mid, mid] = 1.0
    kernel = ndimage.gaussian_filter(impulse, float(sigma[0]), mode="constant")
    rows = np.where(kernel > np.spacing(1))[0]
    low, high = rows.min(), rows.max() + 1
    return np.ascontiguousarray(kernel[low:high, low:high, low:high])


def pyale_kernel(
    fwhm_mm: float, voxel_size: Sequence[float] = (2.0, 2.0, 2.0)
) -> NDArray[np.float64]:
    """pyALE's ALE kernel (``utils/kernel.py``, ``kernel_calc``), as an odd-sided cube.

    A 1-D Gaussian over +-ceil(3.5 sigma) voxels, normalised to sum 1, cubed; sigma is
    ``fwhm / edge / sqrt(8 ln 2)`` plus machine epsilon, squared and rooted as pyALE does so
    the values match its to rounding. NiMARE's kernel (:func:`ale_kernel`) reaches 4 sigma,
    so pyALE's peak is about 0.1% higher.
    """
    profiles = []
    for edge in voxel_size:
        variance = (fwhm_mm / float(edge) / math.sqrt(8 * math.log(2)) + np.finfo(float).eps) ** 2
        half = math.ceil(3.5 * math.sqrt(variance))
        steps = np.arange(-half, half + 1, dtype=np.float64)
        profile = np.exp(-0.5 * steps * steps / variance) / math.sqrt(2 * math.pi * variance)
        profiles.append(profile / profile.sum())
    width = max(p.size for p in profiles)
    padded = [np.pad(p, (width - p.size) // 2) for p in profiles]
    return padded[0][:, None, None] * padded[1][None, :, None] * padded[2][None, None, :]


def ale_subvoxel_weights(
    offset_voxels: NDArray[np.float64], sigma_voxels: NDArray[np.float64], half_width: int
) -> list[NDArray[np.float64]]:
    """Separable 1-D Gaussian weights for a focus that sits ``offset`` voxels off a voxel centre.

    GingerALE places each focus at its reported position rather than the nearest voxel centre.
    The 3-D kernel is the outer product of the three returned vectors (length 2*half_width+1,
    indexed from the nearest voxel), each normalised to sum to one as the voxel-centred kernel
    is, so an experiment's total modelled activation does not depend on where the focus falls.
    """
    steps = np.arange(-half_width, half_width + 1, dtype=np.float64)
    weights = []
    for axis in range(3):
        phi = np.exp(-0.5 * ((steps - offset_voxels[axis]) / sigma_voxels[axis]) ** 2)
        weights.append(phi / phi.sum())
    return weights


def sphere_offsets(radius_mm: float, voxel_size: Sequence[float]) -> NDArray[np.intp]:
    """Integer voxel offsets whose centres lie within ``radius_mm`` of the centre voxel.

    Enumerated over the cube NiMARE uses (``-r // edge`` to ``r // edge`` per axis) and kept
    where the Euclidean distance in mm is at most r, so MKDA and KDA spheres match NiMARE's.
    """
    if not radius_mm > 0:
        raise ValueError(f"sphere radius must be positive, got {radius_mm}")
    sizes = np.asarray(voxel_size, dtype=np.float64)
    ranges = [np.arange(-radius_mm // s, radius_mm // s + 0.01, 1.0) for s in sizes]
    grid = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = np.sqrt(((grid * sizes) ** 2).sum(axis=1)) <= radius_mm
    return grid[inside].astype(np.intp)


def sphere_kernel(radius_mm: float, voxel_size: Sequence[float], value: float = 1.0):
    """The sphere as a dense odd-sided cube (``value`` inside, 0 outside).

    The Monte Carlo engine treats every kernel as a cube so one code path serves ALE, MKDA
    and KDA.
    """
    offsets = sphere_offsets(radius_mm, voxel_size)
    half = np.abs(offsets).max(axis=0)
    cube = np.zeros(tuple(2 * half + 1))
    cube[tuple((offsets + half).T)] = value
    return cube
