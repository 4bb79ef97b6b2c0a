"""The SSRF-safe image fetcher: every refusal, the pinned connection, redirects, size and time bounds.

Positive tests fetch from a local server, which is loopback: they allow ``127.0.0.1/32`` explicitly through
the constructor, exactly as production allows nothing.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eco2.adapters.safe_fetch import (
    MAX_IMAGE_BYTES,
    ImageRefusedError,
    ImageUnavailableError,
    SafeImageFetcher,
    is_allowed,
)
from tests.support.image_server import GIF, JPEG, WEBP, ImageServer, Route, tiny_png

LOCAL = ["127.0.0.1/32"]
PNG = tiny_png()


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer() as srv:
        srv.routes["/img.png"] = Route(PNG)
        yield srv


def local(**kwargs: object) -> SafeImageFetcher:
    kwargs.setdefault("timeout_s", 2.0)
    return SafeImageFetcher(allow_networks=LOCAL, **kwargs)  # type: ignore[arg-type]


def refused(fetcher: SafeImageFetcher, url: str) -> str:
    with pytest.raises(ImageRefusedError) as info:
        fetcher.fetch(url)
    return info.value.reason


def test_fetches_an_image_from_an_allowed_server(server: ImageServer) -> None:
    image = local().fetch(server.url("/img.png"))
    assert image.data == PNG
    assert image.media_type == "image/png"
    assert image.data_url().startswith("data:image/png;base64,iVBORw0KGgo")
    assert server.requests[0]["headers"]["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    ("body", "media_type"), [(JPEG, "image/jpeg"), (PNG, "image/png"), (GIF, "image/gif"), (WEBP, "image/webp")]
)
def test_accepts_each_allowed_image_type(server: ImageServer, body: bytes, media_type: str) -> None:
    server.routes["/x"] = Route(body, content_type=media_type)
    assert local().fetch(server.url("/x")).media_type == media_type


def test_magic_bytes_decide_the_media_type(server: ImageServer) -> None:
    server.routes["/mislabelled"] = Route(PNG, content_type="image/jpeg")
    assert local().fetch(server.url("/mislabelled")).media_type == "image/png"


def test_production_fetcher_refuses_loopback_before_connecting(server: ImageServer) -> None:
    assert refused(SafeImageFetcher(), server.url("/img.png")) == "blocked_address"
    assert server.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.0.8",
        "198.18.0.1",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[ff02::1]",
        "[2001:db8::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[::ffff:a00:1]",
        "[::127.0.0.1]",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:7f00:1::1]",
        "[2002:a00:1::1]",
    ],
)
def test_refuses_non_public_literal_addresses(host: str) -> None:
    assert refused(SafeImageFetcher(), f"http://{host}/a.png") == "blocked_address"


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "017700000001", "127.1", "localhost"])
def test_refuses_alternative_spellings_of_loopback(host: str) -> None:
    assert refused(SafeImageFetcher(), f"http://{host}/a.png") == "blocked_address"


@pytest.mark.parametrize("host", ["127.0.0.2", "[::1]", "[::ffff:127.0.0.2]", "[2002:7f00:1::1]"])
def test_allow_list_allows_exactly_what_it_names(host: str) -> None:
    assert refused(local(), f"http://{host}/a.png") == "blocked_address"


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "answers",
    [["10.0.0.5"], ["169.254.169.254"], ["::ffff:10.0.0.1"], ["fd00::1"], ["93.184.216.34", "10.0.0.1"], []],
)
def test_refuses_names_that_resolve_to_non_public_addresses(answers: list[str]) -> None:
    fetcher = SafeImageFetcher(resolver=lambda host, port: answers)
    assert refused(fetcher, "http://images.example/a.png") == ("blocked_address" if answers else "dns")


def test_unresolvable_host_is_refused() -> None:
    def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    assert refused(SafeImageFetcher(resolver=nxdomain), "http://nowhere.example/a.png") == "dns"


def test_connects_to_the_checked_address_without_resolving_again(server: ImageServer) -> None:
    """A rebinding DNS answers a public-looking address first and a private one later: only one lookup."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    image = local(resolver=rebinding).fetch(server.url("/img.png", host="images.test"))
    assert image.data == PNG
    assert lookups == ["images.test"]  # and the system resolver never saw "images.test"
    assert server.requests[0]["headers"]["host"] == f"images.test:{server.port}"


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://127.0.0.1/a.png", "gopher://127.0.0.1:70/", "data:image/png;base64,iVBO", "a.png"],
)
def test_refuses_other_schemes(url: str) -> None:
    assert refused(local(), url) == "scheme"


def test_refuses_credentials_in_the_url(server: ImageServer) -> None:
    assert refused(local(), f"http://user:pw@127.0.0.1:{server.port}/img.png") == "credentials_in_url"
    assert server.requests == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/a.png", "http:///a.png", "http://[::1/a.png"])
def test_refuses_malformed_urls(url: str) -> None:
    assert refused(local(), url) == "bad_url"


def test_follows_a_redirect_to_an_allowed_target(server: ImageServer) -> None:
    server.routes["/r"] = Route(status=302, content_type=None, headers={"Location": "/img.png"})
    assert local().fetch(server.url("/r")).data == PNG
    assert [r["path"] for r in server.requests] == ["/r", "/img.png"]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("http://10.0.0.1/a.png", "blocked_address"),
        ("http://[::ffff:192.168.0.1]/a.png", "blocked_address"),
        ("http://127.0.0.2/a.png", "blocked_address"),
        ("file:///etc/passwd", "scheme"),
    ],
)
def test_checks_every_redirect_hop(server: ImageServer, location: str, reason: str) -> None:
    server.routes["/r"] = Route(status=301, content_type=None, headers={"Location": location})
    assert refused(local(), server.url("/r")) == reason
    assert [r["path"] for r in server.requests] == ["/r"]


def test_redirect_to_a_name_resolving_privately_is_refused(server: ImageServer) -> None:
    answers = {"images.test": ["127.0.0.1"], "internal.test": ["192.168.0.10"]}
    server.routes["/r"] = Route(status=307, content_type=None, headers={"Location": "http://internal.test/a.png"})
    fetcher = local(resolver=lambda host, port: answers[host])
    assert refused(fetcher, server.url("/r", host="images.test")) == "blocked_address"


def test_caps_redirect_hops(server: ImageServer) -> None:
    server.routes["/loop"] = Route(status=302, content_type=None, headers={"Location": "/loop"})
    assert refused(local(max_redirects=2), server.url("/loop")) == "too_many_redirects"
    assert len(server.requests) == 3


def test_redirect_without_location_is_refused(server: ImageServer) -> None:
    server.routes["/r"] = Route(status=302, content_type=None)
    assert refused(local(), server.url("/r")) == "redirect"


def test_default_size_cap_is_five_megabytes() -> None:
    assert MAX_IMAGE_BYTES == 5 * 1024 * 1024


def test_refuses_a_declared_length_over_the_cap(server: ImageServer) -> None:
    server.routes["/big"] = Route(PNG, content_length=MAX_IMAGE_BYTES + 1)
    assert refused(local(), server.url("/big")) == "too_large"


def test_stops_reading_a_body_over_the_cap(server: ImageServer) -> None:
    server.routes["/big"] = Route(PNG + b"\0" * 300_000, chunked=True)
    assert refused(local(max_bytes=100_000), server.url("/big")) == "too_large"
    assert local(max_bytes=400_000).fetch(server.url("/big")).size == len(PNG) + 300_000


@pytest.mark.parametrize("content_type", ["text/html", "application/octet-stream", "image/svg+xml", None])
def test_refuses_non_image_content_types(server: ImageServer, content_type: str | None) -> None:
    server.routes["/x"] = Route(PNG, content_type=content_type)
    assert refused(local(), server.url("/x")) == "content_type"


def test_refuses_a_body_that_is_not_an_image(server: ImageServer) -> None:
    server.routes["/fake.png"] = Route(b"<html><body>login</body></html>", content_type="image/png")
    assert refused(local(), server.url("/fake.png")) == "not_image"


def test_client_errors_are_refusals_and_server_errors_are_retryable(server: ImageServer) -> None:
    assert refused(local(), server.url("/missing.png")) == "http_status"
    for status in (429, 500, 503):
        server.routes[f"/{status}"] = Route(b"", status=status, content_type="text/plain")
        with pytest.raises(ImageUnavailableError):
            local().fetch(server.url(f"/{status}"))


def test_errors_never_contain_the_url(server: ImageServer) -> None:
    url = server.url("/missing.png?X-Amz-Signature=supersecret")
    with pytest.raises(ImageRefusedError) as info:
        local().fetch(url)
    assert "supersecret" not in str(info.value)
    assert "missing" not in str(info.value)


def test_a_slow_server_times_out(server: ImageServer) -> None:
    server.routes["/slow"] = Route(PNG, delay_s=1.5)
    started = time.monotonic()
    with pytest.raises(ImageUnavailableError) as info:
        local(timeout_s=0.3).fetch(server.url("/slow"))
    assert info.value.reason == "timeout"
    assert time.monotonic() - started < 1.2


def test_a_dripping_server_cannot_outlive_the_overall_deadline(server: ImageServer) -> None:
    server.routes["/drip"] = Route(PNG, drip_s=0.05)  # each byte in time, the whole body far too slow
    started = time.monotonic()
    with pytest.raises(ImageUnavailableError) as info:
        local(timeout_s=0.4).fetch(server.url("/drip"))
    assert info.value.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ImageUnavailableError) as info:
        local().fetch(f"http://127.0.0.1:{port}/a.png")
    assert info.value.reason == "connection"


def test_proxy_environment_is_ignored(server: ImageServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:3128")
    monkeypatch.setenv("http_proxy", "http://10.255.255.1:3128")
    assert local().fetch(server.url("/img.png")).data == PNG


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=images.test",
         "-addext", "subjectAltName=DNS:images.test"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[ImageServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with ImageServer(tls=context) as srv:
        srv.routes["/img.png"] = Route(PNG)
        yield srv


def test_https_verifies_the_url_host_while_connecting_to_the_pinned_address(
    tls_server: ImageServer, certificate: tuple[Path, Path]
) -> None:
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    fetcher = local(resolver=lambda host, port: ["127.0.0.1"], ssl_context=trusting)
    assert fetcher.fetch(tls_server.url("/img.png", host="images.test")).data == PNG


def test_https_refuses_an_untrusted_or_mismatched_certificate(
    tls_server: ImageServer, certificate: tuple[Path, Path]
) -> None:
    resolver = lambda host, port: ["127.0.0.1"]  # noqa: E731
    assert refused(local(resolver=resolver), tls_server.url("/img.png", host="images.test")) == "tls"
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    wrong_name = local(resolver=resolver, ssl_context=trusting)
    assert refused(wrong_name, tls_server.url("/img.png", host="other.test")) == "tls"
