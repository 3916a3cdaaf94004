"""A small stateful Twilio REST stand-in on 127.0.0.1, for tests and `comms_benchmark`.

Prism (serving Twilio's official spec) checks request and response shapes but answers every
message with the same example SID; this server hands out unique SIDs, records every request with
its arrival time, and can refuse chosen numbers with Twilio's real error bodies (21610, 21211...).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ERRORS = {
    "21211": (400, "The 'To' number is not a valid phone number."),
    "21610": (400, "Attempt to send to unsubscribed recipient"),
    "21614": (400, "'To' number is not a valid mobile number"),
    "20003": (401, "Authenticate"),
    "20429": (429, "Too Many Requests"),
    "30007": (400, "Message filtered"),
}


class TwilioLoopback:
    def __init__(self, *, port: int = 0):
        self.requests: list[dict] = []
        self.refuse: dict[str, str] = {}  # To number -> Twilio error code
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                arrived = time.time()
                with server._lock:
                    server.requests.append(
                        {
                            "path": self.path,
                            "form": form,
                            "at": arrived,
                            "auth": self.headers.get("Authorization", ""),
                        }
                    )
                code = server.refuse.get(form.get("To", ""))
                if code:
                    status, message = ERRORS[code]
                    return self._json(
                        status,
                        {"code": int(code), "message": message, "more_info": "", "status": status},
                    )
                account = self.path.split("/")[3] if self.path.count("/") > 3 else ""
                if self.path.endswith("/Messages.json"):
                    body = form.get("Body", "")
                    return self._json(
                        201,
                        {
                            "sid": "SM" + uuid.uuid4().hex,
                            "account_sid": account,
                            "status": "queued",
                            "to": form.get("To"),
                            "from": form.get("From"),
                            "body": body,
                            "num_segments": "1",
                            "price": None,
                            "direction": "outbound-api",
                        },
                    )
                if self.path.endswith("/Calls.json"):
                    return self._json(
                        201,
                        {
                            "sid": "CA" + uuid.uuid4().hex,
                            "account_sid": account,
                            "status": "queued",
                            "to": form.get("To"),
                            "from": form.get("From"),
                        },
                    )
                return self._json(404, {"code": 20404, "message": "Not found", "status": 404})

            def _json(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def messages(self) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"].endswith("/Messages.json")]

    def __enter__(self) -> TwilioLoopback:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
