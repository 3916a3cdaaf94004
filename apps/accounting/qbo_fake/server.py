"""A stateful QuickBooks Online on 127.0.0.1, for tests and the benchmark.

Serves /v3/company/<realm>/... (read, create, sparse/full update, delete, void, query, batch,
cdc, companyinfo) with Intuit's payload shapes, plus the OAuth discovery, authorize and token
endpoints intuit-oauth calls. Enforces the throttles (limits.py), honours `requestid` (the same
id answers with the first response and changes nothing), and injects faults (faults.py).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import query as qbo_query
from .faults import FaultPlan
from .limits import QboLimits, Throttle
from .oauth import OAuthAuthority
from .store import ENTITIES, PACIFIC, Company, Fault, qbo_time

DEFAULT_REALM = "9130357766900000"
MAX_CDC_OBJECTS = 1000
_API_PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<rest>.+)$")
_BY_LOWER = {name.lower(): name for name in ENTITIES}


def _json(value) -> bytes:
    return json.dumps(
        value, default=lambda o: float(o) if isinstance(o, Decimal) else str(o)
    ).encode()


def _time_body(body: dict) -> dict:
    return {**body, "time": qbo_time(dt.datetime.now(tz=PACIFIC))}


class QboFake:
    def __init__(
        self, *, limits: QboLimits | None = None, enforce_limits: bool = True, seed: int = 0
    ):
        self.limits = limits or QboLimits()
        self.enforce_limits = enforce_limits
        self.throttle = Throttle(self.limits)
        self.faults = FaultPlan(seed=seed)
        self.oauth = OAuthAuthority(default_realm=DEFAULT_REALM)
        self.require_auth = True
        self.companies: dict[str, Company] = {}
        self.stats: collections.Counter = collections.Counter()
        self.minor_versions: set[str] = set()
        self.requests: list[tuple[str, str]] = []  # (method, path with query), for assertions
        self._replies: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.url = ""

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> QboFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = fake.handle(self.command, self.path, headers, body)
                status, extra_headers, payload, after = reply
                if after == "disconnect":
                    self.close_connection = True
                    return
                if isinstance(after, float):
                    time.sleep(after)  # the client has given up by now
                try:
                    self.send_response(status)
                    content_type = extra_headers.pop("Content-Type", "application/json")
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in extra_headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> QboFake:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def api_base_url(self) -> str:
        return f"{self.url}/v3"

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid_configuration"

    def company(self, realm: str = DEFAULT_REALM) -> Company:
        with self._lock:
            if realm not in self.companies:
                self.companies[realm] = Company(realm)
            return self.companies[realm]

    def reset(self) -> None:
        with self._lock:
            self.companies.clear()
            self._replies.clear()
            self.requests.clear()
            self.stats.clear()
        self.faults.clear()
        self.throttle = Throttle(self.limits)
        self.oauth = OAuthAuthority(default_realm=DEFAULT_REALM)

    # --- dispatch ------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict, body: bytes):
        parts = urlsplit(raw_path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        with self._lock:
            self.requests.append((method, raw_path))
        if path.startswith("/.well-known/"):
            return 200, {}, _json(self.oauth.discovery(self.url)), None
        if path == "/connect/oauth2":
            status, location, payload = self.oauth.authorize(params)
            return status, location, payload, None
        if path == "/oauth2/v1/tokens/bearer" and method == "POST":
            status, reply = self.oauth.token(headers, body)
            return status, {}, _json(reply), None
        if path == "/oauth2/v1/tokens/revoke":
            return 200, {}, b"", None
        match = _API_PATH.match(path)
        if not match:
            return 404, {}, _json({"error": "not found"}), None
        return self._api(method, match["realm"], match["rest"], params, headers, body)

    def _api(self, method, realm, rest, params, headers, body):
        if self.require_auth:
            token = headers.get("authorization", "").removeprefix("Bearer ").strip()
            if self.oauth.realm_for_access_token(token) != realm:
                return 401, {}, _json(_auth_fault()), None
        self.minor_versions.add(params.get("minorversion", ""))
        is_batch = rest == "batch"
        if self.enforce_limits:
            wait = self.throttle.enter(realm, batch=is_batch)
            if wait > 0:
                self.stats["throttled"] += 1
                return 429, {"Retry-After": Throttle.retry_after(wait)}, _throttle_body(), None
        try:
            return self._admitted(method, realm, rest, params, body)
        finally:
            if self.enforce_limits:
                self.throttle.leave(realm)

    def _admitted(self, method, realm, rest, params, body):
        request_id = params.get("requestid", "")
        self.stats["requests"] += 1
        if request_id:
            limit = 36 if rest == "batch" else 50
            if len(request_id) > limit:
                fault = Fault("2050", "Invalid requestid", f"requestid longer than {limit}")
                return 400, {}, _json(_time_body({"Fault": fault.body()})), None
            with self._lock:
                cached = self._replies.get((realm, request_id))
            if cached is not None:
                self.stats["replayed"] += 1
                return cached[0], {}, cached[1], None
        company = self.company(realm)
        is_update = method == "POST" and b'"Id"' in body and rest.split("/")[0] in _BY_LOWER
        injected = self.faults.draw(method, f"/{rest}", is_update=is_update)
        kind = injected.kind if injected else ""
        if kind == "rate_limit":
            return 429, {"Retry-After": str(injected.retry_after)}, _throttle_body(), None
        if kind == "server_error":
            page = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
            return 503, {"Content-Type": "text/html"}, page, None
        if kind == "stale":
            self._edit_in_quickbooks(company, rest, body)
        with company.lock:
            status, reply = self._process(company, method, rest, params, body)
        payload = _json(_time_body(reply))
        if request_id and status in (200, 400):
            with self._lock:
                self._replies[(realm, request_id)] = (status, payload)
        if kind == "timeout":
            return status, {}, payload, float(self.faults.timeout_delay)
        if kind == "disconnect":
            return status, {}, payload, "disconnect"
        return status, {}, payload, None

    def _edit_in_quickbooks(self, company: Company, rest: str, body: bytes) -> None:
        entity = _BY_LOWER.get(rest.split("/")[0])
        try:
            row_id = str(json.loads(body).get("Id", ""))
        except ValueError:
            return
        with company.lock:
            row = company.rows.get(entity or "", {}).get(row_id)
            if row is not None:
                row["PrivateNote"] = "Edited in QuickBooks"
                company.touch(entity, row)

    # --- operations ----------------------------------------------------------------------------
    def _process(self, company: Company, method, rest, params, body) -> tuple[int, dict]:
        try:
            head, _, tail = rest.partition("/")
            if head == "query":
                text = params.get("query") or body.decode()
                return 200, {"QueryResponse": self._query(company, text)}
            if head == "batch" and method == "POST":
                return 200, self._batch(company, json.loads(body, parse_float=Decimal), params)
            if head == "cdc":
                return 200, self._cdc(company, params)
            if head == "companyinfo":
                return 200, {"CompanyInfo": _company_info(company)}
            if head == "preferences":
                return 200, {"Preferences": company.preferences()}
            entity = _BY_LOWER.get(head)
            if entity is None:
                raise Fault("500", "Unsupported Operation", f"Unknown entity {head}")
            if method == "GET":
                return 200, {entity: company.get(entity, tail)}
            payload = json.loads(body or b"{}", parse_float=Decimal)
            row = company.save(entity, payload, params=params)
            self.stats[f"saved:{entity}"] += 1
            return 200, {entity: row}
        except Fault as fault:
            return 400, {"Fault": fault.body()}
        except (ValueError, KeyError, TypeError) as exc:
            fault = Fault("2000", "Request has invalid or unsupported property", str(exc))
            return 400, {"Fault": fault.body()}

    def _query(self, company: Company, text: str) -> dict:
        try:
            parsed = qbo_query.parse(text)
        except qbo_query.QueryError as exc:
            raise Fault("4000", "Error parsing query", f"QueryParserError: {exc}") from None
        if parsed.entity not in company.rows:
            raise Fault("4001", "Invalid query", f"{parsed.entity} is not queryable")
        return qbo_query.run(parsed, list(company.rows[parsed.entity].values()))

    def _batch(self, company: Company, payload: dict, params: dict) -> dict:
        items = payload.get("BatchItemRequest") or []
        if len(items) > self.limits.batch_size:
            raise Fault(
                "6000",
                "A business validation error has occurred",
                f"Batch of {len(items)} operations exceeds the maximum of {self.limits.batch_size}",
            )
        if params.get("requestid") and any(len(str(i.get("bId", ""))) > 10 for i in items):
            raise Fault("2050", "Invalid bId", "bId longer than 10 characters with a requestid")
        responses = []
        for item in items:  # serially, as Intuit runs them
            bid = item.get("bId", "")
            try:
                if "Query" in item:
                    responses.append(
                        {"bId": bid, "QueryResponse": self._query(company, item["Query"])}
                    )
                    continue
                entity = next((e for e in ENTITIES if e in item), None)
                if entity is None:
                    raise Fault("2000", "Request has invalid or unsupported property", "entity")
                op = item.get("operation", "create")
                op_params = {**params, "operation": op if op in ("delete", "void") else ""}
                row = company.save(entity, item[entity], params=op_params)
                self.stats[f"saved:{entity}"] += 1
                responses.append({"bId": bid, entity: row})
            except Fault as fault:
                responses.append({"bId": bid, "Fault": fault.body()})
        return {"BatchItemResponse": responses}

    def _cdc(self, company: Company, params: dict) -> dict:
        entities = [e for e in params.get("entities", "").split(",") if e]
        since_text = params.get("changedSince", "")
        try:
            since = dt.datetime.fromisoformat(since_text)
        except ValueError:
            raise Fault("2050", "Invalid date", f"changedSince {since_text!r}") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=PACIFIC)
        if since < dt.datetime.now(tz=PACIFIC) - dt.timedelta(days=30):
            raise Fault("2050", "Invalid date", "changedSince must be within the last 30 days")
        found: list[tuple[dt.datetime, str, dict]] = []
        for entity in entities:
            if entity not in company.rows:
                raise Fault("4001", "Invalid query", f"{entity} is not supported by CDC")
            for row in company.rows[entity].values():
                when = company.changed_at(entity, row["Id"])
                if when >= since:
                    found.append((when, entity, row))
            for kind, row_id, when in company.deleted:
                if kind == entity and when >= since:
                    meta = {"LastUpdatedTime": qbo_time(when)}
                    found.append(
                        (when, entity, {"Id": row_id, "status": "Deleted", "MetaData": meta})
                    )
        found.sort(key=lambda x: x[0])
        found = found[:MAX_CDC_OBJECTS]
        responses = []
        for entity in entities:
            rows = [row for _, kind, row in found if kind == entity]
            response = {entity: rows} if rows else {}
            responses.append({**response, "startPosition": 1, "maxResults": len(rows)})
        return {"CDCResponse": [{"QueryResponse": responses}]}


def _company_info(company: Company) -> dict:
    return {
        "Id": "1",
        "SyncToken": "0",
        "CompanyName": company.name,
        "LegalName": company.name,
        "Country": "US",
        "domain": "QBO",
    }


def _auth_fault() -> dict:
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": "Token expired or invalid",
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        },
    }


def _throttle_body() -> bytes:
    return _json(
        {
            "Fault": {
                "Error": [
                    {
                        "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                        "Detail": "The request limit was reached. You can try again later",
                        "code": "3001",
                    }
                ],
                "type": "ThrottleExceeded",
            }
        }
    )
