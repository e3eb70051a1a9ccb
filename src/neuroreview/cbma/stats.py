"""p-values from null samples, and p <-> z, with NiMARE's conventions.

Shared by the analytic nulls and Monte Carlo inference so every map of a result converts p to z
the same way. z is computed from log(p) (``scipy.special.ndtri_exp``) so tiny p-values keep
their z instead of saturating, as NiMARE 0.21+ does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

_TINY = np.nextafter(0.0, 1.0)


def p_to_z(p: ArrayLike, tail: str = "one") -> NDArray[np.float64]:
    """Unsigned z for p-values; one-tailed by default (CBMA tests are upper-tailed)."""
    log_p = np.log(np.clip(np.asarray(p, dtype=np.float64), _TINY, 1.0))
    if tail == "one":
        return np.maximum(-special.ndtri_exp(log_p), 0.0)
    if tail == "two":
        return -special.ndtri_exp(log_p - np.log(2.0)) + 0.0
    raise ValueError(f"tail must be 'one' or 'two', got {tail!r}")


def null_to_p(values: ArrayLike, null: ArrayLike) -> NDArray[np.float64]:
    """Upper-tail p of ``values`` against the null sample ``null``.

    p = share of null values >= value, clipped to [1/n, 1 - 1/n] so a Monte Carlo p is never 0
    or 1 (NiMARE's ``null_to_p(tail="upper")``).
    """
    sample = np.sort(np.asarray(null, dtype=np.float64).ravel())
    n = sample.size
    if n == 0:
        raise ValueError("the null distribution is empty")
    tested = np.asarray(values, dtype=np.float64)
    p = 1.0 - np.searchsorted(sample, tested, side="left") / n
    return np.clip(p, 1.0 / n, 1.0 - 1.0 / n)


def p_to_logp(p: ArrayLike) -> NDArray[np.float64]:
    """-log10(p), finite even for p = 0 (clipped to the smallest positive double)."""
    return -np.log10(np.clip(np.asarray(p, dtype=np.float64), _TINY, 1.0))
