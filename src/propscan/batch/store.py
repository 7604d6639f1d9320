"""Where batch results go: a DuckDB database (default) or a directory of Parquet files.

One writer, the client process, owns the store. Each chunk of results is written atomically
(one DuckDB transaction; for Parquet, files renamed into place), so a run killed at any moment
and run again ends with every record stored exactly once: ids already stored are skipped
(with ``--retry-failed``, failed ones are processed again and their error rows replaced).

The schema (the same columns in both stores) is in :mod:`propscan.batch.schema`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import pyarrow as pa

from propscan.batch.engines import Result
from propscan.batch.schema import DDL, NEWER_COLUMNS, results_to_arrow
from propscan.errors import ConfigError, InputNotFound

__all__ = ["DuckDBStore", "ParquetStore", "open_store", "connect_readonly"]

def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _model_fields(model_info: dict[str, Any]) -> tuple[str, str]:
    return str(model_info.get("name") or "none"), str(model_info.get("version") or "")


class DatabaseHandle:
    """A path and, while open, its DuckDB connection ``con_``; a context manager whose
    subclasses define :meth:`open`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.con_: Any = None

    def open(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        if self.con_ is not None:
            self.con_.close()
            self.con_ = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBStore(DatabaseHandle):
    """Batch results in one DuckDB file (see the module docstring for the schema)."""

    def open(self) -> DuckDBStore:
        import duckdb

        try:
            self.con_ = duckdb.connect(str(self.path))
        except duckdb.IOException as err:
            raise ConfigError(f"cannot open database {self.path}: {err}") from None
        self.con_.execute(DDL)
        return self

    def known_ids(self, retry_failed: bool = False) -> set[str]:
        """Ids already stored: a re-run skips them. ``retry_failed`` leaves out the records
        stored as failed, so they are processed again (their error rows are then replaced)."""
        where = " WHERE status = 'ok'" if retry_failed else ""
        return {row[0] for row in self.con_.execute(f"SELECT id FROM articles{where}").fetchall()}

    def start_run(self, inputs: list[str]) -> int:
        run_id = self.con_.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0]
        self.con_.execute(
            "INSERT INTO runs (run_id, model_name, model_version, started, inputs) "
            "VALUES (?, 'none', '', ?, ?)", [run_id, _now(), json.dumps(inputs)])
        return int(run_id)

    def set_model(self, run_id: int, model_info: dict[str, Any]) -> None:
        """Record the model that produced the run's results ('none' without detection)."""
        name, version = _model_fields(model_info)
        self.con_.execute("UPDATE runs SET model_name = ?, model_version = ? WHERE run_id = ?",
                          [name, version, run_id])

    def write(self, results: list[Result], run_id: int) -> None:
        """Store a chunk of results in one transaction: all of it, or none of it."""
        articles, spans = results_to_arrow(results, run_id)
        con = self.con_
        con.register("new_articles", articles)
        con.register("new_spans", spans)
        try:
            con.execute("BEGIN TRANSACTION")
            # A record processed again (--retry-failed) replaces its error row; an ok row is
            # never replaced, so a replayed chunk stays idempotent.
            con.execute("DELETE FROM articles WHERE status <> 'ok' "
                        "AND id IN (SELECT id FROM new_articles)")
            # Spans first, only for ids not stored yet, so a duplicate id can never double them.
            con.execute('INSERT INTO spans BY NAME SELECT * FROM new_spans '
                        'WHERE article_id NOT IN (SELECT id FROM articles)')
            con.execute("INSERT OR IGNORE INTO articles BY NAME "
                        "SELECT * REPLACE (scores::JSON AS scores) FROM new_articles")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("new_articles")
            con.unregister("new_spans")

    def finish_run(self, run_id: int, n_ok: int, n_failed: int, n_skipped: int) -> None:
        self.con_.execute(
            "UPDATE runs SET finished = ?, n_ok = ?, n_failed = ?, n_skipped = ? "
            "WHERE run_id = ?", [_now(), n_ok, n_failed, n_skipped, run_id])


class ParquetStore(DatabaseHandle):
    """Batch results as Parquet parts in ``DIR/articles/``, ``DIR/spans/`` and ``DIR/runs/``.

    A chunk is committed when its articles part is renamed into place; a spans part without
    its articles part (a run killed between the two) is removed on open.

    One writer at a time: while open, the store holds an exclusive ``flock`` on ``DIR/.lock``
    (which names its pid); a second batch into the same folder is refused with a ConfigError,
    as DuckDB refuses a second writer of its file. The lock ends with the process, however
    it ends, so a killed run never leaves the folder locked.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)  # no connection: con_ stays None
        self._part = 0
        # failed ids processed again (--retry-failed, or the twin of a record that failed in
        # this run) -> the parts holding their error rows, dropped once the new row is written
        self._retrying: dict[str, list[Path]] = {}
        self._lock_fd: int | None = None

    def open(self) -> ParquetStore:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot write Parquet parts to {self.path}: "
                              f"{err.strerror or err}") from None
        self._lock_fd = _lock_folder(self.path)
        for sub in ("articles", "spans", "runs"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        committed = {p.name for p in (self.path / "articles").glob("*.parquet")}
        for orphan in (self.path / "spans").glob("*"):
            if orphan.name not in committed:
                orphan.unlink()
        for tmp in (self.path / "articles").glob("*.tmp"):
            tmp.unlink()
        self._retrying = {}
        if (self.path / _RETRY_MARKER).exists():  # a retry run killed mid-replacement
            self._drop_replaced_errors()
        return self

    def known_ids(self, retry_failed: bool = False) -> set[str]:
        """Ids already stored: a re-run skips them. ``retry_failed`` leaves out the records
        stored as failed, so they are processed again (their error rows are then replaced)."""
        import pyarrow.parquet as pq

        ids: set[str] = set()
        for part in (self.path / "articles").glob("*.parquet"):
            if not retry_failed:  # the usual start of a run: ids only
                ids.update(pq.read_table(part, columns=["id"]).column("id").to_pylist())
                continue
            for row in pq.read_table(part, columns=["id", "status"]).to_pylist():
                if row["status"] != "ok":
                    self._retrying.setdefault(row["id"], []).append(part)
                else:
                    ids.add(row["id"])
        return ids

    def start_run(self, inputs: list[str]) -> int:
        run_id = 1 + max((int(p.stem.split("-")[1]) for p in (self.path / "runs").glob("run-*")),
                         default=0)
        self._run = {"run_id": run_id, "model_name": "none", "model_version": "",
                     "started": _now().isoformat(), "finished": None, "inputs": inputs}
        self._write_run()
        return run_id

    def set_model(self, run_id: int, model_info: dict[str, Any]) -> None:
        self._run["model_name"], self._run["model_version"] = _model_fields(model_info)
        self._write_run()

    def write(self, results: list[Result], run_id: int) -> None:
        import pyarrow.parquet as pq

        articles, spans = results_to_arrow(results, run_id)
        self._part += 1
        name = f"run{run_id:04d}-{self._part:06d}.parquet"
        retried = {r.id for r in results if r.id in self._retrying}
        if retried:  # says "repair on open" until the old error rows are gone
            (self.path / _RETRY_MARKER).write_text("")
        for table, sub in ((spans, "spans"), (articles, "articles")):
            tmp = self.path / sub / (name + ".tmp")
            pq.write_table(table, tmp)
            os.replace(tmp, self.path / sub / name)
        if retried:
            for part in {p for id_ in retried for p in self._retrying.pop(id_)}:
                _drop_error_rows(part, retried)
            (self.path / _RETRY_MARKER).unlink()
        for result in results:  # a later result for one of these ids replaces its error row
            if result.status != "ok":
                self._retrying.setdefault(result.id, []).append(self.path / "articles" / name)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None
        super().close()

    def _drop_replaced_errors(self) -> None:
        """Drop every error row that a later part has replaced, then the repair marker: what
        a --retry-failed run killed between its two steps left to do."""
        import pyarrow.parquet as pq

        parts = sorted((self.path / "articles").glob("*.parquet"), key=_part_order)
        ids = [pq.read_table(p, columns=["id"]).column("id").to_pylist() for p in parts]
        newest = {id_: index for index, part_ids in enumerate(ids) for id_ in part_ids}
        for index, (part, part_ids) in enumerate(zip(parts, ids, strict=True)):
            if later := {id_ for id_ in part_ids if newest[id_] > index}:
                _drop_error_rows(part, later)
        (self.path / _RETRY_MARKER).unlink(missing_ok=True)

    def finish_run(self, run_id: int, n_ok: int, n_failed: int, n_skipped: int) -> None:
        self._run.update(finished=_now().isoformat(), n_ok=n_ok, n_failed=n_failed,
                         n_skipped=n_skipped)
        self._write_run()

    def _write_run(self) -> None:
        target = self.path / "runs" / f"run-{self._run['run_id']:04d}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._run, indent=2))
        os.replace(tmp, target)


#: present while a --retry-failed run has error rows left to drop (see ParquetStore.write)
_RETRY_MARKER = "retry-in-progress"


def _lock_folder(path: Path) -> int:
    """An exclusive lock on ``path/.lock`` (its descriptor), or a ConfigError naming the pid
    of the batch that holds it."""
    import fcntl

    fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ConfigError(f"{path} is being written by another propscan batch "
                          f"(pid {holder}); wait for it to end, or write elsewhere") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode("ascii"))
    return fd


def _drop_error_rows(part: Path, ids: set[str]) -> None:
    """Rewrite one articles part (atomically) without the error rows of ``ids``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(part)
    drop = pc.and_(pc.is_in(table.column("id"), value_set=pa.array(sorted(ids), pa.string())),
                   pc.not_equal(table.column("status"), "ok"))
    if pc.any(drop).as_py():
        tmp = part.with_name(part.name + ".tmp")
        pq.write_table(table.filter(pc.invert(drop)), tmp)
        os.replace(tmp, part)


def _part_order(part: Path) -> tuple[int, int]:
    """Parts in the order they were written: ``run0003-000012.parquet`` -> (3, 12)."""
    run, number = part.name.split(".")[0].split("-")
    return int(run.removeprefix("run")), int(number)


def open_store(db: str | Path | None = None, parquet: str | Path | None = None
               ) -> DuckDBStore | ParquetStore:
    """The store a batch writes to: exactly one of a DuckDB file or a Parquet directory."""
    if (db is None) == (parquet is None):
        raise ConfigError("give exactly one of --db FILE or --parquet DIR")
    if db is not None:
        return DuckDBStore(db).open()
    return ParquetStore(parquet).open()  # type: ignore[arg-type]  # not None: checked above


def connect_readonly(path: str | Path) -> Any:
    """A DuckDB connection to a batch database, or to a Parquet directory as views."""
    import duckdb

    path = Path(path)
    if path.is_dir():
        con = duckdb.connect()
        for table in ("articles", "spans"):
            files = sorted((path / table).glob("*.parquet"))
            if not files:
                raise InputNotFound(f"{path}: not a propscan Parquet directory (no {table})")
            # DDL takes no parameters: quote the file names as SQL string literals
            listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            # union_by_name: parts written before schema 1.1 lack the newer columns; where
            # no part has one, it is added as NULL, as in a migrated database
            parts = f"read_parquet([{listed}], union_by_name = true)"
            have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {parts}").fetchall()}
            added = "".join(f", NULL::{kind} AS {name}"
                            for name, kind in NEWER_COLUMNS[table].items() if name not in have)
            con.execute(f"CREATE VIEW {table} AS SELECT *{added} FROM {parts}")
        return con
    if not path.is_file():
        raise InputNotFound(f"{path}: no such database")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as err:
        raise ConfigError(f"cannot open database {path}: {err}") from None
    tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    if not {"articles", "spans"} <= tables:
        con.close()
        raise InputNotFound(f"{path}: not a propscan batch database (no articles/spans tables)")
    return con
