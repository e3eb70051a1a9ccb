"""Identifiers, titles and names reduced to the form in which two copies of one record agree.

The same paper comes back from PubMed, Embase, Web of Science and Scopus written differently:
``https://doi.org/10.1016/J.NEUROIMAGE.2012.01.001`` and ``DOI: 10.1016/j.neuroimage.2012.01.001``,
``PMID: 00123`` and ``123``, "Alzheimer’s disease – a meta‑analysis" and "Alzheimer's disease -
a meta-analysis", "Müller, J." and "Mueller, Jan". Deduplication compares what is left after
these functions have removed the differences that never distinguish two papers: prefixes,
case, accents, punctuation, markup, the brackets MEDLINE puts around translated titles, and the
number a conference prints before an abstract's title. What is left is compared exactly
(identifiers) or fuzzily (titles, names).

Nothing here knows about records or duplicates; :mod:`neuroreview.screening.dedup` does.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote

__all__ = [
    "family_name",
    "family_names",
    "is_notice",
    "is_translated_title",
    "normalise_doi",
    "normalise_journal",
    "normalise_name",
    "normalise_pmid",
    "normalise_title",
    "STOPWORDS",
]

# A DOI is "10." + a registrant code (digits, possibly dotted sub-codes) + "/" + any suffix.
_DOI = re.compile(r"10\.\d{1,9}(?:\.\d+)*/\S+")
# What databases and people write before a DOI: URL resolvers, "doi:", "DOI ".
_DOI_PREFIX = re.compile(
    r"^(?:https?://)?(?:dx\.|www\.)?doi\.org/|^doi\s*[:=]?\s*|^urn:doi:|^info:doi/", re.I
)
# MEDLINE's AID field tags the DOI with "[doi]"; some exports keep it.
_DOI_TAG = re.compile(r"\s*\[doi\]\s*$", re.I)
_TRAILING = ".,;:'\"]}>"

_PMID_URL = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/(\d+)", re.I)
_PMID_TEXT = re.compile(
    r"^(?:pmid|pubmed(?:\s*id)?|medline)?\s*[:#=]?\s*(\d+)(?:\.0+)?\s*(?:\[(?:pmid|pubmed)\])?$",
    re.I,
)
#: Longest PMID accepted: PubMed ids have 8 digits today; 9 leaves room, more is not a PMID.
_PMID_MAX_DIGITS = 9

_TAG = re.compile(r"<[^>]{0,200}>")
# LaTeX leftovers of BibTeX exports: \textit{...}, {\"o}, $\alpha$, \&.
_LATEX_COMMAND = re.compile(r"\\([a-zA-Z]+)\s*|\\(.)")
_LATEX_GREEK = frozenset(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "pi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "chi",
        "psi",
        "omega",
    ]
)
_LATEX_GROUPING = str.maketrans("", "", "{}$")
# The abstract number a conference supplement prints before the title: "T133. ", "S176. ".
_ABSTRACT_NUMBER = re.compile(r"^[A-Z]{1,3}-?\d{1,4}[a-z]?\.\s+")
# A title in square brackets, with an optional full stop: MEDLINE's English translation.
_BRACKETED = re.compile(r"^\s*\[(.*)\]\s*\.?\s*$", re.S)
_APOSTROPHES = str.maketrans("", "", "'’ʼ‘`´")
# Letters NFKD does not decompose into a base letter plus an accent.
_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "α": " alpha ",
        "β": " beta ",
        "γ": " gamma ",
        "δ": " delta ",
        "ε": " epsilon ",
        "θ": " theta ",
        "κ": " kappa ",
        "λ": " lambda ",
        "μ": " mu ",
        "σ": " sigma ",
        "τ": " tau ",
        "ω": " omega ",
    }
)
_NON_WORD = re.compile(r"[^0-9a-z]+")
# ASCII letters lower-cased, digits kept, every other byte a word break.
_ASCII_WORDS = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256)
)
# The Unicode blocks of combining marks (accents) that NFKD splits off letters.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

#: Words too common in titles to tell two papers apart (used for blocking and word comparison).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "its",
        "of",
        "on",
        "or",
        "the",
        "their",
        "this",
        "to",
        "via",
        "vs",
        "versus",
        "with",
        "within",
        "without",
    ]
)

# Titles that are about another paper rather than a paper: corrections, comments, replies.
_NOTICE = re.compile(
    r"^(?:correction|corrigendum|corrigenda|erratum|errata|retraction|retracted|reprint|"
    r"withdrawn|expression of concern|notice of retraction|comment|comments|commentary|reply|"
    r"response|answer)\b|\b(?:correction to|corrigendum to|erratum to|erratum for|comment on|"
    r"comments on|reply to|in reply|response to|answer to|reprint of|retraction of)\b"
)

_NOTICE_WORDS = frozenset(
    [
        "correction",
        "corrigendum",
        "corrigenda",
        "erratum",
        "errata",
        "retraction",
        "retracted",
        "reprint",
        "withdrawn",
        "concern",
        "comment",
        "comments",
        "commentary",
        "reply",
        "response",
        "answer",
    ]
)

_NAME_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "du",
        "dos",
        "des",
        "la",
        "le",
        "ten",
        "ter",
    ]
)
_INITIALS = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")
_JOURNAL_NOISE = frozenset(["the", "of", "and", "for", "in", "on", "de", "la"])


def _fold(text: str) -> str:
    """Accents off, special letters spelled out, lower case (without removing punctuation)."""
    if text.isascii():
        return text.lower()
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text.translate(_LETTERS)))
    return text.translate(_LETTERS).casefold()


def _latex(match: re.Match[str]) -> str:
    """A LaTeX command's text: Greek letters spelled out, escaped symbols kept, the rest dropped."""
    command, escaped = match.groups()
    if command is not None:
        return f" {command.lower()} " if command.lower() in _LATEX_GREEK else ""
    return escaped if escaped in "&%_#" else ""


def normalise_doi(text: str | None) -> str | None:
    """The DOI in ``text``, lower case and bare, or None when there is none.

    DOIs are case-insensitive, so ``10.1016/J.X`` and ``10.1016/j.x`` are one DOI. Resolver
    prefixes (``https://doi.org/``, ``http://dx.doi.org/``), ``doi:``/``DOI:`` labels, MEDLINE's
    ``[doi]`` tag, percent-encoding, white space (line breaks inside exports) and trailing
    punctuation (a sentence's full stop; a closing bracket without its opening one) are removed.
    Text that is not "10." + registrant + "/" + suffix is not a DOI: None.
    """
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", str(text)).strip()
    if not text:
        return None
    text = _DOI_TAG.sub("", text)
    if "%" in text:
        text = unquote(text)
    text = _DOI_PREFIX.sub("", text)
    text = "".join(text.split()).lower()
    found = _DOI.search(text)
    if not found:
        return None
    doi = found.group(0)
    while doi and doi[-1] in _TRAILING + ")":
        if doi[-1] == ")" and doi.count("(") >= doi.count(")"):
            break  # a balanced closing bracket belongs to the DOI: 10.1016/0006-3223(89)90013-0)
        doi = doi[:-1]
    prefix, _, suffix = doi.partition("/")
    return doi if suffix else None


def normalise_pmid(text: str | int | None) -> str | None:
    """The PubMed id as digits without leading zeros, or None when absent or not a PMID.

    Accepts ``123``, ``"00123"``, ``"PMID: 123"``, ``"123 [pmid]"``, ``"123.0"`` (a spreadsheet's
    float) and PubMed URLs. Zero, negative numbers and more than nine digits are not PMIDs.
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int):
        return str(text) if 0 < text < 10**_PMID_MAX_DIGITS else None
    text = unicodedata.normalize("NFKC", str(text)).strip()
    found = _PMID_URL.search(text) or _PMID_TEXT.match(text)
    if not found:
        return None
    digits = found.group(1).lstrip("0")
    return digits if digits and len(digits) <= _PMID_MAX_DIGITS else None


def is_translated_title(text: str | None) -> bool:
    """True for a title in square brackets: MEDLINE's English translation of a non-English title."""
    return bool(text) and _BRACKETED.match(text) is not None


def normalise_title(text: str | None) -> str:
    """The title's words, lower case and unaccented, separated by single spaces ('' for None).

    Removes what differs between databases' copies of one title and never between two papers:
    HTML entities and tags (``&amp;``, ``<i>``), LaTeX markup (``{\\"o}``, ``\\textit``),
    the square brackets of a MEDLINE translated title, a conference abstract number
    (``T133.``), accents (NFKD), case, apostrophes (``Parkinson’s`` = ``Parkinsons``) and all
    other punctuation, which becomes a word break (``meta‐analysis`` = ``meta analysis``).
    Greek letters are spelled out (``α`` = ``alpha``), as databases do either.
    """
    if not text:
        return ""
    text = html.unescape(html.unescape(text))
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "\\" in text or "$" in text or "{" in text:
        text = _LATEX_COMMAND.sub(_latex, text).translate(_LATEX_GROUPING)
    text = text.strip()
    if text[:1] == "[":
        bracketed = _BRACKETED.match(text)
        text = bracketed.group(1) if bracketed else text
    if text[:1].isupper():
        text = _ABSTRACT_NUMBER.sub("", text)
    if "&" in text:
        text = text.replace("&", " and ")
    if not text.isascii():
        text = _fold(text).translate(_APOSTROPHES)
    if text.isascii():  # the common case, done by one byte table
        return " ".join(text.encode("ascii").translate(_ASCII_WORDS, b"'`").decode("ascii").split())
    return " ".join(_NON_WORD.sub(" ", text).split())


def is_notice(normalised_title: str) -> bool:
    """True for a correction, erratum, comment, reply or reprint notice (a normalised title)."""
    if _NOTICE_WORDS.isdisjoint(normalised_title.split()):
        return False
    return _NOTICE.search(normalised_title) is not None


def normalise_name(text: str | None) -> str:
    """A family name as letters only: ``"Torres-Morales"`` -> ``"torresmorales"``."""
    if not text:
        return ""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS, b"'` ").decode("ascii").replace(" ", "")
    return _NON_WORD.sub("", _fold(text).translate(_APOSTROPHES))


def family_name(author: str | None) -> str:
    """The normalised family name of one author as databases write them ('' when unknown).

    ``"Smith, John A."``, ``"Smith JA"`` (MEDLINE), ``"Smith, J."``, ``"J. A. Smith"`` and
    ``"John Smith"`` all give ``"smith"``; particles stay with the name
    (``"van der Berg, J."`` -> ``"vanderberg"``).
    """
    if not author:
        return ""
    author = author.strip()
    if "," in author:
        family = author.split(",", 1)[0]
    else:
        words = author.replace(".", ". ").split()
        if not words:
            return ""
        if len(words) > 1 and _INITIALS.match(words[-1]):
            family = " ".join(words[:-1])  # "Smith JA", "van der Berg J"
        elif len(words) > 1:
            # "John A. Smith": the family name is the last word, with its particles.
            start = len(words) - 1
            while start > 0 and words[start - 1].lower() in _NAME_PARTICLES:
                start -= 1
            family = " ".join(words[start:])
        else:
            family = words[0]
    name = normalise_name(family)
    return "" if name in ("nan", "none", "anonymous", "etal") else name


def family_names(authors: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The normalised family names of an author list, in order, unknown ones left out.

    A list given as one string (``"Smith, J. and Doe, A."`` or ``"Smith J; Doe A"``) is split.
    """
    names = []
    for entry in authors:
        for author in (
            re.split(r"\s+and\s+|;", entry) if (" and " in entry or ";" in entry) else [entry]
        ):
            name = family_name(author)
            if name:
                names.append(name)
    return tuple(names)


def normalise_journal(text: str | None) -> str:
    """A journal name's significant words: ``"The Journal of Neuroscience"`` -> ``"journal neuroscience"``."""
    if not text:
        return ""
    return " ".join(w for w in normalise_title(text).split() if w not in _JOURNAL_NOISE)
