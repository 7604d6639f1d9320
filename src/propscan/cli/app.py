"""The typer application object and the one place where errors become exit codes."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO, TypeVar

import typer

from propscan.errors import ConfigError, PropscanError

__all__ = ["app", "handle_errors", "run_or_exit", "fail", "Threads", "MinConfidence",
           "check_threads", "open_output", "check_output_path"]

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
    help="Inference threads (default: every core this process may use; at most that).")]
#: ``--min-confidence`` of the commands that report findings
MinConfidence = Annotated[float, typer.Option(
    min=0.0, max=1.0,
    help="Leave out findings whose calibrated confidence is below this (0 keeps all).")]


def check_threads(threads: int | None) -> int | None:
    """``--threads`` checked: at least 1, and at most the cores this process may use (more
    only adds memory and switching; a note on stderr says it was lowered)."""
    if threads is None:
        return None
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    from propscan.detect import available_cores

    cores = available_cores()
    if threads > cores:
        print(f"note: --threads {threads} lowered to {cores}, the cores this process may use",
              file=sys.stderr)
        return cores
    return threads


def check_output_path(output: Path) -> None:
    """Refuse an ``--output`` that cannot be written, before any work is done."""
    if output.is_dir():
        raise ConfigError(f"--output {output} is a directory; give a file name")
    if _is_special(output):  # /dev/null, a FIFO: written in place
        return
    parent = output.parent
    if not parent.is_dir():
        raise ConfigError(f"--output {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"--output {output}: folder {parent} is not writable")


def _is_special(output: Path) -> bool:
    """Whether ``output`` exists and is not a regular file (``/dev/null``, a FIFO)."""
    try:
        return not stat.S_ISREG(output.stat().st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def open_output(output: Path | None) -> Iterator[TextIO]:
    """Standard output, or ``output`` written whole or not at all: a temporary file beside it
    is renamed into place only when the block ends without an error."""
    if output is None:
        # results are UTF-8 whatever the locale says: a Latin-1 terminal must not turn an
        # emoji in an article into a UnicodeEncodeError
        if (sys.stdout.encoding or "").lower().replace("-", "") != "utf8" \
                and isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(encoding="utf-8")
        yield sys.stdout
        sys.stdout.flush()
        return
    check_output_path(output)
    if _is_special(output):
        with _writing(output), output.open("w", encoding="utf-8") as fh:
            yield fh
        return
    with _writing(output):
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part",
                                   dir=output.parent)
    try:
        with _writing(output), os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
        with _writing(output):
            os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _writing(output: Path) -> Iterator[None]:
    """An OSError while writing ``output`` (disk full, permission) as a one-line error."""
    try:
        yield
    except OSError as err:
        raise ConfigError(f"cannot write --output {output}: {err.strerror or err}") from None


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
    except BrokenPipeError:
        # the reader of our standard output left (``| head``): stop quietly, as cat does,
        # and keep Python from reporting the pipe again when it flushes at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(141) from None


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
