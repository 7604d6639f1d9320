"""propscan: find propaganda techniques in news articles, offline, with character-exact spans.

Light to import: no model is loaded and torch is never imported here.
"""

from propscan.doc import SCHEMA_VERSION, Article, Finding, Metadata

__version__ = "0.1.0"
__all__ = ["Article", "Finding", "Metadata", "SCHEMA_VERSION", "__version__"]
