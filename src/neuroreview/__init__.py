"""neuroreview: a drug's neuroimaging literature turned into a reproducible answer.

The top-level import stays light (under a second): heavy modules (nibabel, pandas, SQLAlchemy) are
imported by the subpackages that need them, not here.
"""

__version__ = "0.1.0"

from neuroreview.errors import InputError, NeuroreviewError

__all__ = ["InputError", "NeuroreviewError", "__version__"]
