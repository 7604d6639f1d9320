"""The typer application object and the one place where errors become exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from propscan.errors import PropscanError

__all__ = ["app", "handle_errors", "run_or_exit", "fail", "Threads"]

app = typer.Typer(
    name="propscan",
    help="Find propaganda techniques in news articles, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

#: ``--threads`` of the commands that run the detector in this process
Threads = Annotated[int | None, typer.Option(
    help="Inference threads (default: every core this process may use).")]


def fail(message: str, exit_code: int) -> typer.Exit:
    """Print a one-line error on stderr and return the Exit to raise."""
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(exit_code)


def run_or_exit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; a PropscanError becomes a one-line message and its exit code."""
    try:
        return fn(*args, **kwargs)
    except PropscanError as err:
        raise fail(err.message, err.exit_code) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None


def handle_errors(command: F) -> F:
    """Decorator for commands: PropscanError -> one-line error + exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_or_exit(command, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        from propscan import __version__
        from propscan.detect import DEFAULT_MODEL_DIR

        # the model version too: a bug report or a stored result names both
        try:
            config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
            model = f"{config.get('name', 'model')} {config.get('version', '?')}"
        except (OSError, ValueError):
            model = "no model installed"
        print(f"propscan {__version__} ({model})")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version (and the installed model's) and exit."),
) -> None:
    """Find propaganda techniques in news articles, offline."""
