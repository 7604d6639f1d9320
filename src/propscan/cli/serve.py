"""`propscan serve`: the local web app and HTTP API."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import MinConfidence, app, fail
from propscan.pipeline import DEFAULT_MIN_CONFIDENCE

#: connections uvicorn serves at once; more get its 503 (bounds the bodies held in memory)
MAX_CONNECTIONS = 64
TrustedHosts = Annotated[list[str] | None, typer.Option(
    "--trusted-host", help="A host name clients use to reach the server (repeat for more; * "
    "allows any). Loopback names and the bound address are always accepted.")]
CorpusFile = Annotated[Path | None, typer.Option(
    "--db", metavar="FILE", help="Serve this batch DuckDB file at /corpus (explore, review); "
    "the server owns the file while it runs.")]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind; the default is this machine "
                             "only."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    allow_fetch: bool = typer.Option(False, "--allow-fetch",
                                     help='Let the API fetch {"url": ...} (public addresses '
                                          "only, size and time capped)."),
    min_confidence: MinConfidence = DEFAULT_MIN_CONFIDENCE,
    trusted_host: TrustedHosts = None,
    db: CorpusFile = None,
    read_only: bool = typer.Option(False, "--read-only",
                                   help="With --db: open the database read-only; review is "
                                        "off."),
    model_dir: Annotated[Path | None, typer.Option(
        help="Use a model from this directory (e.g. one `propscan adapt` wrote) instead of "
             "the bundled one.")] = None,
) -> None:
    """Run the web app (paste text or upload a file) and the HTTP API at http://HOST:PORT."""
    import uvicorn

    from propscan.web.app import create_app

    if not _is_loopback(host):
        typer.echo(f"warning: binding {host}: anyone who can reach this address can use the "
                   "server (there is no authentication)", err=True)
        if host in ("0.0.0.0", "::") and not trusted_host:
            typer.echo("note: only requests to a loopback name are answered; give the names "
                       "clients use with --trusted-host NAME", err=True)
    corpus = None
    if db is not None:
        from propscan.corpus.database import CorpusDatabase
        from propscan.errors import PropscanError

        try:  # opened here, so that a database in use is a one-line error before serving
            corpus = CorpusDatabase(db, read_only=read_only).open()
        except PropscanError as err:
            raise fail(err.message, err.exit_code) from None
    elif read_only:
        raise fail("--read-only needs --db FILE", 2)
    where = f"http://{host}:{port}" + ("/corpus" if corpus is not None else "")
    typer.echo(f"propscan: serving on {where} (Ctrl+C to stop)", err=True)
    from propscan.pipeline import Pipeline

    web_app = create_app(allow_fetch=allow_fetch, min_confidence=min_confidence,
                         pipeline=Pipeline(model_dir=model_dir, min_confidence=min_confidence),
                         bound_host=host, trusted_hosts=trusted_host or (),
                         corpus=corpus, read_only=read_only)
    try:
        uvicorn.run(web_app, host=host, port=port, log_level="info", access_log=False,
                    limit_concurrency=MAX_CONNECTIONS)
    except OSError as err:
        raise fail(f"cannot listen on {host}:{port}: {err.strerror or err}", 2) from None
