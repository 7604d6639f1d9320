"""Every error propscan raises on purpose, in one place.

Each error carries a message for humans, a process exit code for the CLI and an HTTP status for
the API, so that both shells render any failure the same way with one handler each.
"""

from __future__ import annotations

__all__ = [
    "PropscanError",
    "InputNotFound",
    "EmptyInput",
    "BinaryInput",
    "EncodingError",
    "InputTooLarge",
    "UnsupportedFormat",
    "InvalidRecord",
    "ModelError",
    "ConfigError",
    "ModelUnavailable",
    "ServerBusy",
    "UntrustedHost",
    "FetchDisabled",
    "FetchRefused",
    "FetchFailed",
    "ReadOnlyCorpus",
    "AdaptConflict",
    "EXIT_CODES",
]


class PropscanError(Exception):
    """Base class: a failure the user can understand and act on."""

    exit_code: int = 1
    http_status: int = 400
    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputNotFound(PropscanError):
    """The path does not exist, or is a directory where a file was expected."""

    exit_code = 3
    http_status = 404
    code = "input_not_found"


class EmptyInput(PropscanError):
    """The input holds no text (empty, or only whitespace)."""

    exit_code = 4
    http_status = 422
    code = "empty_input"


class BinaryInput(PropscanError):
    """The input is binary data (an image, an archive, a PDF...), not text."""

    exit_code = 5
    http_status = 415
    code = "binary_input"


class EncodingError(PropscanError):
    """The bytes are not UTF-8 and no other encoding could be detected with confidence."""

    exit_code = 6
    http_status = 422
    code = "encoding_error"


class InputTooLarge(PropscanError):
    """The input is over the documented size cap."""

    exit_code = 7
    http_status = 413
    code = "input_too_large"


class UnsupportedFormat(PropscanError):
    """The input format is unknown, or the format asked for does not match the content."""

    exit_code = 8
    http_status = 415
    code = "unsupported_format"


class InvalidRecord(PropscanError):
    """A JSON/JSONL/CSV record is malformed or lacks a `text`/`html` field."""

    exit_code = 9
    http_status = 422
    code = "invalid_record"


class ModelError(PropscanError):
    """The detection model is missing or cannot be loaded."""

    exit_code = 10
    http_status = 500
    code = "model_error"


class ConfigError(PropscanError):
    """A parameter has a value outside what it accepts."""

    exit_code = 2
    http_status = 400
    code = "bad_parameter"


# ---- raised by the web app (`propscan serve`) only; the exit codes say what the CLI would
# give for the same failure

class ModelUnavailable(PropscanError):
    """The detection model is not loaded in the server, so analysis cannot run."""

    exit_code = 10
    http_status = 503
    code = "model_unavailable"


class ServerBusy(PropscanError):
    """Every analysis slot of the server is taken; try again after ``retry_after_s`` seconds."""

    exit_code = 1
    http_status = 503
    code = "server_busy"

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UntrustedHost(PropscanError):
    """The request's Host header names neither the bound address nor a --trusted-host."""

    exit_code = 2
    http_status = 400
    code = "untrusted_host"


class FetchDisabled(PropscanError):
    """URL fetching is off unless the server was started with --allow-fetch."""

    exit_code = 2
    http_status = 403
    code = "fetch_disabled"


class FetchRefused(PropscanError):
    """The URL is not fetched: bad scheme or host name, or a non-public address."""

    exit_code = 2
    http_status = 400
    code = "fetch_refused"


class FetchFailed(PropscanError):
    """The remote server could not be reached, or answered with an error."""

    exit_code = 3
    http_status = 502
    code = "fetch_failed"



class ReadOnlyCorpus(PropscanError):
    """The server was started with --read-only: reviewing is off."""

    exit_code = 2
    http_status = 403
    code = "read_only"


class AdaptConflict(PropscanError):
    """An adaptation runs already, or there is no adapted model to switch to."""

    exit_code = 2
    http_status = 409
    code = "adapt_conflict"

#: Exit codes the CLI uses, documented in the README. 0 is success, 1 an unexpected failure.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected internal error (please report it)",
    2: "bad command-line usage or parameter",
    **{cls.exit_code: (cls.__doc__ or cls.__name__).strip().splitlines()[0] for cls in (
        InputNotFound, EmptyInput, BinaryInput, EncodingError, InputTooLarge,
        UnsupportedFormat, InvalidRecord, ModelError)},
}
