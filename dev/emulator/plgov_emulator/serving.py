"""The emulator's HTTP server: werkzeug's threaded server with keep-alive connections.

WHY: a benchmark of 1,000 endpoint services sends ~4,000 AWS calls through the AWS SDK for Rust
(hyper, a keep-alive pool, up to 8 requests in flight) and spent most of its time in the
emulator's HTTP layer. `moto_server` serves with werkzeug's `run_simple(threaded=True,
request_handler=MotoRequestHandler)`, and werkzeug 3's `WSGIRequestHandler.run_wsgi`, although it
speaks HTTP/1.1 when threaded (MotoRequestHandler only adds headers to the environ and changes
none of this), answers every request with `Connection: close`, because http.server cannot drain
an unread request body before reading the next request line. So every call costs:

- a new TCP connection and a new thread (ThreadingMixIn starts one per accepted connection);
- after the response, a drain loop that polls the socket (`select` with a 10 ms timeout) until
  the client has closed its end;
- headers and body in two `sendall`s (Nagle's algorithm not disabled);
- an access log line per request to stderr, through `logging` (0.47 ms a request under cProfile).

It also answered `Expect: 100-continue` twice (http.server's parse_request does, then run_wsgi).

Measured with `python bench_http.py --url URL --calls 400` against the emulator served both ways,
runs interleaved, the median of three runs' per-call medians (2-core machine shared with other
work; `health` is GET /_plgov/health, answered without moto, so it is mostly the HTTP layer):

    per-call median ms      1 client: before  after    8 clients: before  after
    health                            1.23    0.42                 13.04   3.03
    ddb-get (GetItem)                 4.79    2.89                 31.88  18.91
    ec2-conns (DescribeVpc...)        3.51    2.18                 24.98  12.95

and each client opens one TCP connection instead of one per call. Timed inside the server, a
request now spends ~0.3 ms outside the WSGI app; the rest of a DynamoDB or EC2 call (~2.5 ms
here) is moto's own handler, under the GIL, which bounds 8 clients' throughput.

What this module changes, and only for the HTTP framing; the WSGI app sees the same environ
(MotoRequestHandler.make_environ, with moto's underscore headers) and the client the same status,
headers (plus Server and Date, as before) and body:

- Connections are kept alive (HTTP/1.1; HTTP/1.0 only with `Connection: keep-alive`), one thread
  per connection as before, each serving request after request until the client closes, asks for
  `Connection: close`, or stays idle for IDLE_TIMEOUT seconds (then closed silently).
- Keep-alive is only safe when each request body is read exactly to its end: `wsgi.input` is
  bounded by Content-Length (a request with neither Content-Length nor chunked encoding has no
  body: an empty stream, never the socket), a chunked body stays werkzeug's DechunkedInput with
  `wsgi.input_terminated` (what `_read_body` reads), and whatever the app left unread is read and
  discarded after the response. A body that cannot be finished (client gone, malformed chunks, an
  unparsable Content-Length) closes the connection.
- The app's response is buffered and sent in one write, with TCP_NODELAY. A response without
  Content-Length gets one (werkzeug used chunked encoding; clients read both alike). HEAD, 1xx,
  204 and 304 responses never carry a body (werkzeug wrote a HEAD body after the headers, harmless
  only because it closed the connection). A response whose body does not match its own
  Content-Length, or that sets Transfer-Encoding itself, is sent as the app made it and the
  connection closed, as werkzeug did.
- `Expect: 100-continue` is answered once, by http.server's parse_request.
- An exception in the app is logged with its traceback (as werkzeug did) and answered with
  werkzeug's 500 InternalServerError page, then the connection is closed, as werkzeug did.
- No access log line per request: only responses with status >= 500 are logged, and errors and
  tracebacks as before. PLGOV_EMULATOR_ACCESS_LOG=1 logs every request as werkzeug did.
"""

from __future__ import annotations

import io
import os
import socket
from http import HTTPStatus
from typing import Any, Callable, Iterable

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import DechunkedInput, run_simple

IDLE_TIMEOUT = 300.0  # s; above hyper's (90 s) and urllib3's pool idle times, so a client's close comes first
DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of an unread request body read and discarded to keep the connection
ACCESS_LOG = os.environ.get("PLGOV_EMULATOR_ACCESS_LOG", "") not in ("", "0")
_NO_BODY_CODES = frozenset({204, 304})
_DROPPED = (ConnectionError, socket.timeout)


class _Body(io.RawIOBase):
    """A request body of known length: reads stop at its end, never in the next request."""

    def __init__(self, rfile: Any, length: int):
        self._rfile = rfile
        self.remaining = length

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self.remaining <= 0:
            return 0
        data = self._rfile.read(min(len(buf), self.remaining))
        if not data:  # the client went away mid-body
            raise ConnectionResetError("request body ended early")
        n = len(data)
        buf[:n] = data
        self.remaining -= n
        return n

    def finished(self) -> bool:
        return self.remaining <= 0


class KeepAliveRequestHandler(MotoRequestHandler):
    """MotoRequestHandler that serves many requests per connection (see the module docstring)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT

    def handle_one_request(self) -> None:
        """http.server's, except that a connection idle past `timeout`, or reset, ends silently."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, ConnectionError):
            self.close_connection = True
            return
        try:
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:  # the client closed the connection
                self.close_connection = True
                return
            if not self.parse_request():  # it answered the bad request itself (and any `Expect: 100-continue`)
                return
            self.run_wsgi()  # every method, as werkzeug's do_* attributes
            self.wfile.flush()
        except TimeoutError as exc:  # mid-request
            self.log_error("Request timed out: %r", exc)
            self.close_connection = True

    def run_wsgi(self) -> None:
        environ = self.environ = self.make_environ()  # http.server already answered `Expect: 100-continue`
        body = self._bounded_input(environ)
        status: list[str] = []
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        def start_response(status_: str, headers_: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            if exc_info is None and status:
                raise AssertionError("Headers already set")
            status[:] = [status_]
            headers[:] = list(headers_)
            return chunks.append

        try:
            self._collect(self.server.app, environ, start_response, chunks)
            if not status:
                raise AssertionError("the app returned without calling start_response")
        except _DROPPED as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)
            return
        except Exception as exc:
            if self.server.passthrough_errors:
                raise
            from werkzeug.debug.tbtools import DebugTraceback

            self.server.log("error", f"Error on request:\n{DebugTraceback(exc).render_traceback_text()}")
            status[:], headers[:], chunks[:] = [], [], []
            self._collect(InternalServerError(), environ, start_response, chunks)
            self.close_connection = True
        if not self._finish_body(body):
            self.close_connection = True
        try:
            self._send(status[0], headers, b"".join(chunks))
        except _DROPPED as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)

    @staticmethod
    def _collect(app: Any, environ: dict[str, Any], start_response: Callable, chunks: list[bytes]) -> None:
        result: Iterable[bytes] = app(environ, start_response)
        try:
            for data in result:
                if not isinstance(data, bytes):
                    raise TypeError("applications must write bytes")
                chunks.append(data)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _bounded_input(self, environ: dict[str, Any]) -> Any:
        """Point `wsgi.input` at exactly this request's body; return what to finish afterwards."""
        stream = environ["wsgi.input"]
        if isinstance(stream, DechunkedInput):  # werkzeug also set wsgi.input_terminated
            return stream
        length = environ.get("CONTENT_LENGTH", "")
        if not length:
            environ["wsgi.input"] = io.BytesIO(b"")
            return None
        try:
            n = int(length)
            if n < 0:
                raise ValueError(length)
        except ValueError:
            self.close_connection = True  # the request cannot be framed: this is its connection's last
            return None
        environ["wsgi.input"] = body = _Body(self.rfile, n)
        return body

    def _finish_body(self, body: Any) -> bool:
        """Read what the app left of the request body; False when the connection cannot go on."""
        if body is None:
            return True
        try:
            if isinstance(body, _Body):
                if body.remaining > DRAIN_LIMIT:
                    return False
                while not body.finished():
                    body.read(min(body.remaining, 1 << 20))
                return True
            read = 0
            while not body._done:  # DechunkedInput: to its last, empty chunk
                data = body.read(1 << 20)
                read += len(data)
                if read > DRAIN_LIMIT or (not data and not body._done):
                    return False
            return True
        except (OSError, ValueError):
            return False

    def _send(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        code_str, _, reason = status.partition(" ")
        code = int(code_str)
        no_body = self.command == "HEAD" or 100 <= code < 200 or code in _NO_BODY_CODES
        names = {name.lower() for name, _ in headers}
        if "transfer-encoding" in names:
            self.close_connection = True  # the app framed the body itself: only a close ends it safely
        elif not no_body:
            declared = [v for k, v in headers if k.lower() == "content-length"]
            if not declared:
                headers.append(("Content-Length", str(len(payload))))
            elif declared != [str(len(payload))]:
                self.close_connection = True
        if no_body:
            payload = b""
        lines = [f"{self.protocol_version} {code} {reason}\r\n",
                 f"Server: {self.version_string()}\r\n", f"Date: {self.date_time_string()}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in headers if name.lower() != "connection"]
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        self.wfile.write("".join(lines).encode("latin-1") + payload)
        if ACCESS_LOG or code >= 500:
            super().log_request(code, len(payload))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """http.server's per-request line (send_error's too): only when asked for, or for a 5xx."""
        if ACCESS_LOG or str(code).startswith("5"):
            super().log_request(code, size)


def serve(host: str, port: int, app: Callable[..., Iterable[bytes]]) -> None:
    """werkzeug's run_simple (same banner, same threaded server), with the keep-alive handler."""
    run_simple(host, port, app, threaded=True, request_handler=KeepAliveRequestHandler)
