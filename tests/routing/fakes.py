"""Matrix vendors on 127.0.0.1, answering in each vendor's documented format.

One server speaks all three dialects: OSRM's table service (GET /table/v1/{profile}/{lng,lat;..}
with sources/destinations, nested "durations"/"distances", null for no route), Google's Distance
Matrix (GET /maps/api/distancematrix/json, rows of elements with "duration", "distance" and
"duration_in_traffic" objects, a top-level and per-element "status"), and HERE Matrix Routing v8
(POST /v8/matrix, row-major "travelTimes"/"distances"/"errorCodes"). Answers are computed from
the request (straight-line metres at 10 m/s; Google adds 20 % in traffic), so chunking and
stitching are really exercised. Failures are queued per vendor.

Traffic: Google's `departure_time` (seconds since the epoch, "now" or absent) and HERE's
`departureTime` (RFC 3339) are checked as each API documents them and recorded in
`departures`; set `traffic` to a function (vendor, departure) -> factor to make the answer
depend on the hour asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import threading
import zoneinfo
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

SPEED = 10.0  # metres per second
DENVER = zoneinfo.ZoneInfo("America/Denver")


def evening_rush(vendor: str, when: dt.datetime) -> float:
    """A `MatrixFake.traffic`: twice as slow 16:00-18:30 Denver time, free flow otherwise."""
    local = when.astimezone(DENVER)
    return 2.0 if dt.time(16) <= local.time() < dt.time(18, 30) else 1.0


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


@dataclasses.dataclass
class Seen:
    vendor: str
    method: str
    path: str
    query: dict[str, list[str]]
    body: dict | None
    headers: dict[str, str]


class MatrixFake:
    def __init__(self):
        self.requests: list[Seen] = []
        self.failures: dict[str, deque[tuple[int, object]]] = {
            "osrm": deque(),
            "google": deque(),
            "here": deque(),
        }
        # Pairs (origin, destination) the vendor cannot route, as rounded (lat, lng) tuples.
        self.unroutable: set[tuple[tuple[float, float], tuple[float, float]]] = set()
        self.traffic = None  # (vendor, departure datetime) -> travel-time factor
        self.departures: dict[str, list[dt.datetime]] = {"google": [], "here": []}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self)

            def do_POST(self):
                fake._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> MatrixFake:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail(self, vendor: str, status: int, body: object) -> None:
        self.failures[vendor].append((status, body))

    def of(self, vendor: str) -> list[Seen]:
        return [r for r in self.requests if r.vendor == vendor]

    # --- dispatch ---------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        if parts.path.startswith("/table/v1/"):
            vendor = "osrm"
        elif parts.path == "/maps/api/distancematrix/json":
            vendor = "google"
        elif parts.path == "/v8/matrix":
            vendor = "here"
        else:
            return self._send(handler, 404, {"message": "no such endpoint"})
        with self._lock:
            self.requests.append(
                Seen(vendor, handler.command, parts.path, query, body, dict(handler.headers))
            )
            failure = self.failures[vendor].popleft() if self.failures[vendor] else None
        if failure is not None:
            return self._send(handler, *failure)
        answer = getattr(self, f"_{vendor}")(parts.path, query, body)
        if isinstance(answer, tuple):  # (status, body): the request itself was refused
            return self._send(handler, *answer)
        return self._send(handler, 200, answer)

    @staticmethod
    def _send(handler, status: int, payload: object) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _blocked(self, a, b) -> bool:
        key = ((round(a[0], 4), round(a[1], 4)), (round(b[0], 4), round(b[1], 4)))
        return key in self.unroutable

    # --- OSRM -------------------------------------------------------------------------------
    def _osrm(self, path, query, body):
        coords = unquote(path.split("/", 4)[4])
        points = [tuple(reversed([float(v) for v in c.split(",")])) for c in coords.split(";")]
        sources = [int(i) for i in query["sources"][0].split(";")]
        destinations = [int(i) for i in query["destinations"][0].split(";")]
        durations, distances = [], []
        for s in sources:
            row_t, row_d = [], []
            for d in destinations:
                if self._blocked(points[s], points[d]):
                    row_t.append(None)
                    row_d.append(None)
                    continue
                m = metres(points[s], points[d])
                row_t.append(round(m / SPEED, 1))
                row_d.append(round(m, 1))
            durations.append(row_t)
            distances.append(row_d)
        return {"code": "Ok", "durations": durations, "distances": distances}

    # --- Google -----------------------------------------------------------------------------
    def _google(self, path, query, body):
        def parse(value):
            return [tuple(float(v) for v in p.split(",")) for p in value.split("|")]

        origins, destinations = parse(query["origins"][0]), parse(query["destinations"][0])
        departure = (query.get("departure_time") or ["now"])[0]
        if departure == "now":
            when = dt.datetime.now(dt.UTC)
        elif departure.isdigit():
            when = dt.datetime.fromtimestamp(int(departure), dt.UTC)
        else:
            return {"status": "INVALID_REQUEST", "error_message": "Invalid departure_time."}
        self.departures["google"].append(when)
        factor = self.traffic("google", when) if self.traffic else 1.2
        rows = []
        for o in origins:
            elements = []
            for d in destinations:
                if self._blocked(o, d):
                    elements.append({"status": "ZERO_RESULTS"})
                    continue
                m = metres(o, d)
                elements.append(
                    {
                        "status": "OK",
                        "distance": {"text": f"{m / 1000:.1f} km", "value": round(m)},
                        "duration": {"text": "", "value": round(m / SPEED)},
                        "duration_in_traffic": {"text": "", "value": round(factor * m / SPEED)},
                    }
                )
            rows.append({"elements": elements})
        return {
            "status": "OK",
            "origin_addresses": ["" for _ in origins],
            "destination_addresses": ["" for _ in destinations],
            "rows": rows,
        }

    # --- HERE -------------------------------------------------------------------------------
    def _here(self, path, query, body):
        origins = [(p["lat"], p["lng"]) for p in body["origins"]]
        destinations = [(p["lat"], p["lng"]) for p in body["destinations"]]
        departure = body.get("departureTime")
        when = dt.datetime.now(dt.UTC)
        if departure is not None:
            try:
                when = dt.datetime.fromisoformat(departure)
            except (TypeError, ValueError):
                when = None
            if when is None or when.tzinfo is None:  # RFC 3339 needs the offset
                return 400, {"title": "Malformed request", "cause": "Invalid departureTime"}
        self.departures["here"].append(when)
        factor = self.traffic("here", when) if self.traffic else 1.0
        times, dists, errors = [], [], []
        for o in origins:
            for d in destinations:
                if self._blocked(o, d):
                    times.append(0)
                    dists.append(0)
                    errors.append(3)
                    continue
                m = metres(o, d)
                times.append(round(factor * m / SPEED))
                dists.append(round(m))
                errors.append(0)
        matrix = {
            "numOrigins": len(origins),
            "numDestinations": len(destinations),
            "travelTimes": times,
            "distances": dists,
        }
        if any(errors):
            matrix["errorCodes"] = errors
        return {
            "matrixId": "fake-1",
            "matrix": matrix,
            "regionDefinition": body["regionDefinition"],
        }
