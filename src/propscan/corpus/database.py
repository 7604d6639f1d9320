"""The database a corpus is explored and reviewed in: one DuckDB file, one owner.

DuckDB lets one process open a file for writing; the server (or ``propscan corrections
import``) is that process while it runs, so a second server or a ``batch`` run on the same file
gets a clear error instead of a corrupted file. Inside the process, each request takes its own
cursor; writes (corrections) go through :attr:`CorpusDatabase.write_lock`, so two browser tabs
reviewing at once lose nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from propscan.batch.store import DatabaseHandle
from propscan.errors import ConfigError, InputNotFound

__all__ = ["CorpusDatabase"]


class CorpusDatabase(DatabaseHandle):
    """A batch DuckDB file opened for exploring (``read_only``) or for review as well."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        super().__init__(path)
        self.read_only = read_only
        self.write_lock = threading.Lock()

    def open(self) -> Self:
        import duckdb

        if not self.path.is_file():
            raise InputNotFound(f"{self.path}: no such database (make one with "
                                "`propscan batch ... --db FILE`)")
        try:
            self.con_ = duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.Error as err:
            raise ConfigError(f"cannot open database {self.path}: it is in use by another "
                              f"process, or not a DuckDB file ({_first_line(err)})") from None
        tables = {row[0] for row in self.con_.execute("SHOW TABLES").fetchall()}
        if not {"articles", "spans"} <= tables:
            self.close()
            raise InputNotFound(f"{self.path}: not a propscan batch database "
                                "(no articles/spans tables)")
        if self.read_only:
            self._refuse_older_schema()
        else:
            from propscan.batch.schema import DDL
            from propscan.corpus.corrections import ensure_corrections_table

            with self.write_lock:
                self.con_.execute(DDL)  # an older database gains the newer columns
                ensure_corrections_table(self.con_)
        return self

    def _refuse_older_schema(self) -> None:
        """A read-only database cannot gain the columns added since schema 1.0, and every
        explorer query reads them: say how to upgrade it rather than fail on each page."""
        from propscan.batch.schema import NEWER_COLUMNS

        assert self.con_ is not None
        present = set(self.con_.execute(
            "SELECT table_name, column_name FROM information_schema.columns").fetchall())
        missing = [f"{table}.{name}" for table, columns in NEWER_COLUMNS.items()
                   for name in columns if (table, name) not in present]
        if missing:
            self.close()
            raise ConfigError(f"{self.path} was written by an older propscan (no "
                              f"{', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}) "
                              "and cannot be upgraded read-only: serve it once without "
                              "--read-only, or run `propscan batch` on it, to add the columns")

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor of the one connection, for one request (DuckDB cursors are per thread)."""
        if self.con_ is None:
            raise ConfigError("the corpus database is not open")
        cur = self.con_.cursor()
        try:
            yield cur
        finally:
            cur.close()



def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
