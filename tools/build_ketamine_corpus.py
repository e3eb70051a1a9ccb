"""Build the shipped ketamine corpus from its curation source.

Reads ``curation/ketamine/studies/*.yaml`` (one hand-curated file per study, every value with its
source) and the raw files in ``../shared/data/ketamine/`` (plus the Neurosynth v0.7 metadata in
``../shared/data/neurosynth/``), and writes ``studies.tsv``, ``foci.tsv``,
``region_findings.tsv`` and ``exclusions/exclusions.tsv`` into ``src/neuroreview/data/ketamine/``.

Deterministic: studies sorted by id, analyses by Neurosynth table id, foci by peak id; the same
inputs give the same bytes. Usage::

    python tools/build_ketamine_corpus.py [--out DIR] [--shared DIR]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
from pathlib import Path

import yaml

from neuroreview.io.tables import read_tables, write_tables
from neuroreview.model import Analysis, Focus, RegionFinding, Study
from neuroreview.synthesis.regions import canonical_region, load_vocabulary

ROOT = Path(__file__).resolve().parents[1]
CURATION = ROOT / "curation" / "ketamine" / "studies"
OUT = ROOT / "src" / "neuroreview" / "data" / "ketamine"
SHARED = ROOT.parent / "shared" / "data"

FIELDS = ("population", "n_subjects", "design", "drug", "dose", "route", "modality", "timing")
FIELDS += ("exposure",)
PEAKS_PAGE = "table page PMC4246009 (https://pmc.ncbi.nlm.nih.gov/articles/PMC4246009/table/tbl2)"
EXCLUSION_COLUMNS = ("source", "source_id", "table_id", "peak_id", "x", "y", "z", "space")
EXCLUSION_COLUMNS += ("study_id", "reason")
EXCLUSIONS = Path("exclusions") / "exclusions.tsv"


def read_csv_rows(shared: Path) -> list[dict[str, str]]:
    path = shared / "ketamine" / "region_findings_candidates.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def read_neurosynth_foci(shared: Path) -> list[dict[str, str]]:
    path = shared / "ketamine" / "neurosynth_ketamine_foci.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def read_neurosynth_metadata(shared: Path, pmids: set[str]) -> dict[str, dict[str, str]]:
    path = shared / "neurosynth" / "data-neurosynth_version-7_metadata.tsv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {row["id"]: row for row in rows if row["id"] in pmids}


def read_saberi(shared: Path) -> list[dict[str, str]]:
    path = shared / "ketamine" / "saberi2025" / "ketamine_foci.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


SABERI_SOURCE = (
    "Saberi et al. 2025 (Mol Psychiatry, doi 10.1038/s41380-024-02780-6) pyALE input, "
    "github amnsbr/antidepressants_meta {file} (as ../shared/data/ketamine/saberi2025/)"
)
#: The imaging measure of each modality, where a table does not name its own.
MEASURE_OF_MODALITY = {
    "fmri_task": "bold",
    "fmri_rest": "bold",
    "phmri": "bold",
    "asl": "cbf",
    "pet": "glucose_metabolism",
}


def read_peaks(shared: Path) -> list[dict[str, str]]:
    path = shared / "ketamine" / "literature_peaks.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_curation(folder: Path = CURATION) -> list[dict]:
    entries = []
    for path in sorted(folder.glob("*.yaml")):
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        if entry["id"] != path.stem:
            raise SystemExit(f"{path}: id {entry['id']!r} differs from the file name")
        entries.append(entry)
    return entries


def _ids_from_csv(cell: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in (p.strip() for p in cell.split(";")):
        if part.upper().startswith("PMID"):
            found["pmid"] = part.split()[-1]
        elif part.startswith("10."):
            found["doi"] = part
        elif part.upper().startswith("PMC"):
            found["pmcid"] = part
    return found


def _clean_title(text: str) -> str:
    return " ".join(text.split())


class Builder:
    def __init__(self, shared: Path) -> None:
        self.shared = shared
        self.csv_rows = read_csv_rows(shared)
        self.ns_foci = read_neurosynth_foci(shared)
        self.peaks = read_peaks(shared)
        self.saberi = read_saberi(shared)
        pmids = {row["id"] for row in self.ns_foci}
        self.ns_meta = read_neurosynth_metadata(shared, pmids)
        self.exclusions: list[dict[str, str]] = []

    def source(self, code: str, entry: dict) -> str:
        if code == "csv":
            row = self.csv_rows[entry["csv_row"] - 1]
            return f"abstract page {row['source_url']}"
        if code in ("ns", "nstitle"):
            pmid = entry["neurosynth"]
            what = "title in " if code == "nstitle" else ""
            return f"{what}Neurosynth v0.7 metadata PMID {pmid}"
        return code

    def study(self, entry: dict) -> Study:
        provenance: dict[str, str] = {}
        values: dict[str, object] = {"id": entry["id"], "drug": "ketamine"}
        notes: list[str] = []
        if "csv_row" in entry:
            row = self.csv_rows[entry["csv_row"] - 1]
            csv_src = self.source("csv", entry)
            if row["first_author"]:
                values["authors"] = [row["first_author"]]
                provenance["authors"] = f"first author only: {csv_src}"
            if row["year"]:
                values["year"] = int(row["year"])
                provenance["year"] = csv_src
            if row["journal_if_known"]:
                values["journal"] = row["journal_if_known"]
                provenance["journal"] = csv_src
            ids = _ids_from_csv(row["doi_or_pmid_if_known"])
            for key in ("doi", "pmid"):
                if key in ids:
                    values[key] = ids[key]
                    provenance[key] = csv_src
            if "pmcid" in ids:
                notes.append(f"PMCID {ids['pmcid']}.")
            provenance["csv_row"] = f"region_findings_candidates.csv data row {entry['csv_row']}"
        if "neurosynth" in entry:
            pmid = str(entry["neurosynth"])
            meta = self.ns_meta[pmid]
            ns_src = self.source("ns", entry)
            values |= {
                "title": _clean_title(meta["title"]),
                "authors": [a.strip() for a in meta["authors"].split(",") if a.strip()],
                "year": int(meta["year"]),
                "journal": meta["journal"],
                "doi": meta["doi"],
                "pmid": pmid,
            }
            provenance |= {k: ns_src for k in ("title", "authors", "year", "journal", "doi")}
            provenance["pmid"] = ns_src
        citation = dict(entry.get("citation") or {})
        citation_src = citation.pop("src", None)
        for key, value in citation.items():
            values[key] = str(value) if key == "pmid" else value
            provenance[key] = citation_src or (
                self.source("csv", entry) if "csv_row" in entry else "curation"
            )
        for key in ("title", "authors", "year", "journal", "doi", "pmid"):
            if key not in values:
                provenance[key] = (
                    "unknown: not in the raw files; the publication record would settle"
                )
        for field in FIELDS:
            spec = entry["fields"].get(field)
            if spec is None:
                if field == "drug":
                    provenance["drug"] = "all studies in the raw files are of ketamine"
                    continue
                raise SystemExit(f"{entry['id']}: field {field!r} is not curated")
            value = spec["v"]
            if value == "unknown":
                provenance[field] = f"unknown: {spec['settle']}"
                if field in ("population", "modality", "timing", "exposure"):
                    values[field] = "unknown"
                continue
            values[field] = value
            text = self.source(spec["src"], entry)
            if spec.get("quote"):
                text += f': "{spec["quote"]}"'
            if spec.get("note"):
                text += f" ({spec['note']})"
            provenance[field] = text
        if entry.get("notes"):
            notes.append(entry["notes"])
        values["notes"] = " ".join(notes) or None
        values["provenance"] = dict(sorted(provenance.items()))
        values["analyses"] = self.analyses(entry)
        self.check_saberi_cover(entry, values["analyses"])
        values["region_findings"] = self.findings(entry)
        return Study.model_validate(values)

    def analyses(self, entry: dict) -> list[Analysis]:
        analyses: list[Analysis] = []
        if "neurosynth" in entry:
            analyses += self.neurosynth_analyses(entry)
        if entry.get("peaks"):
            analyses.append(self.peaks_analysis(entry))
        analyses += self.saberi_analyses(entry)
        analyses += [self.extra_analysis(entry, spec) for spec in entry.get("extra_analyses") or []]
        return analyses

    def measure_of(self, entry: dict, spec: dict) -> str:
        if spec.get("measure"):
            return spec["measure"]
        if entry.get("measure"):
            return entry["measure"]
        modality = entry["fields"]["modality"]["v"]
        return MEASURE_OF_MODALITY.get(modality, "other")

    def saberi_analyses(self, entry: dict) -> list[Analysis]:
        """One analysis per direction of the study's experiment in Saberi et al.'s data set."""
        spec = entry.get("saberi")
        if not spec:
            return []
        rows = [r for r in self.saberi if r["experiment"] == spec["experiment"]]
        if not rows:
            raise SystemExit(f"{entry['id']}: no Saberi experiment {spec['experiment']!r}")
        if spec.get("covered_by"):
            return []  # the same foci are a curated Neurosynth table of this study (checked)
        fixes = {tuple(f["reported"]): f for f in spec.get("focus_notes") or []}
        result = []
        for direction in ("increase", "decrease", "unknown"):
            chosen = [r for r in rows if r["direction"] == direction]
            if not chosen:
                continue
            files = sorted({r["source_file"] for r in chosen})
            note = SABERI_SOURCE.format(file=", ".join(files))
            note += f"; experiment {spec['experiment']}, contrast '{chosen[0]['contrast']}'."
            if spec.get("note"):
                note += f" {spec['note']}"
            for row in chosen:
                key = (float(row["x"]), float(row["y"]), float(row["z"]))
                if key in fixes:
                    note += f" Focus {row['x']} {row['y']} {row['z']}: {fixes[key]['note']}"
            result.append(
                Analysis(
                    id=f"saberi-{direction}",
                    name=f"{spec['experiment']} ({direction}, Saberi et al. 2025)",
                    contrast=chosen[0]["contrast"],
                    direction=direction,
                    kind=spec.get("kind", "drug_effect"),
                    measure=self.measure_of(entry, spec),
                    subject_group=spec.get("group"),
                    n_subjects=int(chosen[0]["n_subjects"]),
                    space=chosen[0]["space"],
                    foci=[Focus(x=r["x"], y=r["y"], z=r["z"]) for r in chosen],
                    notes=note,
                )
            )
        return result

    def check_saberi_cover(self, entry: dict, analyses: list[Analysis]) -> None:
        spec = entry.get("saberi") or {}
        if not spec.get("covered_by"):
            return
        rows = [r for r in self.saberi if r["experiment"] == spec["experiment"]]
        for direction in ("increase", "decrease"):
            theirs = sorted(
                (float(r["x"]), float(r["y"]), float(r["z"]))
                for r in rows
                if r["direction"] == direction
            )
            ours = sorted(
                (f.x, f.y, f.z)
                for a in analyses
                if a.id.startswith(f"ns-{spec['covered_by']}") and a.direction.value == direction
                for f in a.foci
            )
            if theirs != ours:
                raise SystemExit(
                    f"{entry['id']}: Saberi {spec['experiment']} {direction} foci differ from "
                    f"Neurosynth table {spec['covered_by']}"
                )

    def extra_analysis(self, entry: dict, spec: dict) -> Analysis:
        direction = spec.get("direction", "unknown")
        if direction != "unknown" and not (spec.get("src") and spec.get("quote")):
            raise SystemExit(f"{entry['id']}: {spec['id']} has a direction but no src and quote")
        note = f"Read on {spec['src']}"
        if spec.get("quote"):
            note += f': "{spec["quote"]}"'
        if spec.get("settle"):
            note += f". Unknown: {spec['settle']}"
        if spec.get("note"):
            note += f". {spec['note']}"
        n = spec.get("n")
        return Analysis(
            id=spec["id"],
            name=spec.get("name", ""),
            contrast=spec.get("contrast"),
            direction=direction,
            kind=spec["kind"],
            measure=self.measure_of(entry, spec),
            subject_group=spec.get("group"),
            n_subjects=(n["v"] if isinstance(n, dict) else n) or None,
            space=spec.get("space", "UNKNOWN"),
            foci=[Focus(x=x, y=y, z=z) for x, y, z in spec["foci"]],
            notes=note + ".",
        )

    def neurosynth_analyses(self, entry: dict) -> list[Analysis]:
        pmid = str(entry["neurosynth"])
        curated = {str(k): v for k, v in (entry.get("analyses") or {}).items()}
        tables: dict[str, list[dict[str, str]]] = {}
        for row in self.ns_foci:
            if row["id"] == pmid:
                tables.setdefault(row["table_id"], []).append(row)
        result = []
        for table_id in sorted(tables, key=int):
            rows = sorted(tables[table_id], key=lambda r: int(r["peak_id"]))
            space = rows[0]["space"]
            if space == "UNKNOWN":
                for row in rows:
                    self.exclude("neurosynth", row, entry["id"], space_reason(row))
                if table_id in curated:
                    raise SystemExit(f"{entry['id']}: table {table_id} is UNKNOWN space")
                continue
            if table_id not in curated:
                raise SystemExit(f"{entry['id']}: Neurosynth table {table_id} is not curated")
            spec = curated.pop(table_id)
            if "kind" not in spec:
                raise SystemExit(f"{entry['id']}: table {table_id} has no kind")
            direction = spec.get("direction", "unknown")
            if direction != "unknown" and not (spec.get("src") and spec.get("quote")):
                raise SystemExit(f"{entry['id']}: table {table_id} has a direction but no quote")
            note = f"Neurosynth v0.7 table {table_id} (table {rows[0]['table_num']}, PMID {pmid});"
            note += " automatically extracted peaks (Neurosynth records no contrast)."
            if spec.get("src"):
                note += f" Contrast read on: {spec['src']}"
                note += f' ("{spec["quote"]}").' if spec.get("quote") else "."
            if spec.get("exclude"):
                reason = spec["exclude"]
                text = reason.get("reason") if isinstance(reason, dict) else reason
                for row in rows:
                    self.exclude("neurosynth", row, entry["id"], f"table left out: {text}")
                continue
            n = spec.get("n")
            common = {
                "contrast": spec.get("contrast"),
                "kind": spec["kind"],
                "measure": self.measure_of(entry, spec),
                "subject_group": spec.get("group"),
                "n_subjects": (n["v"] if isinstance(n, dict) else n) or None,
                "space": space,
            }
            split = spec.get("split")
            if split:
                by_peak = {int(r["peak_id"]): r for r in rows}
                listed = [*split["increase"], *split["decrease"]]
                if sorted(listed) != sorted(by_peak):
                    raise SystemExit(f"{entry['id']}: split of table {table_id} misses peaks")
                for part in ("increase", "decrease"):
                    chosen = [by_peak[int(p)] for p in split[part]]
                    part_note = (
                        f"{note} Peaks {part} by {split['src']}"
                        f' ("{split["quote"][:300]}"). {split.get("note", "")}'
                    ).strip()
                    result.append(
                        Analysis(
                            id=f"ns-{table_id}-{part}",
                            name=f"table {rows[0]['table_num']} ({part}s)",
                            direction=part,
                            foci=[Focus(x=r["x"], y=r["y"], z=r["z"]) for r in chosen],
                            notes=part_note,
                            **common,
                        )
                    )
                continue
            if direction == "unknown":
                note += f" Direction unknown: {spec.get('settle', 'no source states it')}."
            result.append(
                Analysis(
                    id=f"ns-{table_id}",
                    name=f"table {rows[0]['table_num']}",
                    direction=direction,
                    foci=[Focus(x=r["x"], y=r["y"], z=r["z"]) for r in rows],
                    notes=note,
                    **common,
                )
            )
        if curated:
            raise SystemExit(f"{entry['id']}: curated tables {sorted(curated)} not in Neurosynth")
        return result

    def peaks_analysis(self, entry: dict) -> Analysis:
        kept = []
        for number, row in enumerate(self.peaks, start=1):
            if row["direction"] == "increase" and "ketamine>placebo" in row["contrast"]:
                kept.append(row)
            else:
                reason = (
                    "brain-symptom association (FC change vs symptom change), not a ketamine vs"
                    " placebo contrast; sign convention not stated on the table page"
                )
                self.exclude(
                    "literature_peaks", {**row, "peak_id": str(number)}, entry["id"], reason
                )
        return Analysis(
            id="pmc4246009-tbl2",
            name="striatal-seed FC, ketamine > placebo",
            contrast="ketamine > placebo (dorsal caudate and ventral striatum seeds)",
            direction="increase",
            kind="drug_effect",
            measure="connectivity",
            space="MNI",
            foci=[
                Focus(
                    x=r["x"],
                    y=r["y"],
                    z=r["z"],
                    stat_kind="z",
                    stat_value=r["stat_value"],
                    label=r["contrast"].split(":")[-1].strip(),
                )
                for r in kept
            ],
            notes=(
                f'{PEAKS_PAGE}, table 2 ("Ketamine Greater Than Placebo"); attributed to Dandash'
                " et al. 2015 by content (the page does not name the paper). Peaks of both seeds"
                " pooled in one analysis; each keeps the authors' region name as its label."
            ),
        )

    def findings(self, entry: dict) -> list[RegionFinding]:
        result = []
        for spec in entry.get("findings") or []:
            raw = spec["raw"]
            region = spec.get("region") or canonical_region(raw)
            region_id = region if isinstance(region, str) else (region.id if region else raw)
            if "kind" not in spec:
                raise SystemExit(f"{entry['id']}: finding {raw!r} has no kind")
            if spec["dir"] != "unknown" and not spec.get("quote"):
                raise SystemExit(f"{entry['id']}: finding {raw!r} has a direction but no quote")
            if spec.get("src"):
                where = spec["src"]
            elif "csv_row" in entry:
                where = f"direction_per_region of {self.source('csv', entry)}"
            else:
                raise SystemExit(f"{entry['id']}: finding {raw!r} names no src")
            note = f'"{spec["quote"]}" ({where})' if spec.get("quote") else where
            if spec.get("group"):
                note = f"subject group {spec['group']}; {note}"
            n = spec.get("n")
            if isinstance(n, dict):
                note = f"n = {n['v']}; {note}"
            if spec.get("note"):
                note = f"{spec['note']}; {note}"
            if region is None:
                note = f"unmapped region name; {note}"
            result.append(
                RegionFinding(
                    region=region_id,
                    region_raw=raw,
                    direction=spec["dir"],
                    kind=spec["kind"],
                    measure=spec["measure"],
                    contrast=spec.get("contrast"),
                    notes=note,
                )
            )
        return result

    def exclude(self, source: str, row: dict, study_id: str, reason: str) -> None:
        self.exclusions.append(
            {
                "source": source,
                "source_id": row.get("id", "PMC4246009 table 2"),
                "table_id": row.get("table_id", "tbl2"),
                "peak_id": row["peak_id"],
                "x": row["x"],
                "y": row["y"],
                "z": row["z"],
                "space": row["space"],
                "study_id": study_id,
                "reason": reason,
            }
        )

    def remove_flagged(self, studies: list[Study]) -> list[Study]:
        """Foci the coordinate check flags leave the corpus, each listed with its reason (an
        analysis left without foci leaves with them)."""
        from neuroreview.cbma.checks import check_coordinates, without_flagged

        flags = check_coordinates(studies)
        for flag in flags:
            self.exclusions.append(
                {
                    "source": "coordinate check",
                    "source_id": flag.study_id,
                    "table_id": flag.analysis_id,
                    "peak_id": str(flag.focus_index + 1),
                    "x": f"{flag.x:g}",
                    "y": f"{flag.y:g}",
                    "z": f"{flag.z:g}",
                    "space": flag.space,
                    "study_id": flag.study_id,
                    "reason": f"{flag.reason.value} ({flag.distance_mm:g} mm from the mask)",
                }
            )
        kept, emptied = without_flagged(studies, flags)
        return sorted([*kept, *emptied], key=lambda study: study.id)

    def check_coverage(self, entries: list[dict]) -> None:
        rows = [e["csv_row"] for e in entries if "csv_row" in e]
        if sorted(rows) != list(range(1, len(self.csv_rows) + 1)):
            raise SystemExit(f"CSV rows not each curated exactly once: {sorted(rows)}")
        pmids = sorted(str(e["neurosynth"]) for e in entries if "neurosynth" in e)
        if pmids != sorted({r["id"] for r in self.ns_foci}):
            raise SystemExit("Neurosynth studies not each curated exactly once")
        experiments = sorted(e["saberi"]["experiment"] for e in entries if e.get("saberi"))
        if experiments != sorted({r["experiment"] for r in self.saberi}):
            raise SystemExit(f"Saberi experiments not each curated exactly once: {experiments}")
        if sum(1 for e in entries if e.get("peaks")) != 1:
            raise SystemExit("the literature peaks must be attributed to exactly one study")


def space_reason(row: dict[str, str]) -> str:
    return (
        "coordinate space UNKNOWN in Neurosynth v0.7: CBMA cannot place the peak;"
        " the paper's methods (template) would settle"
    )


def build(out: Path = OUT, shared: Path = SHARED, curation: Path = CURATION) -> list[Study]:
    builder = Builder(shared)
    entries = load_curation(curation)
    builder.check_coverage(entries)
    studies = [builder.study(entry) for entry in sorted(entries, key=lambda e: e["id"])]
    studies = builder.remove_flagged(studies)
    out.mkdir(parents=True, exist_ok=True)
    write_tables(studies, out, fmt="tsv")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, EXCLUSION_COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(builder.exclusions)
    # In a subfolder: load_builtin_corpus() reads every *.tsv directly in ``out`` as a corpus table.
    (out / "exclusions").mkdir(exist_ok=True)
    (out / EXCLUSIONS).write_bytes(buffer.getvalue().encode("utf-8"))
    return read_tables([out / f"{k}.tsv" for k in ("studies", "foci", "region_findings")])


def summary(studies: list[Study]) -> dict[str, object]:
    analyses = [a for s in studies for a in s.analyses]
    known = [a for a in analyses if a.direction.value != "unknown"]
    findings = [f for s in studies for f in s.region_findings]
    vocab = load_vocabulary().regions
    return {
        "studies": len(studies),
        "analyses": len(analyses),
        "analyses_known_direction": len(known),
        "foci": sum(len(a.foci) for a in analyses),
        "region_findings": len(findings),
        "region_findings_known_direction": sum(f.direction.value != "unknown" for f in findings),
        "unmapped_regions": sorted({f.region_raw or "" for f in findings if f.region not in vocab}),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args(argv)
    studies = build(args.out, args.shared)
    print(json.dumps(summary(studies), indent=2))


if __name__ == "__main__":
    main()
