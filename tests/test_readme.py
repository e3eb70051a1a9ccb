"""The README is the front door: every command the CLI offers is documented there."""

from __future__ import annotations

from pathlib import Path

from neuroreview.cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_command_has_a_row_in_the_readme_command_table():
    text = README.read_text(encoding="utf-8")
    names = sorted(command.name for command in app.registered_commands)
    assert names == [
        "analyze",
        "check",
        "compare",
        "decode",
        "export",
        "import",
        "label",
        "regions",
        "report",
        "run",
        "serve",
        "studies",
    ]
    missing = [name for name in names if f"| `neuroreview {name}" not in text]
    assert missing == []


def test_every_screen_subcommand_is_documented():
    from neuroreview.cli.screen import app as screen_app

    text = README.read_text(encoding="utf-8")
    names = sorted(command.name for command in screen_app.registered_commands)
    assert names == [
        "conflicts",
        "decide",
        "dedup",
        "import",
        "next",
        "prisma",
        "settings",
        "simulate",
        "undo",
    ]
    section = text[text.index("### `neuroreview screen`") :]
    missing = [name for name in names if f"- **`{name}" not in section]
    assert missing == []
    assert "`neuroreview screen import\\|dedup\\|next\\|decide\\|conflicts\\|prisma" in text
