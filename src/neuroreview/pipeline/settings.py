"""A meta-analysis's settings as ``neuroreview analyze`` takes them, checked before any work, and
the timer that records how long each part took."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neuroreview.cbma.registry import ONE_SET_METHODS, label, method, taking
from neuroreview.errors import NeuroreviewError

if TYPE_CHECKING:
    from neuroreview.cbma.base import AnalysisSpace, CBMAEstimator
    from neuroreview.cbma.conventions import Convention

METHODS = ONE_SET_METHODS
NULL_MASKS = ("brain", "gm")


@dataclass
class Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)


@dataclass
class Settings:
    """The analysis options, checked together before any work is done."""

    method: str
    null_mask: str
    fwhm: float | None
    sample_size: float | None
    radius: float | None
    voxel_exact: bool
    subvoxel: bool
    fwe: bool
    iterations: int
    seed: int | None
    jobs: int
    early_stop: float | None
    voxel_thresh: float
    alpha: float
    #: Per-cluster diagnostics to compute (names of pipeline.diagnostics.DIAGNOSTICS).
    diagnostics: tuple[str, ...] = ()
    #: The tool whose conventions to follow (cbma.conventions), and any choice set on its own.
    convention: str = "nimare"
    convention_choices: dict[str, object] = field(default_factory=dict)
    #: Convention sensitivity of each surviving ALE cluster (pipeline.sensitivity).
    sensitivity: bool = False
    jitters: int = 20
    jitter_mm: float = 1.0
    #: A mask image (MNI152 2 mm grid) replacing the brain mask as analysis and null mask.
    mask: str | None = None
    mask_threshold: float = 0.0

    def analysis_space(self) -> AnalysisSpace:
        """The grid and masks: the built-in brain mask, or ``--mask`` (read once)."""
        from neuroreview.cbma.base import AnalysisSpace

        default = AnalysisSpace.default(self.null_mask)
        if self.mask is None:
            return default
        cached = getattr(self, "_space", None)
        if cached is None:
            from neuroreview.io.masks import read_mask

            mask = read_mask(self.mask, self.mask_threshold)
            null = mask & default.null_mask if self.null_mask == "gm" else mask
            cached = AnalysisSpace(default.grid, mask, null)
            self._space = cached
        return cached

    def resolved_convention(self) -> Convention:
        """The convention with the choices given on their own applied (``--subvoxel`` is
        placement ``exact``); a bad name or value is refused in the CLI's words."""
        from neuroreview.cbma.conventions import convention

        choices = {k: v for k, v in self.convention_choices.items() if v is not None}
        if self.subvoxel:
            if choices.get("placement", "exact") != "exact":
                raise NeuroreviewError("--subvoxel is placement 'exact'; give one of them")
            choices["placement"] = "exact"
        try:
            return convention(self.convention).with_choices(**choices)
        except ValueError as error:
            message = re.sub(
                r"^convention choice (\w+)",
                lambda m: "--" + {"kernel": "ale-kernel"}.get(m[1], m[1]).replace("_", "-"),
                str(error),
            )
            raise NeuroreviewError(message) from None

    def check(self) -> None:
        """Refuse contradictory or meaningless options, each in one line."""
        if self.method not in METHODS:
            raise NeuroreviewError(f"unknown method {self.method!r}; choose ale, mkda or kda")
        if self.null_mask not in NULL_MASKS:
            raise NeuroreviewError(f"unknown null mask {self.null_mask!r}; choose brain or gm")
        if self.iterations < 1:
            raise NeuroreviewError(f"--iterations must be at least 1, got {self.iterations}")
        if self.jobs < 1:
            raise NeuroreviewError(f"--jobs must be at least 1, got {self.jobs}")
        for name, value in (("--voxel-thresh", self.voxel_thresh), ("--alpha", self.alpha)):
            if not 0.0 < value < 1.0:
                raise NeuroreviewError(f"{name} must lie between 0 and 1, got {value:g}")
        sizes = {
            "--fwhm": self.fwhm,
            "--sample-size": self.sample_size,
            "--radius": self.radius,
            "--early-stop": self.early_stop,
        }
        for name, value in sizes.items():
            if value is not None and not value > 0:
                raise NeuroreviewError(f"{name} must be positive, got {value:g}")
        chosen = method(self.method)
        given = {
            "fwhm": self.fwhm is not None,
            "sample_size": self.sample_size is not None,
            "voxel_exact": self.voxel_exact,
            "subvoxel": self.subvoxel,
            "radius": self.radius is not None,
        }
        for option in (o for o, is_given in given.items() if is_given):
            if option not in chosen.options:
                takers = " and ".join(taking(option))
                raise NeuroreviewError(
                    f"--{option.replace('_', '-')} applies to {takers} only, not {chosen.label}"
                )
        if self.fwhm is not None and self.sample_size is not None:
            raise NeuroreviewError("give --fwhm or --sample-size, not both")
        if self.sensitivity:
            if self.method != "ale" or not self.fwe:
                raise NeuroreviewError(
                    "--sensitivity tests the clusters that survive ALE's cluster-level FWE: it "
                    "needs --method ale and the Monte Carlo (not --no-fwe)"
                )
            if self.jitters < 0:
                raise NeuroreviewError(f"--jitters must be 0 or more, got {self.jitters}")
            if not self.jitter_mm > 0:
                raise NeuroreviewError(f"--jitter-mm must be positive, got {self.jitter_mm:g}")
        chosen_convention = self.resolved_convention()
        if self.method != "ale":
            ale_only = {
                "--convention": self.convention if self.convention != "nimare" else None,
                "--placement": None if chosen_convention.placement == "round" else "",
                "--ale-kernel": None if chosen_convention.kernel == "nimare" else "",
                "--histogram": None if chosen_convention.histogram == "nimare" else "",
                "--null-clusters": None if chosen_convention.null_clusters == "mask" else "",
                "--cluster-cutoff": None if chosen_convention.cluster_cutoff == "p_value" else "",
                "--cluster-centre": None if chosen_convention.cluster_centre == "none" else "",
            }
            for option, value in ale_only.items():
                if value is not None:
                    shown = f" {value}" if value else ""
                    raise NeuroreviewError(
                        f"{option}{shown} applies to ALE only, not {chosen.label}: pyALE and "
                        "GingerALE compute ALE, and spheres sit on voxels"
                    )
        if chosen_convention.kernel == "pyale" and self.voxel_exact:
            raise NeuroreviewError(
                "--voxel-exact does not apply to pyALE's kernel, which is sized per axis already"
            )

    def check_sample_sizes(self, missing: list[str]) -> None:
        """ALE without a fixed kernel needs every sample size; say so in the CLI's words."""
        sized = method(self.method).uses_sample_size
        if sized and self.fwhm is None and self.sample_size is None and missing:
            raise NeuroreviewError(
                f"{label(self.method)} sizes each kernel from the sample size, and {len(missing)} experiment(s) "
                f"report none (first: {missing[0]!r}); record them, or give --sample-size N or "
                "--fwhm MM for every experiment"
            )

    def estimator(self) -> CBMAEstimator:
        return method(self.method).build(
            self.analysis_space(),
            fwhm=self.fwhm,
            sample_size=self.sample_size,
            voxel_exact=self.voxel_exact,
            placement=self.resolved_convention().placement,
            kernel=self.resolved_convention().kernel,
            histogram=self.resolved_convention().histogram,
            null_clusters=self.resolved_convention().null_clusters,
            radius=self.radius,
        )
