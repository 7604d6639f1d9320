"""Corpus-scale batch analysis: readers -> engines (local processes or dask) -> one store.

``propscan.batch.runner.run_batch`` is the entry point; ``propscan.batch.corpus`` reads a stored
corpus back (stats and the HTML report). Importing this package loads no model.
"""
