"""Benchmark: simulated active-learning screening on 899 labelled meta-analyses, against random.

Each label of ``../shared/data/screening/neuro_meta_analyses.jsonl`` (or ``--data FOLDER``) is
a screening question ("which papers are X?"); the papers' title, abstract and keywords are what
is screened. For each label in :data:`LABELS` and each seed 0-4, ``simulate`` (logistic model,
one prior include and one prior exclude drawn with the seed, the default retraining schedule)
is run, and ``simulate_random`` with the same seed, so with the same priors, is the peer:
random reading. Rows, appended to ``RESULTS.md``:

* one per label and seed: WSS@95 / RRF@10, ours and random order, and the time of the
  simulation;
* one per label: the mean over the seeds, the best WSS@95 and RRF@10 possible (every relevant
  record first), and whether the label is an easy question, measured: the share of relevant and
  of irrelevant papers whose title, and whose title + abstract + keywords, contain the label's
  key term, and the title word that best tells them apart;
* one per label at seed 0 with ``retrain_every=1`` (ASReview's retraining after every decision)
  against the default schedule, to show what the schedule costs.

Metrics as ASReview Insights defines them, priors left out: see
``neuroreview.screening.simulation``. Run ``python benchmarks/bench_screening.py``; about two
minutes.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

from _results import RESULTS, new_result, publish  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "screening"
FILE = "neuro_meta_analyses.jsonl"
SEEDS = (0, 1, 2, 3, 4)
MODEL = "logistic"

#: label -> (key term as a regular expression, how the term is read). ``exclude`` has no word
#: of its own: the excluded papers are those that are not coordinate-based meta-analyses, so its
#: term is the vocabulary of coordinate-based methods, expected in the kept papers instead.
LABELS = {
    "algorithm-ALE": (r"activation likelihood estimation|\bALE\b", "ALE"),
    "software-gingerale": (r"ginger\s*ale", "GingerALE"),
    "exclude": (
        r"activation likelihood|\bALE\b|\bMKDA\b|kernel density|\bSDM\b|seed-based d"
        r"|coordinate[- ]based|ginger\s*ale",
        "a coordinate-based method (ALE, MKDA, SDM, coordinate-based...)",
    ),
    "guidelines - prisma": (r"\bPRISMA\b|preferred reporting items", "PRISMA"),
    "algorithm-SDM": (r"\bSDM\b|seed-based d mapping|signed differential mapping", "SDM"),
    "algorithm-MKDA": (r"multi-?level kernel density|\bMKDA\b", "MKDA"),
}

#: A label is an easy question when its key term is in at least this share of its papers'
#: screened text (title, abstract, keywords) and in at most EASY_AT_MOST of the others'.
EASY_AT_LEAST = 0.5
EASY_AT_MOST = 0.1


def load(folder: Path) -> tuple[list[str], list[str], list[list[str]]]:
    """Titles, screened texts (title + abstract + keywords) and label lists of the papers."""
    titles, texts, labels = [], [], []
    with (folder / FILE).open(encoding="utf-8") as handle:
        for line in handle:
            paper = json.loads(line)
            keywords = " ".join((paper.get("keywords") or "").split("\n"))
            parts = (paper.get("title"), paper.get("abstract"), keywords)
            titles.append(paper.get("title") or "")
            texts.append(" ".join(p for p in parts if p))
            labels.append(list(paper.get("labels") or []))
    return titles, texts, labels


def _share(hits: list[bool], mask: list[bool], want: bool) -> float:
    chosen = [h for h, m in zip(hits, mask, strict=True) if m is want]
    return sum(chosen) / len(chosen)


def _best_title_word(titles: list[str], mask: list[bool]) -> tuple[str, float, float]:
    """The title word whose share among relevant papers most exceeds its share among others."""
    words = [set(re.findall(r"[a-z][a-z0-9-]*", t.lower())) for t in titles]
    n_in = sum(mask)
    inside = Counter(w for ws, m in zip(words, mask, strict=True) if m for w in ws)
    outside = Counter(w for ws, m in zip(words, mask, strict=True) if not m for w in ws)
    n_out = len(titles) - n_in
    word = min(inside, key=lambda w: (-(inside[w] / n_in - outside[w] / n_out), w))
    return word, inside[word] / n_in, outside[word] / n_out


def difficulty(label: str, titles: list[str], texts: list[str], mask: list[bool]) -> dict:
    """How often the label's key term is in relevant and irrelevant papers; easy or hard."""
    pattern, term = LABELS[label]
    regex = re.compile(pattern, re.IGNORECASE)
    in_title = [bool(regex.search(t)) for t in titles]
    in_text = [bool(regex.search(t)) for t in texts]
    # For ``exclude`` the term marks the papers kept, so relevant and irrelevant swap roles.
    relevant_has = label != "exclude"
    share = {
        "title_relevant": _share(in_title, mask, True),
        "title_other": _share(in_title, mask, False),
        "text_relevant": _share(in_text, mask, True),
        "text_other": _share(in_text, mask, False),
    }
    word, word_in, word_out = _best_title_word(titles, mask)
    if relevant_has:
        easy = share["text_relevant"] >= EASY_AT_LEAST and share["text_other"] <= EASY_AT_MOST
    else:
        easy = False  # no word names it; the model must learn the absence of one
    return {
        **share,
        "term": term,
        "word": word,
        "word_in": word_in,
        "word_out": word_out,
        "easy": easy,
    }


def _best(n: int, n_relevant: int, n_priors: int, n_prior_included: int) -> tuple[float, float]:
    """WSS@95 and RRF@10 of the perfect order, priors left out: every relevant record first."""
    from neuroreview.screening.simulation import recall_curve, rrf, wss

    n_left, relevant_left = n - n_priors, n_relevant - n_prior_included
    curve = recall_curve([True] * relevant_left + [False] * (n_left - relevant_left))
    return wss(curve), rrf(curve)


def run(data: Path = DATA, append: bool = True) -> dict:
    from neuroreview.screening.simulation import simulate, simulate_random

    titles, texts, paper_labels = load(data)
    n = len(texts)
    result = new_result("screening", rows=[], labels={})
    rows = result["rows"]
    for label in LABELS:
        mask = [label in labs for labs in paper_labels]
        n_relevant = sum(mask)
        runs = []
        for seed in SEEDS:
            start = time.perf_counter()
            ours = simulate(mask, texts, model=MODEL, seed=seed)
            seconds = time.perf_counter() - start
            peer = simulate_random(mask, seed=seed)
            if ours.order[: ours.n_priors] != peer.order[: peer.n_priors]:
                raise AssertionError("the model and the random baseline must share their priors")
            runs.append((ours, peer, seconds))
            beats = ours.wss95 > peer.wss95
            rows.append(
                (
                    f"screening: `{label}` ({n_relevant}/{n}), seed {seed}, WSS@95 / RRF@10",
                    f"{ours.wss95:.3f} / {ours.rrf10:.3f}",
                    f"{peer.wss95:.3f} / {peer.rrf10:.3f} (random order)",
                    f"{MODEL}, TF-IDF 1-2-grams; priors 1 include + 1 exclude (seed {seed}), "
                    f"left out of the metrics; {seconds:.2f} s per simulation"
                    + ("" if beats else "; DOES NOT BEAT RANDOM on WSS@95"),
                )
            )
        how = difficulty(label, titles, texts, mask)
        best_wss, best_rrf = _best(n, n_relevant, runs[0][0].n_priors, 1)
        mean = {
            "wss": statistics.mean(o.wss95 for o, _, _ in runs),
            "rrf": statistics.mean(o.rrf10 for o, _, _ in runs),
            "peer_wss": statistics.mean(p.wss95 for _, p, _ in runs),
            "peer_rrf": statistics.mean(p.rrf10 for _, p, _ in runs),
            "seconds": statistics.mean(s for _, _, s in runs),
        }
        n_beat = sum(o.wss95 > p.wss95 for o, p, _ in runs)
        sd = statistics.stdev(o.wss95 for o, _, _ in runs)
        if label == "exclude":
            term_text = (
                f"no word names it; {how['term']} is named in {how['text_other']:.0%} of the "
                f"kept papers' title/abstract/keywords and {how['text_relevant']:.0%} of the "
                f"excluded (titles: {how['title_other']:.0%} vs {how['title_relevant']:.0%})"
            )
        else:
            term_text = (
                f"'{how['term']}' is in the title of {how['title_relevant']:.0%} of its papers "
                f"vs {how['title_other']:.0%} of the others, in title/abstract/keywords "
                f"{how['text_relevant']:.0%} vs {how['text_other']:.0%}"
            )
        verdict = "EASY" if how["easy"] else "HARD"
        rows.append(
            (
                f"screening: `{label}` ({n_relevant}/{n}, {n_relevant / n:.1%}), mean of seeds "
                f"{SEEDS[0]}-{SEEDS[-1]}, WSS@95 / RRF@10",
                f"{mean['wss']:.3f} / {mean['rrf']:.3f}",
                f"{mean['peer_wss']:.3f} / {mean['peer_rrf']:.3f} (random order)",
                f"{verdict} question: {term_text}; best title word '{how['word']}' "
                f"{how['word_in']:.0%} vs {how['word_out']:.0%}. WSS@95 sd {sd:.3f}; best "
                f"possible (every relevant record first) {best_wss:.3f} / {best_rrf:.3f}; model "
                f"beat random on WSS@95 in {n_beat}/{len(runs)} "
                f"seeds; {mean['seconds']:.2f} s per simulation ({MODEL})",
            )
        )
        start = time.perf_counter()
        exact = simulate(mask, texts, model=MODEL, seed=0, retrain_every=1)
        exact_seconds = time.perf_counter() - start
        rows.append(
            (
                f"screening: `{label}`, seed 0, retraining after every decision, WSS@95 / RRF@10",
                f"{exact.wss95:.3f} / {exact.rrf10:.3f}",
                "n/a",
                f"retrain_every=1 (as ASReview), {exact_seconds:.1f} s; the default schedule "
                f"(every max(1, n_decided // 20) decisions) gave {runs[0][0].wss95:.3f} / "
                f"{runs[0][0].rrf10:.3f} in {runs[0][2]:.2f} s",
            )
        )
        result["labels"][label] = {
            "n_relevant": n_relevant,
            "wss95": [o.wss95 for o, _, _ in runs],
            "rrf10": [o.rrf10 for o, _, _ in runs],
            "random_wss95": [p.wss95 for _, p, _ in runs],
            "random_rrf10": [p.rrf10 for _, p, _ in runs],
            "seconds": [s for _, _, s in runs],
            "best_wss95": best_wss,
            "best_rrf10": best_rrf,
            "exact_wss95": exact.wss95,
            "exact_seconds": exact_seconds,
            "difficulty": how,
        }
    return publish(result, append)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help=f"folder holding {FILE}")
    parser.add_argument("--no-append", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    if not (args.data / FILE).is_file():
        raise SystemExit(f"{args.data / FILE} is absent: give its folder with --data")
    result = run(args.data, append=not args.no_append)
    for measurement, ours, peer, notes in result["rows"]:
        print(f"{measurement:78s} ours {ours:>13s}   peer {peer}")
        if "mean of seeds" in measurement:
            print(f"    {notes}")
    if not args.no_append:
        print(f"appended {len(result['rows'])} rows to {RESULTS}")


if __name__ == "__main__":
    main()
