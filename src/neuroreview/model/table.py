"""A table as text: what a run's TSV files hold, cell for cell.

The report shows every number exactly as its file holds it, so a reader can check any cell
against the file named under the table. Keeping the cells as text (never parsed to floats and
printed again) is what makes the page and the files agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Joins the study ids (or cluster ids) of one table cell.
ID_SEPARATOR = ";"


@dataclass(frozen=True)
class Table:
    """A TSV as text: the header and the rows, each cell exactly as written in the file.

    ``path`` is relative to the output folder, so the report can name (and link) the file every
    table comes from.
    """

    path: str
    columns: list[str]
    rows: list[list[str]]

    def column(self, name: str) -> list[str]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def select(self, columns: list[str]) -> Table:
        """The same rows with only ``columns`` (in that order), for a narrower HTML table."""
        indices = [self.columns.index(c) for c in columns]
        return Table(self.path, list(columns), [[row[i] for i in indices] for row in self.rows])

    def to_tsv(self) -> str:
        lines = ["\t".join(self.columns)] + ["\t".join(row) for row in self.rows]
        return "\n".join(lines) + "\n"
