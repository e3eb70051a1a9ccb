"""Conventions: the small choices in which NiMARE, pyALE and GingerALE differ.

The three tools compute the same ALE, but where a focus lands on the grid, how a Talairach
focus is brought to MNI and how the kernel is cut off differ, and those decide which clusters
survive at the cutoff (moving one focus by 2 mm can split or join a cluster). A
:class:`Convention` names one set of these choices so that a published analysis can be
reproduced with the tool it was made with, and each choice can also be set on its own.

The choices, and the source each preset follows:

``talairach`` and ``talairach_round_mm``
    How Talairach foci are converted to MNI. NiMARE: Lancaster's pooled ("other") icbm2tal
    inverse, coordinates kept as computed (``nimare.utils.tal2mni``). pyALE: Lancaster's SPM
    matrix, inverted, then rounded to whole millimetres (``utils/tal2icbm_spm.py``: ``icbm_spm``
    and ``np.round``). GingerALE: converts in its separate "Convert Foci" tool with the Lancaster
    transforms; the pooled one is its documented default for data of unknown normalisation.
``placement``
    Which voxel a focus's kernel is centred on. NiMARE: the nearest voxel centre, half-way
    points rounded to even (``np.rint`` of the voxel coordinates). pyALE: ``np.ceil`` of the
    voxel coordinates on its x-flipped MNI152 2 mm grid, then clipped into [1, n - 1] along
    each axis (``utils/read_exp_info.py``); on that grid an odd coordinate moves by -1, +1, +1
    mm. GingerALE: the Gaussian is centred on the reported coordinate itself (sub-voxel).
``kernel``
    The ALE Gaussian's truncation. NiMARE: ``scipy.ndimage.gaussian_filter`` of an impulse in a
    31-voxel cube (4 sigma, each 1-D profile normalised over its support), cropped where values
    fall below machine epsilon (``nimare.meta.utils.get_ale_kernel``). pyALE: a 1-D Gaussian
    over +-ceil(3.5 sigma) voxels normalised to sum 1, cubed (``utils/kernel.py``,
    ``kernel_calc``). GingerALE: NiMARE's kernel was ported from it.
``histogram``
    The analytic null's bins, arithmetic and reading. NiMARE: bins of 1e-5, p the tail at a
    value's bin, the cluster-forming value the last bin whose tail still exceeds p
    (``nimare.meta.cbma.ale``, ``_compute_null_approximate``; ``nimare.stats.nullhist_to_p``).
    pyALE: bins of 1e-4, pyALE's convolution (``utils/compute.py``, ``compute_hx_conv``), a voxel
    forming clusters when the tail at its bin is below p (``compute_z``, ``compute_cluster``);
    see :mod:`neuroreview.cbma.null_pyale`. GingerALE: NiMARE's.
``null_clusters``
    Where each null dataset's maximum and largest cluster are measured. NiMARE: within the
    mask. pyALE: on the whole grid (its null z map is never masked, ``compute_null_cutoffs``),
    so a null cluster can run through voxels outside the mask; foci are drawn from the mask
    either way.
``cluster_cutoff``
    NiMARE: a cluster's p is the share of null datasets whose largest cluster is at least as
    large, and it survives below alpha (``nimare.correct.FWECorrector``). pyALE: it survives
    when larger than ``np.percentile`` of the null's largest clusters at 95
    (``analysis/main_effect.py``, ``compute_cluster``).
``cluster_centre``
    pyALE prints each cluster's "Center", the per-axis median of its voxels' mm coordinates
    truncated to integers (``utils/contribution.py``); NiMARE and GingerALE tables have none
    (GingerALE reports a weighted centre, not reproduced here).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuroreview.model.enums import Space
from neuroreview.space.transforms import TransformMethod, convert


class Placement(StrEnum):
    """Where a focus's kernel is centred."""

    ROUND = "round"
    CEIL = "ceil"
    EXACT = "exact"


class KernelShape(StrEnum):
    """How the ALE Gaussian is truncated and normalised."""

    NIMARE = "nimare"
    PYALE = "pyale"


class HistogramRule(StrEnum):
    """How the ALE null histogram is built and read (bin width, arithmetic, threshold)."""

    NIMARE = "nimare"
    PYALE = "pyale"


class NullClusters(StrEnum):
    """Where the Monte Carlo's null clusters (and maxima) are taken."""

    MASK = "mask"
    UNMASKED = "unmasked"


class ClusterCutoff(StrEnum):
    """Which clusters survive the cluster-level FWE correction."""

    P_VALUE = "p_value"
    PERCENTILE = "percentile"


class ClusterCentre(StrEnum):
    """A cluster position reported beside its peak."""

    NONE = "none"
    MEDIAN = "median"


@dataclass(frozen=True)
class Convention:
    """One named set of choices (see the module docstring for each and its source)."""

    name: str
    talairach: TransformMethod
    talairach_round_mm: bool
    placement: Placement
    kernel: KernelShape
    histogram: HistogramRule = HistogramRule.NIMARE
    null_clusters: NullClusters = NullClusters.MASK
    cluster_cutoff: ClusterCutoff = ClusterCutoff.P_VALUE
    cluster_centre: ClusterCentre = ClusterCentre.NONE

    def with_choices(self, **choices: object) -> Convention:
        """This convention with some choices replaced; renamed ``custom`` unless nothing changed.

        Values are checked and converted to their enum (a bad one names the choice and what
        it may be).
        """
        converted = {}
        for key, value in choices.items():
            kind = _CHOICE_TYPES.get(key)
            if kind is None:
                raise ValueError(
                    f"unknown convention choice {key!r}; choose from {', '.join(_CHOICE_TYPES)}"
                )
            converted[key] = _convert(key, kind, value)
        changed = replace(self, **converted)
        if changed == self:
            return self
        return replace(
            changed, name=f"{self.name}+custom" if "+custom" not in self.name else self.name
        )

    def to_mni(self, xyz: ArrayLike, source: Space | str) -> NDArray[np.float64]:
        """Foci reported in ``source`` space as MNI coordinates under this convention: MNI foci
        unchanged, Talairach ones by its transform (rounded to whole mm if it says so)."""
        points = convert(xyz, source, Space.MNI, self.talairach)
        if Space(source) is Space.TAL and self.talairach_round_mm:
            points = np.round(points)
        return points

    def describe(self, ale: bool = True) -> str:
        """One methods-text sentence naming the convention and its choices; without ``ale``
        (MKDA, KDA) only those that apply to spheres: the Talairach conversion and placement."""
        base = self.name.split("+")[0]
        tool = {"nimare": "NiMARE's", "pyale": "pyALE's", "gingerale": "GingerALE's"}[base]
        changed = " with choices changed from them" if "+custom" in self.name else ""
        transform = {
            TransformMethod.LANCASTER_POOLED: "Lancaster's pooled icbm2tal transform",
            TransformMethod.LANCASTER_SPM: "Lancaster's SPM icbm2tal transform",
            TransformMethod.LANCASTER_FSL: "Lancaster's FSL icbm2tal transform",
            TransformMethod.BRETT: "Brett's tal2mni",
        }[self.talairach]
        rounded = ", rounded to whole millimetres" if self.talairach_round_mm else ""
        placement = {
            Placement.ROUND: "on the nearest voxel (half-way points to even)",
            Placement.CEIL: "on the voxel pyALE's rule gives (voxel coordinates rounded up on its "
            "right-to-left grid, indices clipped into [1, n - 1])",
            Placement.EXACT: "at their reported coordinates (sub-voxel)",
        }[self.placement]
        kernel = {
            KernelShape.NIMARE: "truncated at 4 standard deviations (NiMARE)",
            KernelShape.PYALE: "truncated at 3.5 standard deviations (pyALE)",
        }[self.kernel]
        histogram = {
            HistogramRule.NIMARE: "bins of 1e-5, a voxel forming clusters above the last bin "
            "whose tail exceeds the cluster-forming p (NiMARE)",
            HistogramRule.PYALE: "bins of 1e-4 combined with pyALE's arithmetic, a voxel forming "
            "clusters when the tail at its bin is below the cluster-forming p (pyALE)",
        }[self.histogram]
        null = {
            NullClusters.MASK: "within the mask",
            NullClusters.UNMASKED: "on the whole grid (pyALE)",
        }[self.null_clusters]
        cutoff = {
            ClusterCutoff.P_VALUE: "a cluster survived when the share of null datasets whose "
            "largest cluster was at least as large was below alpha (NiMARE)",
            ClusterCutoff.PERCENTILE: "a cluster survived when larger than the 1 - alpha "
            "percentile of the null's largest clusters (pyALE)",
        }[self.cluster_cutoff]
        centre = (
            "; each cluster's centre is the per-axis median of its voxels' coordinates, "
            "truncated to whole mm (pyALE)"
            if self.cluster_centre is ClusterCentre.MEDIAN
            else ""
        )
        head = (
            f"The analysis followed {tool} conventions{changed} (neuroreview convention "
            f"'{self.name}'): Talairach foci were converted to MNI with {transform}{rounded}; "
            f"kernels were centred {placement}"
        )
        if not ale:
            return head + "."
        return (
            f"{head}; ALE Gaussians were {kernel}; the analytic null histogram had {histogram}; "
            f"null clusters and maxima were taken {null}; {cutoff}{centre}."
        )

    def record(self) -> dict[str, object]:
        """The choices as plain values, for ``analysis.json`` and the methods text."""
        return {
            key: (str(value) if isinstance(value, StrEnum) else value)
            for key, value in asdict(self).items()
        }


def _convert(key: str, kind: type, value: object) -> object:
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"convention choice {key} must be true or false, got {value!r}")
        return value
    try:
        return kind(value)
    except ValueError:
        options = ", ".join(repr(m.value) for m in kind)  # type: ignore[attr-defined]
        raise ValueError(f"convention choice {key} cannot be {value!r}; choose {options}") from None


_CHOICE_TYPES: dict[str, type] = {
    "talairach": TransformMethod,
    "talairach_round_mm": bool,
    "placement": Placement,
    "kernel": KernelShape,
    "histogram": HistogramRule,
    "null_clusters": NullClusters,
    "cluster_cutoff": ClusterCutoff,
    "cluster_centre": ClusterCentre,
}

NIMARE = Convention(
    name="nimare",
    talairach=TransformMethod.LANCASTER_POOLED,
    talairach_round_mm=False,
    placement=Placement.ROUND,
    kernel=KernelShape.NIMARE,
)
PYALE = Convention(
    name="pyale",
    talairach=TransformMethod.LANCASTER_SPM,
    talairach_round_mm=True,
    placement=Placement.CEIL,
    kernel=KernelShape.PYALE,
    histogram=HistogramRule.PYALE,
    null_clusters=NullClusters.UNMASKED,
    cluster_cutoff=ClusterCutoff.PERCENTILE,
    cluster_centre=ClusterCentre.MEDIAN,
)
GINGERALE = Convention(
    name="gingerale",
    talairach=TransformMethod.LANCASTER_POOLED,
    talairach_round_mm=False,
    placement=Placement.EXACT,
    kernel=KernelShape.NIMARE,
)
CONVENTIONS = {c.name: c for c in (NIMARE, PYALE, GINGERALE)}
DEFAULT = NIMARE


def convention(name: str | Convention) -> Convention:
    """The named convention (``nimare``, ``pyale`` or ``gingerale``)."""
    if isinstance(name, Convention):
        return name
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise ValueError(f"unknown convention {name!r}; choose {', '.join(CONVENTIONS)}") from None
