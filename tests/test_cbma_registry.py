"""Which kernel options apply to which method is declared in the registry, nowhere else."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from neuroreview.cbma import registry
from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline.config import ReviewConfig, meta_analysis_settings
from neuroreview.pipeline.settings import Settings


def _settings(method: str, **options) -> Settings:
    """The run's settings for ``method`` with some kernel options changed (not yet checked)."""
    defaults = meta_analysis_settings(method, ReviewConfig(iterations=10, seed=0, jobs=1))
    return replace(defaults, **options)


def test_every_declared_option_is_a_setting_and_only_ale_sizes_kernels_by_n():
    names = {f.name for f in fields(Settings)}
    for method in registry.METHODS.values():
        assert set(method.options) <= names, method.key
    assert [m.key for m in registry.METHODS.values() if m.uses_sample_size] == ["ale"]
    assert registry.taking("radius") == ["MKDA density", "KDA"]
    assert registry.taking("subvoxel") == ["ALE"]


def test_an_option_is_refused_for_a_method_that_does_not_declare_it():
    with pytest.raises(NeuroreviewError, match="--radius applies to MKDA density and KDA only"):
        _settings("ale", radius=8.0).check()
    _settings("mkda", radius=8.0).check()


def test_declaring_an_option_in_the_registry_is_all_it_takes(monkeypatch):
    kda = registry.METHODS["kda"]
    wider = replace(kda, options=(*kda.options, "voxel_exact"))
    monkeypatch.setitem(registry.METHODS, "kda", wider)
    _settings("kda", voxel_exact=True).check()
    assert registry.taking("voxel_exact") == ["ALE", "KDA"]
    with pytest.raises(NeuroreviewError, match="--voxel-exact applies to ALE and KDA only"):
        _settings("mkda", voxel_exact=True).check()
