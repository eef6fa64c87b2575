"""A real HTTP server on 127.0.0.1 for download tests, with faults it can be told to make."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path


class LoopbackServer:
    """Serve the files of a folder on 127.0.0.1, optionally slowly or with faults.

    Parameters
    ----------
    root : Path
        The folder whose files are served (``GET /<name>``).
    rate : float, optional
        Bytes per second to send at most (to make downloads slow enough to interrupt).
    faults : dict of str to str, optional
        File name -> fault: ``"404"``/``"500"`` (that HTTP status), ``"close"``
        (declare the full length, send half, close the connection), ``"hang"``
        (send the headers, then nothing for 60 s), ``"redirect:<base url>"`` (302 to the
        same file name under another base URL).
    """

    def __init__(
        self,
        root: Path,
        *,
        rate: float | None = None,
        faults: dict | None = None,
        host: str = "127.0.0.1",
    ):
        self.root = Path(root)
        self.rate = rate
        self.faults = dict(faults or {})
        self.requests: list[str] = []
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _count(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n

    def _handler_class(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                with server._lock:
                    server.requests.append(name)
                fault = server.faults.get(name)
                path = server.root / name
                if fault and fault.startswith("redirect:"):
                    self.send_response(302)
                    self.send_header("Location", fault.removeprefix("redirect:") + name)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fault in ("404", "500"):
                    self.send_error(int(fault))
                    return
                if not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if fault == "hang":
                    time.sleep(60)
                    return
                if fault == "close":
                    body = body[: len(body) // 2]
                step = 1 << 16
                for start in range(0, len(body), step):
                    chunk = body[start : start + step]
                    try:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    server._count(len(chunk))
                    if server.rate:
                        time.sleep(len(chunk) / server.rate)
                if fault == "close":
                    self.close_connection = True

        return Handler
