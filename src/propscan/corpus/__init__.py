"""The corpus explorer's core: queries over a batch store, and the reviewers' corrections.

Shells (the web app, ``propscan corrections``) open one :class:`CorpusDatabase` and pass it
to the functions here; nothing here imports a shell.
"""

from propscan.corpus.database import CorpusDatabase

__all__ = ["CorpusDatabase"]
