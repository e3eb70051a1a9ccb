"""The report's headline findings, written as plain sentences from the numbers of the run.

A reader skims the summary first, so it must say what the tables say, no more: which regions
converge, in which direction, on what evidence, and how thin that evidence is. Every sentence is
generated from the context (never typed by hand), so rerunning the review on more studies
rewrites the summary with it. Functions here are pure: hand-made contexts test them.
"""

from __future__ import annotations

import math

from neuroreview.io.layout import IMPUTATION_SENSITIVITY
from neuroreview.report.context import Analysis, Context, Decoded, functional_topics

#: Experiments below which ALE is underpowered and one experiment can drive a cluster
#: (Eickhoff et al., 2016 recommend 17-20).
MIN_EXPERIMENTS = 17
#: The q below which a region's sign test counts as a consistent direction.
Q_ALPHA = 0.05


def number(text: str | float | int, digits: int = 3) -> str:
    """A number as readers see it: integers whole, others to ``digits`` significant digits."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return str(text)
    if math.isnan(value):
        return ""
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def question(context: Context) -> str:
    """The review question, from the drug and the exposures the run meta-analysed."""
    exposures = [e.replace("_", " ") for e in context.settings.get("exposures", [])]
    given = f" ({_join(exposures)})" if exposures else ""
    return (
        f"Where in the brain does {context.drug}{given} change activity or structure, in which "
        "direction, and how consistently across studies?"
    )


def corpus_sentence(context: Context) -> str:
    summary, select = context.summary, context.selection
    reasons = [f"{n} {why}" for why, n in select.get("left_out_by_reason", {}).items() if n]
    left = f" ({_join(reasons)})" if reasons else ""
    return (
        f"The corpus holds {_plural(summary['n_studies'], 'study', 'studies')}; "
        f"{select['n_reviewed_studies']:,} match the question's exposure and "
        f"{select['n_coordinate_studies']:,} of these report peak coordinates "
        f"({_plural(select['n_experiments'], 'experiment')}, {_plural(select['n_foci'], 'focus', 'foci')}); "
        f"{select['n_left_out']:,} studies are not in the coordinate meta-analyses{left}."
    )


def analysis_sentences(analysis: Analysis) -> list[str]:
    """What one meta-analysis found, and how much evidence it rests on."""
    label = analysis.label
    if analysis.status == "absent":
        return []
    if not analysis.run:
        return [f"The {label} meta-analysis was not run: {analysis.reason}."]
    step = analysis.step
    n_exp, n_foci = step["n_experiments"], step["n_foci"]
    alpha = number(step.get("alpha", 0.05))
    evidence = f"{_plural(n_exp, 'experiment')}, {_plural(n_foci, 'focus', 'foci')}"
    without = step.get("n_experiments_without_sample_size", 0)
    if without:
        evidence = f"{n_exp + without} experiments, {n_exp} with sample sizes; {_plural(n_foci, 'focus', 'foci')}"
    imputation = step.get("sample_size_imputation") or {}
    if imputation.get("n_imputed"):
        evidence += (
            f"; {imputation['n_imputed']} with an imputed sample size "
            f"(N = {number(imputation['value'])})"
        )
    peaks = analysis.peaks()
    if not peaks:
        sentences = [f"No {label} cluster survived cluster-level FWE (p < {alpha}; {evidence})."]
    else:
        described = [
            f"{_where(peak)} ({number(peak['size_mm3'])} mm³, peak z = {number(peak['peak_stat'])}, "
            f"FWE p = {number(peak['p_corrected'])})"
            for peak in peaks
        ]
        sentences = [
            f"{_plural(len(peaks), f'{label} cluster')} survived cluster-level FWE "
            f"(p < {alpha}; {evidence}): {_join(described)}."
        ]
    sensitivity = [
        row for row in imputation.get("sensitivity", []) if row.get("scenario") != "imputed"
    ]
    if sensitivity:
        tried = " and ".join(f"N = {number(row['imputed_n'])}" for row in sensitivity)
        if all(row["same_clusters"] for row in sensitivity):
            sentences.append(
                f"Imputing {tried} instead (the smallest and largest reported sample sizes) "
                "leaves the same clusters: the imputation does not decide the result."
            )
        else:
            sentences.append(
                f"Imputing {tried} instead (the smallest and largest reported sample sizes) "
                "changes the surviving clusters: the result depends on the imputed sample size "
                f"(see {IMPUTATION_SENSITIVITY})."
            )
    if n_exp < MIN_EXPERIMENTS:
        sentences.append(
            f"With {_plural(n_exp, 'experiment')}, fewer than the {MIN_EXPERIMENTS}-20 "
            f"recommended (Eickhoff et al., 2016), the {label} analysis has little power and a "
            "single experiment can drive a cluster: treat its result as preliminary."
        )
    return sentences


def _where(peak: dict[str, str]) -> str:
    label = peak.get("label") or "no AAL3 label"
    return f"{label} at ({peak['x']}, {peak['y']}, {peak['z']})"


def direction_sentence(context: Context) -> str | None:
    """Coordinate meta-analyses pool directions; say so when the corpus cannot tell them apart."""
    directions = context.summary.get("analyses_by_direction", {})
    total = sum(directions.values())
    unknown = directions.get("unknown", 0)
    if not total:
        return None
    if unknown:
        return (
            f"{unknown:,} of {total:,} coordinate analyses in the corpus record no direction, so "
            "the meta-analyses pool increases and decreases: a cluster says where studies "
            "report effects, not which way."
        )
    words = {"increase": "an increase", "decrease": "a decrease", "no_change": "no change"}
    parts = [
        f"{n:,} {'reports' if n == 1 else 'report'} {words.get(d, d.replace('_', ' '))}"
        for d, n in directions.items()
    ]
    return (
        f"Of the {total:,} coordinate analyses in the corpus, {_join(parts)}; the meta-analyses "
        "pool them whatever their direction."
    )


def _region_rows(context: Context) -> list[dict[str, str]]:
    """One row per region (the first, for regions with several measures), in table order."""
    seen, rows = set(), []
    for row in context.convergence.records():
        if row["region"] not in seen:
            seen.add(row["region"])
            rows.append(row)
    return rows


def _votes(row: dict[str, str]) -> str:
    if int(row["n_studies"] or 0) == 0:
        return "no study votes for it"
    parts = [
        f"{row['increase']} increase",
        f"{row['decrease']} decrease",
    ]
    if row["no_change"] not in ("", "0"):
        parts.append(f"{row['no_change']} no change")
    return f"{_plural(int(row['n_studies']), 'study', 'studies')}: {', '.join(parts)}"


def region_sentences(context: Context) -> list[str]:
    """Which regions lean one way, which are most reported, and how thin the counts are."""
    rows = [r for r in _region_rows(context) if int(r["n_studies"] or 0) > 0]
    if not rows:
        return ["No study reported a region with a known direction, so no votes were counted."]
    directional = [r for r in rows if r["q_bh"] != ""]
    consistent = [r for r in directional if float(r["q_bh"]) < Q_ALPHA]
    sentences = []
    if consistent:
        described = [
            f"{r['name']} ({'increase' if int(r['increase']) > int(r['decrease']) else 'decrease'}; "
            f"{_votes(r)}; sign test p = {number(r['p_sign'])}, BH q = {number(r['q_bh'])})"
            for r in consistent
        ]
        sentences.append(
            f"{len(consistent):,} of {_plural(len(directional), 'region')} with directional "
            f"votes {'shows' if len(consistent) == 1 else 'show'} a consistent "
            f"direction after Benjamini-Hochberg correction: {_join(described)}."
        )
    else:
        best = min(directional, key=lambda r: float(r["q_bh"])) if directional else None
        smallest = (
            f"; the smallest is {best['name']} (sign test p = {number(best['p_sign'])}, "
            f"BH q = {number(best['q_bh'])})"
            if best
            else ""
        )
        sentences.append(
            f"No region's votes lean one way beyond chance after Benjamini-Hochberg correction "
            f"across {_plural(len(directional), 'region')} with directional votes{smallest}."
        )
    most = sorted(rows, key=lambda r: -int(r["n_studies"]))[:3]
    sentences.append(
        "The most-reported regions are " + _join([f"{r['name']} ({_votes(r)})" for r in most]) + "."
    )
    thin = sum(1 for r in rows if int(r["n_studies"]) < 3)
    sentences.append(
        f"{thin:,} of the {_plural(len(rows), 'region')} with votes "
        f"{'rests' if thin == 1 else 'rest'} on fewer than 3 studies, too few for a sign test "
        "to reach significance whatever the direction."
    )
    return sentences


def convergence_sentence(context: Context) -> str:
    """Whether a surviving cluster meets a region the votes name."""
    source = context.regions_step.get("clusters_from")
    if not source:
        return "The region votes were not compared with coordinate clusters: no ALE analysis ran."
    label = context.analysis(source).label if context.analysis(source) else source.upper()
    touched = [r for r in _region_rows(context) if r["clusters"] not in ("", "0", "0.0")]
    if not touched:
        return (
            f"No surviving {label} cluster overlaps a region of the vocabulary, so no region has "
            "both coordinate and vote evidence."
        )
    described = [
        f"{r['name']} ({number(r['cluster_percent'])}% covered; {_votes(r)})" for r in touched
    ]
    return f"Surviving {label} clusters overlap {_join(described)}."


def effect_sentence(context: Context) -> str:
    pooled = context.pooled()
    if not pooled:
        return (
            "No region has effect sizes to pool: no region and measure has two or more studies "
            "reporting an effect size."
        )
    described = [
        f"{r['name']} ({r['measure']}): g = {number(r['g'], 2)} "
        f"[{number(r['ci_low'], 2)}, {number(r['ci_high'], 2)}], k = {number(r['k'])}, "
        f"I² = {number(r['i2'], 2)}%"
        for r in pooled
    ]
    return f"Pooled effect sizes (random effects, Hedges' g with 95% CI): {_join(described)}."


def _first_function(decoded: Decoded) -> dict[str, str] | None:
    """The best-ranked topic that names a function rather than a method or anatomy, if any."""
    topics = functional_topics(decoded)
    return topics[0] if topics else None


def _map_has_clusters(context: Context, decoded: Decoded) -> bool:
    """Whether the meta-analysis a decoded map comes from has a surviving cluster."""
    for analysis in context.analyses:
        if analysis.run and decoded.target.startswith(f"{analysis.label} "):
            return analysis.n_clusters > 0
    return False


def corpus_paragraph(context: Context) -> str:
    """What the corpus is and what it was read from: how thin the evidence is, in numbers."""
    sources = context.summary.get("corpus_sources")
    if not sources:
        return ""
    n = sources["n_studies"]
    counts = sources["n_by_source"]
    names = {
        "neurosynth": "Neurosynth (peaks extracted automatically from the papers' tables)",
        "published meta-analysis input": "a published meta-analysis's coordinate input",
        "full-text table": "a table of the paper read by the curator",
        "abstract": "the abstract page",
    }
    read = [f"{counts[k]} on {names.get(k, k)}" for k in names if counts.get(k)]
    text = (context.summary.get("corpus_sources", {}).get("about") or "") + " "
    text += (
        f"Of its {_plural(n, 'study', 'studies')}, {_join(read)} (a study can rest on several); "
        f"{sources['n_abstract_only']} ({round(100 * sources['share_abstract_only'])}%) "
        "rest on their abstracts alone, which seldom give effect sizes and often no direction "
        "for secondary results."
    )
    if sources.get("unsourced"):
        text += f" {len(sources['unsourced'])} name no source."
    return text.strip()


def decoding_sentences(context: Context) -> list[str]:
    """What the maps, clusters and regions are known to do, by their best functional topic.

    One sentence per kind of target, so a reader sees the maps apart from the regions; each
    names the statistic (r or association z) the ranking rests on.
    """
    maps, places = [], []
    for decoded in context.decoding:
        top = _first_function(decoded)
        if top is None:
            continue
        if decoded.kind == "map" and not _map_has_clusters(context, decoded):
            # A map in which nothing survived resembles a topic by its noise: not a finding.
            continue
        if decoded.kind == "map" and "r" in top:
            maps.append(
                f"the {decoded.target} most resembles '{top['label']}' (r = {number(top['r'])})"
            )
        elif "z_association" in top:
            places.append(
                f"{decoded.target}: '{top['label']}' (z = {number(top['z_association'])})"
            )
    sentences = []
    if maps:
        sentences.append(
            "Functional decoding against the 50 Neurosynth topics (section 4): "
            + "; ".join(maps)
            + "."
        )
    if places:
        sentences.append(
            "The topic most over-represented among the Neurosynth studies that report each "
            "surviving cluster or converging region (reverse inference, not a drug effect): "
            + "; ".join(places)
            + "."
        )
    return sentences


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def claim_sentences(context: Context) -> list[str]:
    """The review's claims as counts of studies for, against and unknown."""
    if context.claims is None:
        return []
    described = [
        f"claim {row['claim']} ({_lower_first(row['statement'].split(':')[0])}): "
        f"{row['n_for']} for, {row['n_against']} against, {row['n_unknown']} unknown"
        for row in context.claims.records()
    ]
    return [
        "Against the review's claims, counting studies by their drug effects in the claimed "
        f"regions (table below): {'; '.join(described)}."
    ]


def question_sentences(context: Context) -> list[str]:
    """Which of the review's questions had enough experiments to be meta-analysed."""
    if context.questions is None:
        return []
    by_question: dict[str, list[str]] = {}
    for row in context.questions.records():
        by_question.setdefault(row["title"], []).append(f"{row['direction']} {row['status']}")
    minimum = context.summary["steps"].get("questions", {}).get("minimum")
    return [
        "Asked separately, "
        + "; ".join(
            f"{_lower_first(title)}: {', '.join(parts)}" for title, parts in by_question.items()
        )
        + (f" (a meta-analysis needs {minimum} experiments)." if minimum else ".")
    ]


def headline(context: Context) -> list[str]:
    """The summary's findings, in reading order."""
    sentences = [corpus_sentence(context)]
    sentences += question_sentences(context)
    sentences += claim_sentences(context)
    for analysis in context.analyses:
        sentences += analysis_sentences(analysis)
    direction = direction_sentence(context)
    if direction:
        sentences.append(direction)
    sentences += region_sentences(context)
    sentences.append(convergence_sentence(context))
    sentences.append(effect_sentence(context))
    sentences += decoding_sentences(context)
    return sentences
