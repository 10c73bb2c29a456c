"""The polite HTTP client against real HTTP servers on loopback: two servers, two hosts (an origin is
scheme + host + port). Each server logs every request, so the tests check what was (not) asked."""

from __future__ import annotations

import email.utils
import gzip
import http.server
import itertools
import shutil
import ssl
import subprocess
import threading
import time
import tracemalloc
from dataclasses import replace

import pytest

from index.web.fetcher import Fetcher, FetchOptions
from index.web.model import Fetched, FetchFailure, NotModified, Validators
from index.web.responses import retry_after
from index.web.state import FetchState
from tests.web_site import LoopbackSite, Route

CONTACT = "https://newsroom.example/bot"
HTML = "text/html"
# Short times so the suite stays fast; the defaults are for the open web.
FAST = FetchOptions(min_interval=0.0, connect_timeout=2, read_timeout=2, deadline=3, retries=2, backoff=0.05)


@pytest.fixture
def site():
    with LoopbackSite() as one:
        one.route("/robots.txt", Route(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
        yield one


@pytest.fixture
def other():
    """A second host: another port, its own robots.txt."""
    with LoopbackSite() as two:
        two.route("/robots.txt", Route(body=b"User-agent: *\nDisallow: /closed/\n", content_type="text/plain"))
        yield two


@pytest.fixture
def fetcher_for(tmp_path):
    made: list[tuple[Fetcher, FetchState]] = []

    def make(**changes) -> Fetcher:
        state = FetchState(tmp_path / f"state{len(made)}.sqlite")
        fetcher = Fetcher(CONTACT, state, replace(FAST, **changes))
        made.append((fetcher, state))
        return fetcher

    yield make
    for fetcher, state in made:
        fetcher.close()
        state.close()


def page(text: str = "A page.") -> Route:
    return Route(body=f"<html><body><p>{text}</p></body></html>".encode())


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_user_agent_names_the_contact_and_robots_txt_comes_first(site, fetcher_for):
    url = site.route("/news/1.html", page())

    result = fetcher_for().fetch(url, HTML, 100_000)

    assert isinstance(result, Fetched) and b"A page." in result.body
    assert [r.path for r in site.requests()] == ["/robots.txt", "/news/1.html"]
    assert all(r.headers["user-agent"].startswith("newsdesk/") for r in site.requests())
    assert all(r.headers["user-agent"].endswith(f"(+{CONTACT})") for r in site.requests())


def test_a_disallowed_url_is_never_requested(site, fetcher_for):
    url = site.route("/private/secret.html", page("secret"))

    result = fetcher_for().fetch(url, HTML, 100_000)

    assert isinstance(result, FetchFailure) and result.kind == "disallowed"
    assert "robots.txt" in result.reason
    assert site.requests("/private/secret.html") == []


def test_robots_txt_is_asked_once_per_host_and_kept_in_the_state(site, fetcher_for, tmp_path):
    urls = [site.route(f"/news/{n}.html", page()) for n in range(3)]
    fetcher = fetcher_for()
    for url in urls:
        fetcher.fetch(url, HTML, 100_000)
    again = Fetcher(CONTACT, fetcher.robots._state, FAST)  # a later run on the same state
    again.fetch(urls[0], HTML, 100_000)
    again.close()

    assert len(site.requests("/robots.txt")) == 1


def test_robots_txt_missing_allows_all_and_unreachable_disallows_all(site, other, fetcher_for):
    del site.routes["/robots.txt"]  # 404: everything allowed
    allowed = site.route("/private/open.html", page())
    other.routes["/robots.txt"] = Route(status=500, validators=False)
    refused = other.route("/news/1.html", page())

    assert isinstance(fetcher_for().fetch(allowed, HTML, 100_000), Fetched)
    result = fetcher_for().fetch(refused, HTML, 100_000)
    assert isinstance(result, FetchFailure) and result.kind == "robots_unreachable"
    assert other.requests("/news/1.html") == []


def test_conditional_get_sends_validators_and_takes_a_304(site, fetcher_for):
    url = site.route("/feed.xml", Route(body=b"<rss/>", content_type="application/rss+xml"))
    fetcher = fetcher_for()

    first = fetcher.fetch(url, "application/rss+xml", 100_000)
    assert isinstance(first, Fetched) and first.validators.etag and first.validators.last_modified
    second = fetcher.fetch(url, "application/rss+xml", 100_000, first.validators)

    assert isinstance(second, NotModified) and second.why == "304"
    asked = site.requests("/feed.xml")[-1]
    assert asked.headers["if-none-match"] == first.validators.etag
    assert asked.headers["if-modified-since"] == first.validators.last_modified
    assert asked.status == 304


def test_a_server_that_ignores_validators_is_caught_by_the_body_hash(site, fetcher_for):
    url = site.route("/feed.xml", Route(body=b"<rss>same</rss>", honour_conditional=False))
    fetcher = fetcher_for()

    first = fetcher.fetch(url, "application/rss+xml", 100_000)
    assert isinstance(first, Fetched)
    second = fetcher.fetch(url, "application/rss+xml", 100_000, first.validators)

    assert isinstance(second, NotModified) and second.why == "same body"
    assert site.requests("/feed.xml")[-1].status == 200


def test_consecutive_requests_to_one_host_keep_min_interval(site, other, fetcher_for):
    fetcher = fetcher_for(min_interval=0.2)
    for n in range(4):
        fetcher.fetch(site.route(f"/news/{n}.html", page()), HTML, 100_000)
        fetcher.fetch(other.route(f"/news/{n}.html", page()), HTML, 100_000)

    for server in (site, other):
        times = [r.at for r in server.requests()]
        assert len(times) == 5  # robots.txt and four pages
        assert min(gaps(times)) >= 0.2


def test_crawl_delay_in_robots_txt_slows_us_down(site, fetcher_for):
    site.routes["/robots.txt"] = Route(body=b"User-agent: *\nCrawl-delay: 0.3\n", content_type="text/plain")
    fetcher = fetcher_for(min_interval=0.05)
    for n in range(3):
        fetcher.fetch(site.route(f"/news/{n}.html", page()), HTML, 100_000)

    assert min(gaps([r.at for r in site.requests()][1:])) >= 0.3


def test_503_with_retry_after_in_seconds_is_waited_for(site, fetcher_for):
    url = site.route("/news/1.html", Route(body=b"<p>late</p>", first=[(503, {"Retry-After": "1"})]))

    result = fetcher_for().fetch(url, HTML, 100_000)

    assert isinstance(result, Fetched)
    asked = site.requests("/news/1.html")
    assert [r.status for r in asked] == [503, 200]
    assert asked[1].at - asked[0].at >= 1.0


def test_429_with_retry_after_as_an_http_date_is_waited_for(site, fetcher_for):
    until = email.utils.formatdate(time.time() + 2, usegmt=True)
    url = site.route("/news/1.html", Route(body=b"<p>late</p>", first=[(429, {"Retry-After": until})]))

    result = fetcher_for().fetch(url, HTML, 100_000)

    assert isinstance(result, Fetched)
    asked = site.requests("/news/1.html")
    assert [r.status for r in asked] == [429, 200]
    assert asked[1].wall >= email.utils.parsedate_to_datetime(until).timestamp()


def test_a_retry_after_longer_than_a_run_waits_is_a_named_failure_with_the_time(site, fetcher_for):
    url = site.route("/news/1.html", Route(body=b"x", first=[(429, {"Retry-After": "3600"})]))

    result = fetcher_for().fetch(url, HTML, 100_000)

    assert isinstance(result, FetchFailure) and result.kind == "rate_limited"
    assert result.retry_at is not None and result.retry_at > time.time() + 3500
    assert len(site.requests("/news/1.html")) == 1


def test_retry_after_reads_seconds_and_dates_and_caps_them():
    now = 1_000_000.0
    assert retry_after("120") == 120
    assert retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30
    assert retry_after("99999999") == 24 * 3600
    assert retry_after("soon") is None


def test_server_errors_are_retried_with_backoff_then_given_up(site, fetcher_for):
    flaky = site.route("/news/1.html", Route(body=b"<p>ok</p>", first=[(500, {}), (502, {})]))
    broken = site.route("/news/2.html", Route(status=500, validators=False))

    assert isinstance(fetcher_for().fetch(flaky, HTML, 100_000), Fetched)
    result = fetcher_for(retries=2, backoff=0.2).fetch(broken, HTML, 100_000)

    assert isinstance(result, FetchFailure) and result.kind == "http_status" and result.transient
    assert "tried 3 times" in result.reason
    first, second = gaps([r.at for r in site.requests("/news/2.html")])
    # Exponential with ±25 % jitter: about 0.2 s, then about 0.4 s.
    assert first >= 0.15 and second >= 0.3


def test_a_trickling_response_hits_the_wall_clock_deadline(site, fetcher_for):
    # One byte every 50 ms never trips the 2 s read timeout; the whole would take 100 s.
    url = site.route("/news/slow.html", Route(body=b"x" * 2000, trickle=0.05))

    result = fetcher_for(deadline=1.0, retries=0).fetch(url, HTML, 100_000)

    assert isinstance(result, FetchFailure) and result.kind == "deadline"
    assert result.traffic.bytes < 2000


def test_an_oversized_body_stops_at_the_cap(site, fetcher_for):
    streamed = site.route("/big.html", Route(body=b"<p>" + b"a" * 5_000_000, chunked=True, validators=False))
    declared = site.route("/declared.html", Route(body=b"a" * 300_000, validators=False))
    fetcher = fetcher_for()

    result = fetcher.fetch(streamed, HTML, 100_000)
    assert isinstance(result, FetchFailure) and result.kind == "too_large"
    assert result.traffic.bytes < 100_000 + 2 * 64 * 1024  # read up to the cap, then dropped
    result = fetcher.fetch(declared, HTML, 100_000)
    assert isinstance(result, FetchFailure) and result.kind == "too_large" and "declares 300,000" in result.reason
    assert result.traffic.bytes == 0


def test_a_gzip_bomb_in_content_encoding_stops_at_the_cap(site, fetcher_for):
    bomb = gzip.compress(bytes(50_000_000))  # ~50 KB on the wire, 50 MB decoded
    url = site.route("/bomb.html", Route(body=bomb, gzip=True, raw_gzip=True, validators=False))

    fetcher = fetcher_for()
    tracemalloc.start()
    try:
        result = fetcher.fetch(url, HTML, 1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert isinstance(result, FetchFailure) and result.kind == "too_large"
    assert peak < 10_000_000  # the 50 MB were never held: decoding stopped past the 1 MB cap


def test_gzip_content_encoding_is_decoded(site, fetcher_for):
    url = site.route("/zipped.html", Route(body=b"<p>zipped</p>" * 100, gzip=True))

    result = fetcher_for().fetch(url, HTML, 100_000)

    assert isinstance(result, Fetched) and result.body == b"<p>zipped</p>" * 100
    assert result.traffic.bytes < len(result.body)


def test_a_redirect_to_another_host_checks_that_hosts_robots_txt(site, other, fetcher_for):
    fine = other.route("/news/1.html", page("moved here"))
    closed = other.route("/closed/2.html", page("not for crawlers"))
    site.route("/go/1", Route(status=301, headers={"Location": fine}, validators=False))
    site.route("/go/2", Route(status=302, headers={"Location": closed}, validators=False))
    fetcher = fetcher_for()

    moved = fetcher.fetch(site.url("/go/1"), HTML, 100_000)
    refused = fetcher.fetch(site.url("/go/2"), HTML, 100_000)

    assert isinstance(moved, Fetched) and moved.final_url == fine and moved.url == site.url("/go/1")
    assert isinstance(refused, FetchFailure) and refused.kind == "disallowed"
    assert [r.path for r in other.requests()] == ["/robots.txt", "/news/1.html"]  # never /closed/2.html


def test_redirect_loops_and_long_chains_are_named_failures(site, fetcher_for):
    site.route("/a", Route(status=302, headers={"Location": "/b"}, validators=False))
    site.route("/b", Route(status=302, headers={"Location": "/a"}, validators=False))
    for n in range(8):
        site.route(f"/hop/{n}", Route(status=307, headers={"Location": f"/hop/{n + 1}"}, validators=False))
    fetcher = fetcher_for()

    loop = fetcher.fetch(site.url("/a"), HTML, 100_000)
    chain = fetcher.fetch(site.url("/hop/0"), HTML, 100_000)

    assert isinstance(loop, FetchFailure) and loop.kind == "redirects" and "loop" in loop.reason
    assert isinstance(chain, FetchFailure) and chain.kind == "redirects" and "more than 5 redirects" in chain.reason
    assert [r.path for r in site.requests() if r.path.startswith("/hop/")] == [f"/hop/{n}" for n in range(6)]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/feed.xml",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "//x",
        "http://[::1/",
        "http://127.0.0.1:99999/",
        "http://exa mple.example/",
    ],
)
def test_non_http_urls_are_refused_without_a_request(fetcher_for, url):
    result = fetcher_for().fetch(url, HTML, 100_000)

    assert isinstance(result, FetchFailure) and result.kind == "bad_url"
    assert result.traffic.requests == 0


@pytest.mark.parametrize(
    ("location", "named"), [("file:///etc/passwd", "file:"), ("http://[127.0.0.1/x", "not a valid URL")]
)
def test_a_redirect_to_a_file_url_or_an_unparseable_one_is_refused(site, fetcher_for, location, named):
    site.route("/sneaky", Route(status=302, headers={"Location": location}, validators=False))

    result = fetcher_for().fetch(site.url("/sneaky"), HTML, 100_000)

    assert isinstance(result, FetchFailure) and result.kind == "bad_url" and named in result.reason


def test_a_404_is_a_named_permanent_failure(site, fetcher_for):
    result = fetcher_for().fetch(site.url("/nowhere.html"), HTML, 100_000)

    assert isinstance(result, FetchFailure) and result.kind == "http_status" and not result.transient
    assert result.reason.startswith("HTTP 404")


def test_a_refused_connection_is_a_named_failure(fetcher_for):
    result = fetcher_for(retries=1).fetch("http://127.0.0.1:9/news.html", HTML, 100_000)  # port 9: nothing there

    assert isinstance(result, FetchFailure) and result.kind == "robots_unreachable"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls_certificates_are_verified(tmp_path, fetcher_for):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = fetcher_for().fetch(f"https://127.0.0.1:{server.server_address[1]}/", HTML, 100_000)
    finally:
        server.shutdown()
        server.server_close()

    assert isinstance(result, FetchFailure) and result.kind == "robots_unreachable"
    assert "CERTIFICATE_VERIFY_FAILED" in result.reason


def test_unknown_validators_do_not_make_a_request_conditional(site, fetcher_for):
    url = site.route("/news/1.html", page())

    result = fetcher_for().fetch(url, HTML, 100_000, Validators(body_hash="0" * 64))

    assert isinstance(result, Fetched)
    assert "if-none-match" not in site.requests("/news/1.html")[0].headers
