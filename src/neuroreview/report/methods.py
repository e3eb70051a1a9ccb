"""The methods section and its references, generated from the settings the run recorded.

A methods paragraph typed by hand drifts from what the software did (another kernel, another
number of iterations). Here every setting is read from ``summary.json`` and each analysis's
``analysis.json`` (whose own methods text the estimator wrote), so the text a researcher pastes
into a manuscript describes the run that produced the numbers beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuroreview.report.context import Analysis, Context
from neuroreview.report.sentences import number

#: Full references, keyed by the in-text citation the methods use.
REFERENCES: dict[str, str] = {
    "Benjamini & Hochberg, 1995": (
        "Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a practical and "
        "powerful approach to multiple testing. Journal of the Royal Statistical Society: Series "
        "B 57(1):289-300. doi:10.1111/j.2517-6161.1995.tb02031.x"
    ),
    "Eickhoff et al., 2009": (
        "Eickhoff SB, Laird AR, Grefkes C, Wang LE, Zilles K, Fox PT (2009). Coordinate-based "
        "activation likelihood estimation meta-analysis of neuroimaging data: a random-effects "
        "approach based on empirical estimates of spatial uncertainty. Human Brain Mapping "
        "30(9):2907-2926. doi:10.1002/hbm.20718"
    ),
    "Eickhoff et al., 2012": (
        "Eickhoff SB, Bzdok D, Laird AR, Kurth F, Fox PT (2012). Activation likelihood "
        "estimation meta-analysis revisited. NeuroImage 59(3):2349-2361. "
        "doi:10.1016/j.neuroimage.2011.09.017"
    ),
    "Laird et al., 2005": (
        "Laird AR, Fox PM, Price CJ, Glahn DC, Uecker AM, Lancaster JL, Turkeltaub PE, Kochunov "
        "P, Fox PT (2005). ALE meta-analysis: controlling the false discovery rate and performing "
        "statistical contrasts. Human Brain Mapping 25(1):155-164. doi:10.1002/hbm.20136"
    ),
    "Eickhoff et al., 2016": (
        "Eickhoff SB, Nichols TE, Laird AR, Hoffstaedter F, Amunts K, Fox PT, Bzdok D, "
        "Eickhoff CR (2016). Behavior, sensitivity, and power of activation likelihood "
        "estimation characterized by massive empirical simulation. NeuroImage 137:70-85. "
        "doi:10.1016/j.neuroimage.2016.04.072"
    ),
    "Hedges, 1981": (
        "Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related "
        "estimators. Journal of Educational Statistics 6(2):107-128. "
        "doi:10.3102/10769986006002107"
    ),
    "Lancaster et al., 2007": (
        "Lancaster JL, Tordesillas-Gutiérrez D, Martinez M, Salinas F, Evans A, Zilles K, "
        "Mazziotta JC, Fox PT (2007). Bias between MNI and Talairach coordinates analyzed using "
        "the ICBM-152 brain template. Human Brain Mapping 28(11):1194-1205. "
        "doi:10.1002/hbm.20345"
    ),
    "Abraham et al., 2014": (
        "Abraham A, Pedregosa F, Eickenberg M, Gervais P, Mueller A, Kossaifi J, Gramfort A, "
        "Thirion B, Varoquaux G (2014). Machine learning for neuroimaging with scikit-learn. "
        "Frontiers in Neuroinformatics 8:14. doi:10.3389/fninf.2014.00014"
    ),
    "Rolls et al., 2020": (
        "Rolls ET, Huang CC, Lin CP, Feng J, Joliot M (2020). Automated anatomical labelling "
        "atlas 3. NeuroImage 206:116189. doi:10.1016/j.neuroimage.2019.116189"
    ),
    "Salo et al., 2023": (
        "Salo T, Yarkoni T, Nichols TE, Poline JB, Bilgel M, Bottenhorn KL, et al. (2023). "
        "NiMARE: Neuroimaging Meta-Analysis Research Environment. Aperture Neuro 3:1-32. "
        "doi:10.52294/001c.87681"
    ),
    "Turkeltaub et al., 2002": (
        "Turkeltaub PE, Eden GF, Jones KM, Zeffiro TA (2002). Meta-analysis of the functional "
        "neuroanatomy of single-word reading: method and validation. NeuroImage 16(3):765-780. "
        "doi:10.1006/nimg.2002.1131"
    ),
    "Turkeltaub et al., 2012": (
        "Turkeltaub PE, Eickhoff SB, Laird AR, Fox M, Wiener M, Fox P (2012). Minimizing "
        "within-experiment and within-group effects in activation likelihood estimation "
        "meta-analyses. Human Brain Mapping 33(1):1-13. doi:10.1002/hbm.21186"
    ),
    "Viechtbauer, 2005": (
        "Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the "
        "random-effects model. Journal of Educational and Behavioral Statistics 30(3):261-293. "
        "doi:10.3102/10769986030003261"
    ),
    "Wager et al., 2007": (
        "Wager TD, Lindquist M, Kaplan L (2007). Meta-analysis of functional neuroimaging data: "
        "current and future directions. Social Cognitive and Affective Neuroscience 2(2):150-158. "
        "doi:10.1093/scan/nsm015"
    ),
    "Yarkoni et al., 2011": (
        "Yarkoni T, Poldrack RA, Nichols TE, Van Essen DC, Wager TD (2011). Large-scale "
        "automated synthesis of human functional neuroimaging data. Nature Methods "
        "8(8):665-670. doi:10.1038/nmeth.1635"
    ),
    "Page et al., 2021": (
        "Page MJ, McKenzie JE, Bossuyt PM, Boutron I, Hoffmann TC, Mulrow CD, et al. (2021). "
        "The PRISMA 2020 statement: an updated guideline for reporting systematic reviews. "
        "BMJ 372:n71. doi:10.1136/bmj.n71"
    ),
}

#: Cited whatever the run did: the methods of the coordinate analyses, the coordinate transform
#: and the atlas the report always describes.
ALWAYS_CITED = (
    "Eickhoff et al., 2009",
    "Eickhoff et al., 2012",
    "Eickhoff et al., 2016",
    "Turkeltaub et al., 2012",
    "Wager et al., 2007",
    "Lancaster et al., 2007",
)


@dataclass(frozen=True)
class Methods:
    """Paragraphs (each a heading and its text), the settings table and the reference list."""

    paragraphs: list[tuple[str, str]]
    settings: list[tuple[str, str]]
    references: list[str]


def _selection(context: Context) -> str:
    select = context.selection
    exposures = " or ".join(e.replace("_", " ") for e in select["exposures"])
    reasons = [f"{n} {why}" for why, n in select.get("left_out_by_reason", {}).items() if n]
    unknown = select.get("n_analyses_unknown_space", 0)
    return (
        f"The corpus ({context.summary.get('corpus', 'unknown origin')}) held "
        f"{context.summary['n_studies']} studies. Studies of {exposures} exposure were reviewed "
        f"({select['n_reviewed_studies']} studies); those of them reporting peak coordinates in a "
        f"known space entered the coordinate meta-analyses ({select['n_coordinate_studies']} "
        f"studies, {select['n_experiments']} experiments, {select['n_foci']} foci). "
        + (f"Left out of the meta-analyses: {', '.join(reasons)}. " if reasons else "")
        + (f"{unknown} analyses in an unknown coordinate space were dropped. " if unknown else "")
        + "Foci reported in Talairach space were converted to MNI space with the pooled icbm2tal "
        "transform (Lancaster et al., 2007); analyses whose space was not reported were not "
        "guessed. All analyses used the MNI152 2 mm grid."
    )


def _analysis_text(context: Context) -> list[tuple[str, str]]:
    paragraphs = []
    for analysis in context.analyses:
        if analysis.run:
            text = analysis.record.get("methods", "")
            without = analysis.step.get("n_experiments_without_sample_size", 0)
            if without:
                text += (
                    f" {without} experiment{'s' if without != 1 else ''} without a reported "
                    "sample size could not be given an ALE kernel and "
                    f"{'were' if without != 1 else 'was'} left out of this analysis."
                )
            pooling = analysis.record.get("inputs", {}).get("experiments")
            if isinstance(pooling, dict) and pooling.get("rule"):
                merged = pooling.get("merged", [])
                text += f" Experiments: {pooling['rule']}"
                if merged:
                    text += (
                        f" {len(merged)} experiment{'s' if len(merged) != 1 else ''} pooled "
                        "several analyses ("
                        + ", ".join(m["experiment"] for m in merged)
                        + f"); {pooling.get('n_repeated_foci_removed', 0)} repeated peaks "
                        "were removed."
                    )
            clusters = analysis.record.get("clusters", {})
            if clusters.get("selection"):
                text += (
                    f" Reported clusters: {clusters['selection']}; peaks were labelled with "
                    "the AAL3 atlas (Rolls et al., 2020), the nearest label within 5 mm."
                )
            paragraphs.append((f"{analysis.label} meta-analysis", text))
        elif analysis.status == "skipped":
            paragraphs.append((f"{analysis.label} meta-analysis", f"Not run: {analysis.reason}."))
    return paragraphs


def _regions_text(context: Context) -> str:
    step = context.regions_step
    clusters = step.get("clusters_from")
    overlap = (
        f" Coordinate evidence per region is the overlap of the surviving {clusters.upper()} "
        "clusters with the region's AAL3 labels."
        if clusters
        else ""
    )
    return (
        f"For region-level synthesis, each of the {step.get('n_studies', 0)} reviewed studies "
        "voted once per canonical region and direction (increase, decrease, no change), from "
        "its region findings and from the atlas region of each of its coordinate foci; findings "
        "with an unknown direction or an unmapped region were excluded and listed "
        f"({step.get('n_exclusions', 0)} exclusions). Per region, increases were compared with "
        "decreases by a two-sided exact sign test (no-change votes do not enter), and p-values "
        "were adjusted across regions with the Benjamini-Hochberg procedure (Benjamini & "
        "Hochberg, 1995). Where two or more studies reported an effect size for the same region "
        "and measure, effects were converted to Hedges' g (Hedges, 1981) and pooled in a "
        "random-effects model with the REML estimator of between-study variance (Viechtbauer, "
        "2005), reported with 95% confidence intervals and I²." + overlap
    )


def _software(context: Context) -> str:
    versions = dict(context.summary.get("versions", {}))
    listed = ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))
    return (
        f"Analyses were run with neuroreview {context.summary.get('neuroreview_version', '')} "
        f"({listed}). Figures were drawn with nilearn (Abraham et al., 2014) and matplotlib. "
        "The analyses are deterministic given the seed: rerunning `neuroreview run` with the "
        "same corpus, settings and seed reproduces every map and table."
    )


def settings_rows(context: Context) -> list[tuple[str, str]]:
    """The settings as (name, value) rows, from the recorded run: the run's, then each
    analysis's prefixed with its name."""
    settings = context.settings
    rows = [
        ("exposures", ", ".join(settings.get("exposures", []))),
        ("Monte Carlo iterations", number(settings.get("iterations", ""))),
        ("seed", str(settings.get("seed", ""))),
        ("Monte Carlo threads", str(settings.get("jobs", ""))),
    ]
    for analysis in context.analyses:
        rows += [
            (f"{analysis.label}: {name}", value) for name, value in analysis_settings(analysis)
        ]
    return rows


def analysis_settings(analysis: Analysis) -> list[tuple[str, str]]:
    """One meta-analysis's settings as (name, value) rows; none when it did not run."""
    if not analysis.run:
        return []
    record, step = analysis.record, analysis.step
    estimator = record.get("estimator", {})
    fwe = record.get("fwe", {}) or {}
    kernel = estimator.get("kernel", "")
    if estimator.get("kernel_fwhm_mm"):
        fwhm = estimator["kernel_fwhm_mm"]
        kernel += f", FWHM {number(min(fwhm))}-{number(max(fwhm))} mm (from sample size)"
    elif estimator.get("r_mm"):
        kernel += f", radius {number(estimator['r_mm'])} mm"
    return [
        ("kernel", kernel),
        (
            "null mask",
            f"{record.get('null_mask', '')} ({number(record.get('n_null_voxels', ''))} voxels)",
        ),
        (
            "cluster-forming threshold",
            f"p < {number(fwe.get('voxel_thresh', step.get('voxel_thresh', '')))}",
        ),
        ("cluster-level FWE alpha", number(step.get("alpha", ""))),
        (
            "iterations run (seed)",
            f"{number(fwe.get('n_iters_run', step.get('n_iters_run', '')))} "
            f"({fwe.get('seed', step.get('seed', ''))})",
        ),
    ]


def _contrasts_text(context: Context) -> str:
    """Which contrasts were asked, and which the corpus could support."""
    rows = context.contrasts.records() if context.contrasts is not None else []
    parts = []
    for row in rows:
        sizes = f"{row['group_a']} {row['k_a']}, {row['group_b']} {row['k_b']} experiments"
        verdict = "run" if row["folder"] else "not run"
        parts.append(f"{row['title'].lower()} ({sizes}; {verdict})")
    minimum = rows[0].get("minimum", "") if rows else ""
    return (
        "Contrasts between groups of experiments are tested with ALE subtraction (Laird et al., "
        "2005; Eickhoff et al., 2012): the voxel-wise difference of the two groups' ALE maps "
        "against a null distribution from random reassignment of the pooled experiments to two "
        "groups of the original sizes, with the run's iterations and seed; ties between a "
        "permutation's difference and the observed one were judged in double precision. A "
        f"contrast was run only when both groups had at least {minimum} experiments: "
        + "; ".join(parts)
        + "."
    )


def _screening_text(prisma: dict[str, Any]) -> str:
    """How the records were screened, from the counts and the plan the run recorded."""
    per_stage = prisma.get("reviewers_per_stage", {})
    names = {"screening": "title/abstract screening", "eligibility": "full-text assessment"}
    plan = "; ".join(
        f"{names[stage]} by {count} independent reviewer{'s' if count > 1 else ''}"
        for stage, count in per_stage.items()
        if stage in names
    )
    databases = prisma.get("databases", {}).get("identified", {})
    sources = ", ".join(f"{name} ({n})" for name, n in databases.items())
    text = (
        f"Records were identified in {sources or 'no database'}, deduplicated by DOI, PMID and "
        "fuzzy matching of title, year and first author (every merge recorded with its evidence) "
        "and screened in neuroreview"
    )
    text += f" ({plan}, conflicts settled by a third decision)" if plan else ""
    included = prisma.get("studies_included", 0)
    text += (
        f"; {included} {'study was' if included == 1 else 'studies were'} included. The flow is "
        "reported following PRISMA 2020 (Page et al., 2021)."
    )
    return text


def build_methods(context: Context) -> Methods:
    """The methods paragraphs, the settings and the references cited in them."""
    paragraphs = [("Study selection", _selection(context))]
    paragraphs += _analysis_text(context)
    paragraphs.append(("Region-level synthesis", _regions_text(context)))
    if context.contrasts is not None:
        paragraphs.append(("Contrasts", _contrasts_text(context)))
    if context.prisma is not None:
        paragraphs.append(("Screening", _screening_text(context.prisma)))
    paragraphs.append(("Software and reproducibility", _software(context)))
    attribution = context.summary.get("attribution")
    if attribution:
        paragraphs.append(("Data provenance and licences", attribution))
    text = " ".join(p[1] for p in paragraphs)
    cited = [key for key in REFERENCES if key in text or key in ALWAYS_CITED]
    if attribution and "Neurosynth" in attribution:
        cited.append("Yarkoni et al., 2011")
    # "Turkeltaub et al., 2002, 2012" cites 2002 without repeating the authors.
    if "Turkeltaub et al., 2002, 2012" in text:
        cited.append("Turkeltaub et al., 2002")
    references = sorted({REFERENCES[key] for key in cited})
    return Methods(paragraphs, settings_rows(context), references)
