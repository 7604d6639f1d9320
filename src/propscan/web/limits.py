"""What bounds the web app's work: request bodies, analysis slots and the Host header.

* Bodies are counted as they arrive (chunked or not) and refused past the cap; the rest of an
  over-cap body is read and thrown away (up to a bound), so that clients that send the whole
  body before reading the answer (Python's urllib, requests) get the 413 instead of a reset.
* Analyses run in two lanes, each with its own model session: small requests in one, large
  ones in the other, so a small article is answered while a large one is being analysed. Each
  lane runs one analysis at a time and queues a few; a full queue, or a wait past its bound,
  is a 503 with ``Retry-After``.
* The Host header must name this server (DNS rebinding protection): loopback names always,
  the bound address, or a ``--trusted-host``.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request

from propscan.errors import InputTooLarge, InvalidRecord, ServerBusy, UntrustedHost
from propscan.pipeline import Pipeline

__all__ = ["WebLimits", "AnalysisLane", "read_body", "allowed_hosts", "check_host",
           "with_min_confidence", "LOOPBACK_NAMES"]

T = TypeVar("T")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class WebLimits:
    """Every bound of the web app (the README's limits table lists them)."""

    #: largest request body (JSON or form upload); an article is at most 5 MiB of text
    max_request_bytes: int = 6 * 1024 * 1024
    #: an over-cap body is read and dropped up to this many bytes, for this long, so that
    #: the client reads the 413; past either bound the connection is closed
    drain_bytes: int = 64 * 1024 * 1024
    drain_seconds: float = 10.0
    #: requests of at most this many bytes go to the small lane
    small_request_bytes: int = 64 * 1024
    #: analyses queued behind the running one, per lane, before a 503
    small_waiting: int = 8
    large_waiting: int = 1
    #: longest wait for a lane's turn before a 503
    small_max_wait_s: float = 20.0
    large_max_wait_s: float = 60.0


class AnalysisLane:
    """One analysis at a time on its own pipeline, ``waiting`` more queued at most."""

    def __init__(self, name: str, pipeline: Pipeline, *, waiting: int, max_wait_s: float
                 ) -> None:
        self.name = name
        self.pipeline = pipeline
        self.waiting = waiting
        self.max_wait_s = max_wait_s
        self.admitted = 0  # running + waiting; only touched on the event loop
        self._turn = anyio.Semaphore(1)

    @property
    def state(self) -> dict[str, int]:
        running = 1 if self._turn.value == 0 else 0
        return {"running": running, "waiting": self.admitted - running,
                "capacity": 1 + self.waiting}

    async def run(self, work: Callable[[Pipeline], T]) -> T:
        """``work(pipeline)`` on a worker thread when this lane's turn comes; ServerBusy when
        the queue is full or the turn does not come within ``max_wait_s``."""
        retry_after = max(1, round(self.max_wait_s / 4))
        if self.admitted >= 1 + self.waiting:
            raise ServerBusy(f"the server is busy ({self.name} articles: "
                             f"{self.admitted} in progress or queued); try again shortly",
                             retry_after)
        self.admitted += 1
        try:
            try:
                with anyio.fail_after(self.max_wait_s):
                    await self._turn.acquire()
            except TimeoutError:
                raise ServerBusy(f"the server is busy: no turn for {self.name} articles "
                                 f"within {self.max_wait_s:g} s; try again shortly",
                                 retry_after) from None
            try:
                # not cancellable: a dropped client must not free the turn while the
                # analysis still runs on its thread
                return await anyio.to_thread.run_sync(work, self.pipeline)
            finally:
                self._turn.release()
        finally:
            self.admitted -= 1


def with_min_confidence(pipeline: Pipeline, min_confidence: float | None) -> Pipeline:
    """``pipeline`` reporting findings from ``min_confidence`` on; shares the loaded model
    (a shallow copy), so a request's own threshold costs nothing."""
    if min_confidence is None or min_confidence == pipeline.min_confidence:
        return pipeline
    variant = copy.copy(pipeline)
    variant.min_confidence = min_confidence
    return variant


async def read_body(request: Request, limits: WebLimits) -> bytes:
    """The request body, counted as it arrives; InputTooLarge past ``max_request_bytes``."""
    cap = limits.max_request_bytes
    too_large = InputTooLarge(f"request body is over the {cap:,}-byte limit")
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise InvalidRecord("bad Content-Length header")
    chunks = request.stream()
    if declared is not None and int(declared) > cap:
        if int(declared) <= limits.drain_bytes:
            await _drain(chunks, limits)
        raise too_large
    body = bytearray()
    try:
        async for chunk in chunks:
            body.extend(chunk)
            if len(body) > cap:
                await _drain(chunks, limits, seen=len(body))
                raise too_large
    except ClientDisconnect:
        raise InvalidRecord("the client closed the connection before sending the body") from None
    return bytes(body)


async def _drain(chunks: AsyncIterator[bytes], limits: WebLimits, seen: int = 0) -> None:
    """Read and drop the rest of the body, within the drain bounds (nothing is kept)."""
    with anyio.move_on_after(limits.drain_seconds):
        try:
            async for chunk in chunks:
                seen += len(chunk)
                if seen > limits.drain_bytes:
                    return
        except ClientDisconnect:
            return


def allowed_hosts(bound_host: str, trusted: Iterable[str] = ()) -> frozenset[str] | None:
    """Host names the server answers to; None when ``trusted`` holds ``*`` (any host)."""
    names = {_bare_host(name) for name in trusted}
    if "*" in names:
        return None
    bound = _bare_host(bound_host)
    if bound not in _WILDCARD_BINDS:
        names.add(bound)
    return frozenset(names | LOOPBACK_NAMES)


def check_host(host_header: str | None, allowed: frozenset[str] | None) -> None:
    """UntrustedHost unless the Host header names an allowed host."""
    if allowed is None:
        return
    if not host_header:
        raise UntrustedHost("the request has no Host header")
    host = _bare_host(host_header)
    if host not in allowed:
        raise UntrustedHost(f"host {host[:100]!r} is not served here; start the server with "
                            f"--trusted-host {host[:100]} to allow it")


def _bare_host(value: str) -> str:
    """Lower-case host without port or IPv6 brackets: ``[::1]:8000`` -> ``::1``."""
    value = value.strip().lower().rstrip(".")
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value
