"""Every file and folder a run (``neuroreview run``) or an analysis (``analyze``) writes, named once.

The output folder is the interface between the steps, the report, the web app and the user's
own scripts. Writers and readers take their paths from here, so a file is never spelled in two
places and renaming one is one edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# --- one meta-analysis folder (`analyze --out DIR`, a run's ale/ and mkda/) ---------------------

#: The folder's record of itself; also how --force recognises a folder it may replace.
ANALYSIS_RECORD = "analysis.json"
CLUSTER_TABLE = "clusters.tsv"
#: Each listed cluster's voxels carrying its id, as GingerALE writes beside its table.
CLUSTER_IMAGE = "clusters.nii.gz"
#: ALE with imputed sample sizes: the analysis at the smallest and largest reported N.
IMPUTATION_SENSITIVITY = "imputation_sensitivity.tsv"
#: Study contributions per cluster (written by later work; the report shows them when present).
CONTRIBUTIONS = "contributions.tsv"
MAP_SUFFIX = ".nii.gz"


def map_file(name: str) -> str:
    """The file of the map ``name`` (NiMARE's names: ``z``, ``logp_level-voxel_corr-FWE...``)."""
    return f"{name}{MAP_SUFFIX}"


Z_MAP = map_file("z")


def within(folder: str, name: str) -> str:
    """``name`` inside ``folder`` of a run ("" is the folder itself), as RunFiles paths are."""
    return f"{folder}/{name}" if folder else name


# --- a run folder -------------------------------------------------------------------------------

#: The run's record of itself; also how --force recognises a folder it may replace.
RUN_RECORD = "summary.json"
#: The run's configuration, to repeat it: ``neuroreview run --config DIR/review.toml``.
RUN_CONFIG = "review.toml"
#: The working store of a run on files or on the built-in corpus.
RUN_STORE = "neuroreview.db"
CROSSTAB = "studies_by_modality_population.tsv"
CORPUS_FOLDER = "corpus"
#: The corpus as tables (``io.tables`` writes them; a run as TSV).
CORPUS_STUDIES = f"{CORPUS_FOLDER}/studies.tsv"
CORPUS_FOCI = f"{CORPUS_FOLDER}/foci.tsv"
CORPUS_FINDINGS = f"{CORPUS_FOLDER}/region_findings.tsv"
REPORT_FILE = "report.html"
REPORT_FOLDER = "report"
PROVENANCE = "report-provenance.json"
#: What the report derives and writes beside itself.
REPORT_DECODING_FOLDER = f"{REPORT_FOLDER}/decoding"
REPORT_TIMING = f"{REPORT_FOLDER}/studies_by_timing_population.tsv"
REPORT_FACETS = f"{REPORT_FOLDER}/studies_by_modality_population_timing.tsv"
REPORT_VOTES_BY_POPULATION = f"{REPORT_FOLDER}/votes_by_region_direction_population.tsv"
REPORT_EXCLUSION_COUNTS = f"{REPORT_FOLDER}/exclusions_by_reason.tsv"
REPORT_DECODING_OVERVIEW = f"{REPORT_FOLDER}/decoding_overview.tsv"


def decode_map_table(method: str) -> str:
    """The topic ranking of a meta-analysis's z map, in the decode folder."""
    return f"map_{method}.tsv"


def decode_cluster_table(method: str, cluster_id: int) -> str:
    return f"cluster_{method}_{cluster_id}.tsv"


def decode_region_table(region: str) -> str:
    return f"region_{region}.tsv"


def report_decoding_table(kind: str, slug: str) -> str:
    """A decoding handed to the report by a caller, written beside it."""
    return f"{REPORT_DECODING_FOLDER}/{kind}_{slug}.tsv"


def figure_files(folder: str, name: str) -> tuple[str, str]:
    """A report figure's PNG and SVG, relative to the run folder."""
    return f"{folder}/{name}.png", f"{folder}/{name}.svg"


#: A screened corpus's PRISMA 2020 counts and agreement, its flow diagram, and every record
#: with where it ended (written when the run's store holds screening records).
SCREENING_FOLDER = "screening"
PRISMA = "screening/prisma.json"
PRISMA_SVG = "screening/prisma.svg"
PRISMA_PNG = "screening/prisma.png"
SCREENING_RECORDS = "screening/records.tsv"
#: The studies made from screened records, each traced to its search export and line.
SCREENING_STUDIES = "screening/studies.tsv"
QUESTIONS_FOLDER = "questions"
#: The review's contrasts (increases vs decreases, patients vs healthy): their table, and a
#: folder per contrast that was run (maps, clusters.tsv, compare.json).
CONTRASTS_FOLDER = "contrasts"
CONTRASTS_TABLE = "contrasts.tsv"
QUESTIONS_TABLE = "questions.tsv"
REGIONS_FOLDER = "regions"
DECODE_FOLDER = "decode"
DECODE_INDEX = "index.tsv"

#: The region synthesis's tables, in the order they are written.
VOTES = "votes.tsv"
CONVERGENCE = "convergence.tsv"
EXCLUSIONS = "exclusions.tsv"
EFFECTS = "effects.tsv"
LABEL_DISAGREEMENTS = "label_disagreements.tsv"
CLAIMS = "claims.tsv"
REGION_TABLES = (VOTES, CONVERGENCE, EXCLUSIONS, EFFECTS, LABEL_DISAGREEMENTS)


def question_votes(question: str) -> str:
    """The region votes of the studies answering one of the review's questions."""
    return f"{question}_votes.tsv"


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run folder, rooted at ``root``."""

    root: Path
    methods: tuple[str, ...] = ("ale", "mkda")

    def analysis(self, method: str) -> Path:
        return self.root / method

    @property
    def regions(self) -> Path:
        return self.root / REGIONS_FOLDER

    @property
    def decode(self) -> Path:
        return self.root / DECODE_FOLDER

    @property
    def questions(self) -> Path:
        return self.root / QUESTIONS_FOLDER

    def entries(self) -> set[str]:
        """Every name a run writes at the top of its folder: what --force may replace."""
        return {
            RUN_STORE,
            RUN_RECORD,
            RUN_CONFIG,
            CROSSTAB,
            CORPUS_FOLDER,
            *self.methods,
            REGIONS_FOLDER,
            QUESTIONS_FOLDER,
            CONTRASTS_FOLDER,
            DECODE_FOLDER,
            REPORT_FILE,
            REPORT_FOLDER,
            PROVENANCE,
        }
