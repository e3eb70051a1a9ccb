"""Region-level and descriptive synthesis of a corpus (statistical core: models in, tables out)."""
