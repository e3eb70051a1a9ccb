"""The meta-analysis methods, declared once: key, the name readers see, how to build one.

Commands, the pipeline, the decoder and the report look a method up here instead of choosing by
string in if-chains, so a new method is one entry. One-set methods (:class:`CBMAEstimator`) and
two-set methods (:class:`TwoGroupEstimator`) are kept apart: they are fitted and corrected
differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neuroreview.cbma.base import AnalysisSpace, CBMAEstimator, TwoGroupEstimator

#: MKDA and KDA sphere radius when none is given (NiMARE's default).
DEFAULT_RADIUS_MM = 10.0


@dataclass(frozen=True)
class Method:
    """One meta-analysis method."""

    key: str
    label: str
    #: Builds the estimator from the options that apply to it (see each ``build_*``).
    build: Callable[..., Any]
    #: ALE sizes each kernel from the experiment's sample size; the others need none.
    uses_sample_size: bool = False
    two_group: bool = False
    #: The kernel options that apply to it (``analyze``'s flags, without dashes): any other
    #: kernel option given for it is refused.
    options: tuple[str, ...] = ()


def _ale(
    space: AnalysisSpace,
    fwhm: float | None = None,
    sample_size: float | None = None,
    voxel_exact: bool = False,
    subvoxel: bool = False,
    placement: str = "round",
    kernel: str = "nimare",
    histogram: str = "nimare",
    null_clusters: str = "mask",
    **_: Any,
) -> CBMAEstimator:
    from neuroreview.cbma.ale import ALE

    return ALE(
        fwhm=fwhm,
        sample_size=sample_size,
        voxel_exact=voxel_exact,
        subvoxel=subvoxel,
        placement=placement,
        kernel=kernel,
        histogram=histogram,
        null_clusters=null_clusters,
        space=space,
    )


def _mkda(space: AnalysisSpace, radius: float | None = None, **_: Any) -> CBMAEstimator:
    from neuroreview.cbma.mkda import MKDADensity

    return MKDADensity(r=DEFAULT_RADIUS_MM if radius is None else radius, space=space)


def _kda(space: AnalysisSpace, radius: float | None = None, **_: Any) -> CBMAEstimator:
    from neuroreview.cbma.kda import KDA

    return KDA(r=DEFAULT_RADIUS_MM if radius is None else radius, space=space)


def _mkda_chi2(space: AnalysisSpace, radius: float | None = None, **_: Any) -> TwoGroupEstimator:
    from neuroreview.cbma.mkda import MKDAChi2

    return MKDAChi2(r=DEFAULT_RADIUS_MM if radius is None else radius, space=space)


#: ALE's Gaussian kernel: a fixed FWHM or sample size, and its exact or subvoxel placement.
ALE_OPTIONS = ("fwhm", "sample_size", "voxel_exact", "subvoxel")
#: MKDA's and KDA's sphere.
SPHERE_OPTIONS = ("radius",)

METHODS: dict[str, Method] = {
    method.key: method
    for method in (
        Method("ale", "ALE", _ale, uses_sample_size=True, options=ALE_OPTIONS),
        Method("mkda", "MKDA density", _mkda, options=SPHERE_OPTIONS),
        Method("kda", "KDA", _kda, options=SPHERE_OPTIONS),
        Method("mkda_chi2", "MKDA chi-square", _mkda_chi2, two_group=True, options=SPHERE_OPTIONS),
    )
}
#: The one-set methods ``analyze --method`` offers.
ONE_SET_METHODS = tuple(key for key, method in METHODS.items() if not method.two_group)


def method(key: str) -> Method:
    """The method ``key``; an unknown key names the choices."""
    try:
        return METHODS[key]
    except KeyError:
        choices = ", ".join(ONE_SET_METHODS)
        raise ValueError(f"unknown method {key!r}; choose {choices}") from None


def taking(option: str) -> list[str]:
    """The labels of the one-set methods ``option`` applies to, for an error naming them."""
    return [m.label for m in METHODS.values() if option in m.options and not m.two_group]


def label(key: str) -> str:
    """The name readers see ("MKDA density"), or the key itself for an unknown method."""
    return METHODS[key].label if key in METHODS else key
