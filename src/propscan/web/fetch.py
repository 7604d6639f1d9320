"""Fetching an article by URL for ``serve --allow-fetch``, with SSRF protection.

The address check happens where the socket is opened: the host name is resolved once, every
address it resolves to must be public, and the connection goes to that checked address. A DNS
answer that changes between check and connect (rebinding) therefore cannot reach a private
address, and every redirect hop goes through the same check.

Host names are normalised first (NFKC, then IDNA/UTS 46), so that look-alike spellings of an
address (``①②⑦.0.0.1``, ``127。0。0。1``) are checked as the address they spell; a host name
that does not normalise is refused.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import httpcore
import idna

from propscan.errors import FetchFailed, FetchRefused, InputTooLarge

__all__ = ["FetchedPage", "fetch_url", "check_public_address", "normalise_url"]

MAX_FETCH_BYTES = 5 * 1024 * 1024
FETCH_TIMEOUT_S = 10.0
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class FetchedPage:
    url: str  # the final URL after redirects
    content_type: str
    text: str


def check_public_address(address: str) -> None:
    """Raise FetchRefused unless ``address`` is a globally routable unicast IP."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        raise FetchRefused(f"refusing to fetch from a non-public address ({ip})")


class _PublicOnlyBackend(httpcore.SyncBackend):
    """Resolves, checks every address, then connects to the checked one (no second lookup)."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options=None) -> httpcore.NetworkStream:  # noqa: ANN001
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as err:
            raise FetchFailed(f"cannot resolve host {host!r}") from err
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise FetchFailed(f"cannot resolve host {host!r}")
        for address in addresses:
            check_public_address(address)
        return super().connect_tcp(addresses[0], port, timeout=timeout,
                                   local_address=local_address, socket_options=socket_options)


def normalise_url(url: str) -> str:
    """``url`` with its host in ASCII (IDNA) and its path percent-encoded; FetchRefused for
    a URL that is not http(s), carries credentials, or names a non-public address."""
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except (ValueError, TypeError) as err:
        raise FetchRefused(f"not a valid URL: {url[:200]!r}") from err
    if parts.scheme not in ("http", "https") or not hostname:
        raise FetchRefused("only http:// and https:// URLs with a host name can be fetched")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials are not fetched")
    host = _ascii_host(hostname)
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = None  # a name: its addresses are checked when the connection opens
    if address is not None:
        check_public_address(host)
    netloc = f"[{host}]" if address is not None and address.version == 6 else host
    if port is not None:
        netloc += f":{port}"
    safe = "/%:@!$&'()*+,;=?~-._"  # reserved characters keep their meaning
    try:
        return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=safe),
                           quote(parts.query, safe=safe), ""))
    except UnicodeError as err:  # a lone surrogate in the path or query
        raise FetchRefused(f"not a valid URL: {url[:200]!r}") from err


def _ascii_host(hostname: str) -> str:
    """The host as the resolver will see it; FetchRefused when it does not normalise."""
    try:
        ipaddress.ip_address(hostname.split("%", 1)[0])
        return hostname
    except ValueError:
        pass
    try:
        mapped = unicodedata.normalize("NFKC", hostname)
        return idna.encode(mapped, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError) as err:
        raise FetchRefused(f"host name {hostname[:100]!r} is not a valid host name "
                           f"({err})") from None


def fetch_url(url: str, *, max_bytes: int = MAX_FETCH_BYTES,
              timeout: float = FETCH_TIMEOUT_S) -> FetchedPage:
    """GET ``url`` (following up to 3 redirects) within size and time caps."""
    deadline = time.monotonic() + timeout
    timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    with httpcore.ConnectionPool(ssl_context=ssl.create_default_context(),
                                 network_backend=_PublicOnlyBackend(), retries=0) as pool:
        for _hop in range(MAX_REDIRECTS + 1):
            url = normalise_url(url)
            headers = [(b"User-Agent", b"propscan/0.1 (+article analysis)"),
                       (b"Accept", b"text/html, text/plain;q=0.9, */*;q=0.1")]
            try:
                with pool.stream("GET", url, headers=headers,
                                 extensions={"timeout": timeouts}) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = dict((k.lower(), v) for k, v in response.headers).get(
                            b"location")
                        if not location:
                            raise FetchFailed(f"redirect without a location from {url}")
                        url = urljoin(url, location.decode("latin-1"))
                        continue
                    if response.status >= 400:
                        raise FetchFailed(f"{url} answered HTTP {response.status}")
                    content_type = dict((k.lower(), v) for k, v in response.headers).get(
                        b"content-type", b"").decode("latin-1")
                    body = bytearray()
                    for chunk in response.iter_stream():
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise InputTooLarge(f"{url} is over the {max_bytes:,}-byte limit")
                        if time.monotonic() > deadline:
                            raise FetchFailed(f"{url} took over {timeout:g} s")
            except httpcore.TimeoutException as err:
                raise FetchFailed(f"{url} took over {timeout:g} s") from err
            except (httpcore.NetworkError, httpcore.ProtocolError, ssl.SSLError) as err:
                raise FetchFailed(f"cannot fetch {url}: {type(err).__name__}") from err
            return FetchedPage(url, content_type, _decode(bytes(body), content_type))
    raise FetchFailed(f"too many redirects (over {MAX_REDIRECTS})")


def _decode(data: bytes, content_type: str) -> str:
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"\' ')
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")
