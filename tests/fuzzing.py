"""Hypothesis strategies shared by the readers' fuzz tests: valid files, slightly broken.

Every reader promises the same thing (a valid result or its own InputError, never another
exception), so every reader is fuzzed with the same kinds of damage.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st


@st.composite
def character_mutations(draw: st.DrawFn, text: str, pieces: st.SearchStrategy[str]) -> str:
    """``text`` with one to four characters deleted, replaced or inserted (from ``pieces``)."""
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(chars)))
        action = draw(st.sampled_from(["delete", "replace", "insert"]))
        piece = draw(st.one_of(pieces, st.text(max_size=2)))
        if action == "delete" and position < len(chars):
            del chars[position]
        elif action == "replace" and position < len(chars):
            chars[position] = piece
        else:
            chars.insert(position, piece)
    return "".join(chars)


@st.composite
def line_mutations(
    draw: st.DrawFn,
    lines: Sequence[str],
    junk: st.SearchStrategy[str],
    max_edits: int = 4,
    tokens: bool = True,
) -> str:
    """``lines`` with lines deleted, duplicated, swapped or replaced by ``junk`` (and, with
    ``tokens``, single whitespace-separated tokens replaced), then possibly truncated."""
    lines = list(lines)
    actions = ["delete", "duplicate", "swap", "junk"] + (["token"] if tokens else [])
    for _ in range(draw(st.integers(1, max_edits))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(actions))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "junk":
            lines[i] = draw(junk)
        else:
            parts = lines[i].split() or [""]
            parts[draw(st.integers(0, len(parts) - 1))] = draw(junk)
            lines[i] = " ".join(parts)
    text = "\n".join(lines)
    return text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) else text
