"""Intuit's OAuth 2.0 server, as far as intuit-oauth uses it.

Discovery document, an authorize endpoint that approves at once (redirecting with code, state and
realmId), and the token endpoint: codes are single-use, refresh tokens rotate on every refresh and
the replaced one answers 400 invalid_grant, as Intuit's do once rotated.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode

ACCESS_TTL = 3600
REFRESH_TTL = 8_726_400  # 101 days, Intuit's x_refresh_token_expires_in


class OAuthAuthority:
    def __init__(self, *, default_realm: str):
        self.default_realm = default_realm
        self.client_id: str | None = None  # None: any client is accepted
        self.client_secret: str | None = None
        self.refresh_delay = 0.0  # widen the window in race tests
        self.refresh_calls = 0
        self.code_exchanges = 0
        self._lock = threading.Lock()
        self._codes: dict[str, dict] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> realm (only the current ones)
        self._access: dict[str, tuple[str, float]] = {}  # access token -> (realm, expires)

    # --- used by tests and the benchmark to set a connection up --------------------------------
    def issue(self, realm: str | None = None, *, access_ttl: int = ACCESS_TTL) -> dict:
        realm = realm or self.default_realm
        with self._lock:
            return self._issue(realm, access_ttl)

    def _issue(self, realm: str, access_ttl: int = ACCESS_TTL) -> dict:
        access, refresh = f"at-{secrets.token_hex(12)}", f"rt-{secrets.token_hex(12)}"
        self._access[access] = (realm, time.time() + access_ttl)
        self._refresh[refresh] = realm
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": access_ttl,
            "x_refresh_token_expires_in": REFRESH_TTL,
        }

    def revoke_all(self) -> None:
        with self._lock:
            self._refresh.clear()
            self._access.clear()

    def realm_for_access_token(self, token: str) -> str | None:
        with self._lock:
            realm, expires = self._access.get(token, (None, 0.0))
            return realm if expires > time.time() else None

    # --- HTTP ----------------------------------------------------------------------------------
    def discovery(self, base: str) -> dict:
        return {
            "issuer": f"{base}/op/v1",
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "jwks_uri": f"{base}/op/v1/jwks",
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict, bytes]:
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri or query.get("response_type") != "code":
            return 400, {}, b"invalid_request"
        code = f"code-{secrets.token_hex(8)}"
        with self._lock:
            self._codes[code] = {"redirect_uri": redirect_uri, "realm": self.default_realm}
        params = {"code": code, "state": query.get("state", ""), "realmId": self.default_realm}
        return 302, {"Location": f"{redirect_uri}?{urlencode(params)}"}, b""

    def _client_ok(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        if self.client_id is None:
            return bool(client_id and secret)
        return client_id == self.client_id and secret == self.client_secret

    def token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if not self._client_ok(headers):
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self._lock:
                self.code_exchanges += 1
                entry = self._codes.pop(form.get("code", ""), None)
                if entry is None or entry["redirect_uri"] != form.get("redirect_uri"):
                    return 400, {"error": "invalid_grant"}
                return 200, self._issue(entry["realm"])
        if grant == "refresh_token":
            with self._lock:
                self.refresh_calls += 1
            if self.refresh_delay:
                time.sleep(self.refresh_delay)
            with self._lock:
                realm = self._refresh.pop(form.get("refresh_token", ""), None)
                if realm is None:
                    return 400, {"error": "invalid_grant"}
                return 200, self._issue(realm)
        return 400, {"error": "unsupported_grant_type"}
