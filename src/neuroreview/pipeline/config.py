"""Every setting of a review, in one model: from the command line, from a TOML file, or in Python.

A run writes its configuration into its folder (``review.toml``), so the run can be repeated from
its own folder: ``neuroreview run --config neuroreview-out/review.toml --out again``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from neuroreview.errors import InputError, NeuroreviewError
from neuroreview.model import Exposure

DEFAULT_OUT = Path("neuroreview-out")
#: Monte Carlo iterations of the default run: under a minute for both analyses on 2 cores.
DEFAULT_ITERATIONS = 1000
#: Fewer experiments than this and a question's meta-analysis is not run (Eickhoff et al. 2016).
DEFAULT_MIN_EXPERIMENTS = 17
#: Monte Carlo threads unless said otherwise: two, for the 2-core machines the budget is set on.
#: Threads start at once (a process pool cost more than it saved at 1,000 iterations) and every
#: count gives the same bytes.
DEFAULT_JOBS = 2


class ReviewConfig(BaseModel):
    """What ``neuroreview run`` does: which corpus, where to, and every number it depends on.

    ``corpus`` (files of your own) and ``db`` (an existing store, only read) are alternatives;
    with neither, the built-in ketamine corpus is reviewed. ``include_exposure`` adds exposures
    to single dose and repeated course (and, for a corpus of your own, unknown).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    corpus: tuple[Path, ...] = ()
    db: str | None = None
    out: Path = DEFAULT_OUT
    iterations: int = Field(default=DEFAULT_ITERATIONS, ge=1)
    seed: int = Field(default=0, ge=0)
    jobs: int = Field(default=DEFAULT_JOBS, ge=1)
    #: Run the Monte Carlo on the Dask cluster of this scheduler (``tcp://host:8786``) ...
    scheduler: str | None = None
    #: ... or on a local Dask cluster of this many worker processes started for the run;
    #: either way ``jobs`` is unused and the results are the same bytes.
    workers: int | None = Field(default=None, ge=1)
    include_exposure: tuple[Exposure, ...] = ()
    min_experiments: int = Field(default=DEFAULT_MIN_EXPERIMENTS, ge=2)
    #: Whose conventions the ALE follows (cbma.conventions): nimare, pyale or gingerale.
    #: MKDA keeps NiMARE's (pyALE and GingerALE compute ALE only).
    convention: Literal["nimare", "pyale", "gingerale"] = "nimare"
    #: Test each surviving ALE cluster under every convention and ``jitters`` jitters of the
    #: foci (pipeline.sensitivity).
    sensitivity: bool = True
    jitters: int = Field(default=20, ge=0)

    @field_validator("include_exposure", mode="before")
    @classmethod
    def _exposures(cls, value: Any) -> Any:
        values = [value] if isinstance(value, str) else list(value or ())
        return tuple(v if isinstance(v, Exposure) else Exposure.parse(v) for v in values)

    @model_validator(mode="after")
    def _one_source(self) -> ReviewConfig:
        if self.corpus and self.db:
            raise ValueError("give either corpus files or a db, not both")
        if self.scheduler is not None and self.workers is not None:
            raise ValueError(
                "give a scheduler (a running cluster) or workers (a local one), not both"
            )
        if self.scheduler is not None and "://" not in self.scheduler:
            raise ValueError(
                f"scheduler must be an address such as tcp://host:8786, got {self.scheduler!r}"
            )
        return self

    @classmethod
    def from_toml(cls, path: str | Path) -> ReviewConfig:
        """Read a ``review.toml``; relative paths in it are relative to the file's folder."""
        path = Path(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror}", source=path) from None
        except tomllib.TOMLDecodeError as error:
            raise InputError(f"not valid TOML: {error}", source=path) from None
        review = document.get("review", document)
        base = path.parent
        if "corpus" in review:
            review["corpus"] = [str(_relative_to(base, p)) for p in review["corpus"]]
        if "out" in review:
            review["out"] = str(_relative_to(base, review["out"]))
        try:
            return cls.model_validate(review)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "review"
            raise InputError(f"{where}: {first['msg']}", source=path) from None

    @classmethod
    def from_options(cls, path: Path | None, options: dict[str, Any]) -> ReviewConfig:
        """The TOML file's settings (or the defaults), overridden by the options given (None:
        not given); errors name the command-line option (``--include-exposure: ...``)."""
        base = cls.from_toml(path) if path is not None else cls()
        given = {k: v for k, v in options.items() if v is not None}
        # A corpus or store given here replaces the file's source, whichever it was.
        if options.get("corpus"):
            given["db"] = None
        elif options.get("db"):
            given["corpus"] = ()
        # Likewise one way to compute: a cluster given here replaces the file's.
        if options.get("scheduler") and options.get("workers"):
            raise NeuroreviewError(
                "give --scheduler (a running cluster) or --workers (a local one), not both"
            )
        if options.get("scheduler"):
            given["workers"] = None
        elif options.get("workers"):
            given["scheduler"] = None
        try:
            return cls.model_validate(base.model_dump() | given)
        except ValidationError as error:
            first = error.errors()[0]
            name = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "--config"
            if first["type"] == "greater_than_equal":
                limit = first["ctx"]["ge"]
                message = f"{name} must be at least {limit}, got {first['input']}"
            else:
                message = f"{name}: {first['msg'].removeprefix('Value error, ')}"
            raise NeuroreviewError(message) from None

    def to_toml(self) -> str:
        """The configuration as ``[review]`` TOML; paths absolute, so it works from anywhere."""
        lines = ["# neuroreview run --config this-file", "[review]"]
        if self.corpus:
            files = ", ".join(_quote(str(p.expanduser().absolute())) for p in self.corpus)
            lines.append(f"corpus = [{files}]")
        if self.db:
            lines.append(f"db = {_quote(_without_password(self.db))}")
        lines.append(f"out = {_quote(str(self.out.expanduser().absolute()))}")
        lines += [
            f"iterations = {self.iterations}",
            f"seed = {self.seed}",
            f"jobs = {self.jobs}",
            *([f"scheduler = {_quote(self.scheduler)}"] if self.scheduler else []),
            *([f"workers = {self.workers}"] if self.workers else []),
            "include_exposure = ["
            + ", ".join(_quote(e.value) for e in self.include_exposure)
            + "]",
            f"min_experiments = {self.min_experiments}",
            f"convention = {_quote(self.convention)}",
            f"sensitivity = {'true' if self.sensitivity else 'false'}",
            f"jitters = {self.jitters}",
        ]
        return "\n".join(lines) + "\n"


def _without_password(db: str) -> str:
    """A store URL as it may be written into an output folder: the password replaced by ***."""
    from neuroreview.store import local_store_path

    if local_store_path(db) is not None:
        return db
    from sqlalchemy.engine import make_url

    return make_url(db).render_as_string(hide_password=True)


def _relative_to(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def review_exposures(
    include: tuple[Exposure, ...] | list[Exposure], own_corpus: bool
) -> tuple[Exposure, ...]:
    """The exposures reviewed. A user's corpus adds unknown: most formats cannot record
    exposure, and leaving out every study of a Sleuth file would analyse nothing."""
    from neuroreview.synthesis.selection import DEFAULT_EXPOSURES

    chosen = list(DEFAULT_EXPOSURES) + ([Exposure.UNKNOWN] if own_corpus else [])
    for exposure in include:
        if exposure not in chosen:
            chosen.append(exposure)
    return tuple(chosen)


def meta_analysis_settings(method: str, config: ReviewConfig):
    """``neuroreview analyze``'s defaults, with the run's iterations, seed and jobs; ALE also
    reports each experiment's contribution to each cluster (the report's contribution tables).
    """
    from neuroreview.pipeline.settings import Settings

    settings = Settings(
        method=method,
        null_mask="brain",
        fwhm=None,
        sample_size=None,
        radius=None,
        voxel_exact=False,
        subvoxel=False,
        fwe=True,
        iterations=config.iterations,
        seed=config.seed,
        jobs=config.jobs,
        early_stop=None,
        voxel_thresh=0.001,
        alpha=0.05,
        diagnostics=("contribution",) if method == "ale" else (),
        convention=config.convention if method == "ale" else "nimare",
        sensitivity=config.sensitivity and method == "ale",
        jitters=config.jitters,
    )
    settings.check()
    return settings
