"""Functional decoding against Neurosynth: what do the regions a drug changes do?

Two decoders, both returning a ranked table of the 50 Neurosynth LDA topics with human labels:

* :func:`decode_map` (continuous): the spatial correlation of a whole-brain map with each
  topic's meta-analytic association map;
* :func:`decode_region` (discrete): Neurosynth's association test and posterior probability for
  the studies that report a focus inside a region, against all other studies.

Part of the statistical core: arrays in, tables out; it never touches the store, the web app,
the CLI or reports. Names are exported lazily, so ``import neuroreview.decode`` stays cheap and
the shipped data are read only when a decoder first runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neuroreview.decode.continuous import ContinuousDecoding, decode_map
    from neuroreview.decode.labels import TopicLabel, load_topic_labels, topic_label
    from neuroreview.decode.neurosynth_data import NeurosynthStudies, load_studies
    from neuroreview.decode.region import RegionDecoding, decode_region, decode_selection
    from neuroreview.decode.topic_maps import TopicMaps, load_topic_maps

_EXPORTS = {
    "ContinuousDecoding": "continuous",
    "decode_map": "continuous",
    "TopicLabel": "labels",
    "load_topic_labels": "labels",
    "topic_label": "labels",
    "NeurosynthStudies": "neurosynth_data",
    "load_studies": "neurosynth_data",
    "RegionDecoding": "region",
    "decode_region": "region",
    "decode_selection": "region",
    "TopicMaps": "topic_maps",
    "load_topic_maps": "topic_maps",
}

__all__ = [
    "ContinuousDecoding",
    "NeurosynthStudies",
    "RegionDecoding",
    "TopicLabel",
    "TopicMaps",
    "decode_map",
    "decode_region",
    "decode_selection",
    "load_studies",
    "load_topic_labels",
    "load_topic_maps",
    "topic_label",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
