"""`propscan serve`: the local web app and HTTP API."""

from __future__ import annotations

import ipaddress

import typer

from propscan.cli.app import app, fail


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
) -> None:
    """Run the web app (paste text or upload a file) and the HTTP API at http://HOST:PORT."""
    import uvicorn

    from propscan.web.app import create_app

    if not _is_loopback(host):
        typer.echo(f"warning: binding {host}: anyone who can reach this address can use the "
                   "server (there is no authentication)", err=True)
    typer.echo(f"propscan: serving on http://{host}:{port} (Ctrl+C to stop)", err=True)
    try:
        uvicorn.run(create_app(allow_fetch=allow_fetch), host=host, port=port,
                    log_level="info", access_log=False)
    except OSError as err:
        raise fail(f"cannot listen on {host}:{port}: {err.strerror or err}", 2) from None
