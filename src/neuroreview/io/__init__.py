"""Readers and writers, one module per format. This is the only package that parses files.

Every reader raises :class:`neuroreview.errors.InputError` naming file and line on bad input and
returns plain :class:`neuroreview.model.Study` objects; nothing here touches the store.
"""
