"""Who is signed in: their tokens live in the signed session cookie, encrypted
so the cookie alone never shows them, and every API call goes out with them.

Access tokens are short; a refresh token (when the API hands one out) buys a
new pair shortly before expiry or after one 401. When that fails too (the
user was deactivated, their login revoked) the user is signed out on the
spot and sent to the login page.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, g, redirect, request, session, url_for

from console.api import Api, ApiError, Reply

REFRESH_MARGIN = 30  # seconds before expiry when a token is renewed ahead of time


class LoggedOut(Exception):
    """The session's tokens no longer work; the user must sign in again."""


def _cipher() -> Fernet:
    key = hashlib.sha256(("console-tokens:" + current_app.secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _claims(access_token: str) -> dict:
    """The token's payload, read for display only: the API verifies it."""
    try:
        payload = access_token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def store_tokens(answer: dict) -> None:
    claims = _claims(answer["access_token"])
    expires_in = int(answer.get("expires_in") or 900)
    tokens = {"access": answer["access_token"], "refresh": answer.get("refresh_token"),
              "expires_at": time.time() + expires_in}
    session["tokens"] = _cipher().encrypt(json.dumps(tokens).encode()).decode()
    session["user"] = {"id": claims.get("sub"), "name": claims.get("name") or claims.get("email"),
                       "email": claims.get("email"), "role": claims.get("role"), "team": claims.get("team")}


def session_tokens() -> dict | None:
    sealed = session.get("tokens")
    if not sealed:
        return None
    try:
        return json.loads(_cipher().decrypt(sealed.encode()))
    except (InvalidToken, ValueError):
        return None


def clear_session() -> None:
    for key in ("tokens", "user"):
        session.pop(key, None)


def current_user() -> dict | None:
    return session.get("user") if session.get("tokens") else None


class RefreshCoordinator:
    """A refresh token works once: two pages loading at the same moment must
    not both spend it (the second would revoke the whole login), so the
    first refresh's answer is shared for a short while."""

    def __init__(self, keep_seconds: float = 60):
        self.keep = keep_seconds
        self.lock = threading.Lock()
        self.answers: dict[str, tuple[float, dict]] = {}

    def refresh(self, api: Api, refresh_token: str) -> dict:
        spent = hashlib.sha256(refresh_token.encode()).hexdigest()
        with self.lock:
            now = time.monotonic()
            self.answers = {k: v for k, v in self.answers.items() if now - v[0] < self.keep}
            if spent in self.answers:
                return self.answers[spent][1]
            answer = api.call("POST", "/auth/refresh", body={"refresh_token": refresh_token}).data
            self.answers[spent] = (now, answer)
            return answer


_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="console-api")


class UserApi:
    """The API as the signed-in user."""

    def __init__(self, api: Api, coordinator: RefreshCoordinator):
        self.api = api
        self.coordinator = coordinator

    def _renew(self, tokens: dict) -> dict:
        if not tokens.get("refresh"):
            raise LoggedOut()
        try:
            store_tokens(self.coordinator.refresh(self.api, tokens["refresh"]))
        except ApiError:
            raise LoggedOut() from None
        return session_tokens()

    def _fresh_tokens(self) -> dict:
        tokens = session_tokens()
        if tokens is None:
            raise LoggedOut()
        if tokens.get("refresh") and tokens["expires_at"] - time.time() < REFRESH_MARGIN:
            tokens = self._renew(tokens)
        return tokens

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        tokens = self._fresh_tokens()
        headers = {"X-Request-ID": g.get("request_id", ""), **kwargs.pop("headers", {})}
        try:
            return self.api.call(method, path, token=tokens["access"], headers=dict(headers), **kwargs)
        except ApiError as exc:
            if exc.status != 401:
                raise
        tokens = self._renew(tokens)
        try:
            return self.api.call(method, path, token=tokens["access"], headers=dict(headers), **kwargs)
        except ApiError as exc:
            if exc.status == 401:
                raise LoggedOut() from None
            raise

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, query=query).data

    def download(self, path: str, query: dict):
        """A CSV passed on as it arrives (the token is fresh: a download outlives no refresh)."""
        return self.api.download(path, token=self._fresh_tokens()["access"], query=query,
                                 headers={"X-Request-ID": g.get("request_id", "")})

    def get_many(self, wanted: dict[str, tuple[str, dict]]) -> dict[str, Any]:
        """Several reads at once (a page's slices), each an answer or the
        ApiError it raised, so one slice that fails leaves the others shown."""
        token = self._fresh_tokens()["access"]  # renewed here, in the request, not in the threads
        rid = g.get("request_id", "")

        def one(item):
            path, query = item
            try:
                return self.api.call("GET", path, token=token, query=query, headers={"X-Request-ID": rid}).data
            except ApiError as exc:
                return exc

        answers = dict(zip(wanted, _POOL.map(one, wanted.values())))
        if any(isinstance(a, ApiError) and a.status == 401 for a in answers.values()):
            answers = {name: self._one_or_error(path, query) for name, (path, query) in wanted.items()}
        return answers

    def _one_or_error(self, path: str, query: dict):
        try:
            return self.get(path, **query)
        except LoggedOut:
            raise
        except ApiError as exc:
            return exc

    def post(self, path: str, body: Any = None, *, idempotency_key: str | None = None) -> Reply:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.call("POST", path, body=body if body is not None else {}, headers=headers)

    def put(self, path: str, body: dict) -> Reply:
        return self.call("PUT", path, body=body)

    def delete(self, path: str) -> Reply:
        return self.call("DELETE", path)

    def patch(self, path: str, body: dict, *, version: int | str | None = None) -> Reply:
        headers = {"If-Match": f'"{version}"'} if version not in (None, "") else {}
        return self.call("PATCH", path, body=body, headers=headers)


def user_api() -> UserApi:
    if "user_api" not in g:
        ext = current_app.extensions
        g.user_api = UserApi(ext["console.api"], ext["console.refresh"])
    return g.user_api


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper
