"""A real server (the live test server, a threaded WSGI server like the development one) answers
a malformed Content-Length with 400 on every kind of page, never 500."""

import socket
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def _raw(base: str, method: str, path: str, length: str) -> bytes:
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        request = (
            f"{method} {path} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        conn.sendall(request.encode())
        return conn.recv(200).split(b"\r\n", 1)[0]


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
@pytest.mark.parametrize(
    "method, path",
    [("POST", "/s/any/"), ("GET", "/s/any/p/abcdefghijkl/"), ("POST", "/admin/login/")],
)
def test_a_bad_content_length_is_a_400(live_server, method, path, length):
    assert _raw(live_server.url, method, path, length) == b"HTTP/1.1 400 Bad Request"
