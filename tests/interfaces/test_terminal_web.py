"""The terminal web application without a browser (httpx over real HTTPS, the real database):
security headers, cookies, CSRF, terminal identity, no personal data in URLs, error pages, and the
sign-in, idle-lock, search and review flows at the HTTP level. REQUIREMENTS S-01..S-04, S-07,
S-15, S-16, S-25; ARCHITECTURE.md §4 (Terminals). The browser itself is in tests/browser.
"""

from __future__ import annotations

import dataclasses
import re
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from juki.config import Settings
from juki.files import all_files
from juki.interfaces.terminal import create_terminal_app
from juki.interfaces.terminal.context import terminal_pools
from juki.interfaces.terminal.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE, TERMINAL_COOKIE
from juki.interfaces.terminal.tls import ensure_terminal_certificate, terminal_server_context
from juki.interfaces.tls_server import RunningServer, serve_in_thread
from juki.services.access.pki import Pki
from juki.services.search import service as search_service
from juki.store.db import Database, DbRole
from tests.interfaces.terminal_web_support import (
    ADMIN_PASSWORD,
    AUDITOR_PASSWORD,
    MOVED_ADDRESS,
    RESIDENT_BIRTH,
    RESIDENT_NAME,
    World,
    build_world,
    csrf_of,
    log_rows,
)
from tests.services.access.support import SoftAuthenticator

ORIGIN = "https://localhost:8444"


@pytest.fixture
def settings(db: Database) -> Settings:
    return dataclasses.replace(
        db.settings, webauthn_origin=ORIGIN, webauthn_rp_id="localhost", lockout_threshold=3
    )


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    return build_world(db, settings)


class Client:
    """An HTTPS client of the running application (real TLS, trusting the test CA) that records
    every URL it requested, to check that no personal data is ever in one."""

    def __init__(self, server: RunningServer, ca: Path) -> None:
        self.urls: list[str] = []
        context = ssl.create_default_context(cafile=str(ca))
        self.http = httpx.Client(
            base_url=f"https://localhost:{server.port}",
            verify=context,
            follow_redirects=True,
            event_hooks={"request": [lambda request: self.urls.append(str(request.url))]},
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)


@dataclass
class Served:
    app: Any
    server: RunningServer
    ca: Path

    def client(self) -> Client:
        return Client(self.server, self.ca)


@pytest.fixture
def served(db: Database, settings: Settings, world: World, tmp_path: Path) -> Iterator[Served]:
    """The application over HTTPS on localhost, its certificate from a private CA of the test."""
    pki = Pki(tmp_path / "pki")
    cert, key = ensure_terminal_certificate(pki)
    app = create_terminal_app(db, settings, search_cap=2)
    with serve_in_thread(app, terminal_server_context(cert, key)) as server:
        yield Served(app, server, pki.ca_cert_path)
    app.state.web.close()


@pytest.fixture
def app(served: Served) -> Any:
    return served.app


@pytest.fixture
def client(served: Served) -> Iterator[Client]:
    client = served.client()
    with client.http:
        yield client


def bind(client: Client, world: World, terminal: str = "代表端末") -> httpx.Response:
    token = world.binding_tokens[terminal]
    page = client.get(f"/terminal/bind/{token}")
    assert page.status_code == 200, page.text
    done = client.post(f"/terminal/bind/{token}", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200, done.text
    return done


def sign_in(client: Client, login: str, password: str) -> httpx.Response:
    page = client.get("/signin")
    return client.post(
        "/signin", data={"csrf_token": csrf_of(page.text), "login": login, "password": password}
    )


def enrol_and_sign_in_webauthn(client: Client, world: World, login: str = "kensaku1") -> SoftAuthenticator:
    """Register a (software) authenticator through the enrolment page's JSON calls, then sign in."""
    key = SoftAuthenticator(origin=ORIGIN)
    token = world.enrolment_tokens[login]
    page = client.get(f"/enrol/{token}")
    headers = {"X-CSRF-Token": csrf_of(page.text)}
    options = client.post(f"/webauthn/register/{token}/options", json={}, headers=headers)
    assert options.status_code == 200, options.text
    done = client.post(
        f"/webauthn/register/{token}/verify", json={"credential": key.register(options.text)}, headers=headers
    )
    assert done.json() == {"redirect": "/enrol/done"}, done.text
    signed = webauthn_sign_in(client, key, login)
    assert signed.json() == {"redirect": "/"}, signed.text
    return key


def webauthn_sign_in(
    client: Client, key: SoftAuthenticator, login: str, *, uv: bool = True
) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf_of(client.get("/signin").text)}
    options = client.post("/webauthn/signin/options", json={"login": login}, headers=headers)
    assert options.status_code == 200, options.text
    return client.post(
        "/webauthn/signin/verify",
        json={"login": login, "credential": key.assert_(options.text, uv=uv)},
        headers=headers,
    )


def search_pref(client: Client, **fields: str) -> httpx.Response:
    page = client.get("/search/pref")
    assert page.status_code == 200, page.text
    return client.post("/search/pref", data={"csrf_token": csrf_of(page.text), **fields})


def assert_hardened(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


# --- headers, cookies, terminal identity ---------------------------------------------------------------


def test_every_response_is_no_store_with_strict_csp(client: Client, world: World) -> None:
    """ARCHITECTURE.md §4: no-store, strict CSP (no inline script or style), nosniff, no referrer —
    on pages, error pages, redirects, JSON answers and static files alike."""
    unknown = client.get("/")
    assert unknown.status_code == 403
    assert_hardened(unknown)
    bind_page = client.get(f"/terminal/bind/{world.binding_tokens['代表端末']}")
    assert_hardened(bind_page)
    assert_hardened(bind(client, world))
    responses = [
        client.get("/signin"),
        client.get("/", follow_redirects=False),
        client.get("/no-such-page"),
        client.get("/static/style.css"),
        client.get("/static/webauthn.js"),
        client.post("/webauthn/signin/options", json={"login": "x"}),
        sign_in(client, "admin1", ADMIN_PASSWORD),
    ]
    for response in responses:
        assert_hardened(response)
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    html = responses[-1].text
    assert "<script>" not in html and " style=" not in html and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers (CSP would block them)"


def _set_cookie(response: httpx.Response, name: str) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    return header


def test_cookies_are_host_prefixed_secure_httponly_samesite_strict(client: Client, world: World) -> None:
    """S-02: the terminal and session secrets live only in __Host- cookies the page script cannot read."""
    bound = bind(client, world)
    signed = sign_in(client, "admin1", ADMIN_PASSWORD)
    for response, name in ((bound, TERMINAL_COOKIE), (signed.history[0], SESSION_COOKIE)):
        header = _set_cookie(response, name)
        attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
        assert name.startswith("__Host-")
        assert {"secure", "httponly", "samesite", "path"} <= attributes, header
        assert "domain" not in attributes, header
        assert "samesite=strict" in header.lower() and "path=/" in header.lower()


def test_requests_from_an_unregistered_browser_get_terminal_unknown(client: Client, world: World) -> None:
    """Only registered terminals: every page but the binding page answers T_TERMINAL_UNKNOWN."""
    for method, path in (
        ("GET", "/"),
        ("GET", "/signin"),
        ("GET", "/search/pref"),
        ("GET", "/audit"),
        ("GET", "/rights"),
        ("GET", f"/enrol/{world.enrolment_tokens['kensaku1']}"),
        ("POST", "/signin"),
        ("POST", "/record"),
    ):
        response = client.http.request(method, path)
        assert response.status_code == 403, (path, response.text)
        assert "T_TERMINAL_UNKNOWN" in response.text and "この端末は登録されていません" in response.text
    client.http.cookies.set(TERMINAL_COOKIE, "forged-secret", domain="localhost")
    assert "T_TERMINAL_UNKNOWN" in client.get("/signin").text
    client.http.cookies.clear()
    # The binding page is open, its token works once.
    token = world.binding_tokens["代表端末"]
    bind(client, world)
    assert client.get("/signin").status_code == 200
    again = client.get(f"/terminal/bind/{token}")
    assert again.status_code == 404 and "T_ENROLMENT_INVALID" in again.text
    # A used one-time link says how to get a new one (issue 10 item 12), for both kinds of link.
    assert "juki terminal rebind" in again.text
    stale = client.get("/enrol/no-such-token")
    assert "T_ENROLMENT_INVALID" in stale.text and "juki operator enrol-link" in stale.text


# --- CSRF ------------------------------------------------------------------------------------------------


def test_every_post_needs_the_csrf_token_of_its_session(client: Client, world: World, served: Served) -> None:
    """A POST without the synchronizer token, with another session's, or from another origin: T_CSRF."""
    bind(client, world)
    for data in ({}, {"csrf_token": "0" * 64}):
        refused = client.post("/signin", data={"login": "admin1", "password": ADMIN_PASSWORD, **data})
        assert refused.status_code == 403 and "T_CSRF" in refused.text
    assert SESSION_COOKIE not in client.http.cookies
    home = sign_in(client, "admin1", ADMIN_PASSWORD)
    token = csrf_of(home.text)
    # The pre-sign-in token no longer works once signed in (it is bound to the session).
    other = served.client()
    with other.http:
        bind(other, world, "業務端末1")
        other_token = csrf_of(other.get("/signin").text)
    for bad in ("", other_token):
        refused = client.post("/signout", data={"csrf_token": bad})
        assert refused.status_code == 403 and "T_CSRF" in refused.text
    cross = client.post("/signout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and "T_CSRF" in cross.text
    # JSON calls carry it in a header; refusals there are JSON with the code.
    json_refused = client.post("/session/lock")
    assert json_refused.status_code == 403 and json_refused.json()["code"] == "T_CSRF"
    assert client.get("/").status_code == 200  # still signed in: nothing was done
    out = client.post(
        "/signout", data={"csrf_token": token}, headers={"Origin": ORIGIN}, follow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"] == "/signin"


# --- sign-in ----------------------------------------------------------------------------------------------


def test_S02_S03_password_sign_in_lockout_and_roles_needing_biometrics(
    client: Client, world: World, db: Database
) -> None:
    """S-02/S-03: ID + password for roles that allow it; repeated failures throttle this terminal for
    the ID (logged); an empty password is not an attempt (hardening 12)."""
    bind(client, world)
    ok = sign_in(client, "kansa1", AUDITOR_PASSWORD)
    assert ok.status_code == 200 and "操作ログの点検" in ok.text
    client.post("/signout", data={"csrf_token": csrf_of(ok.text)})
    for _ in range(2):
        wrong = sign_in(client, "kansa1", "wrong password!!")
        assert wrong.status_code == 401 and "T_AUTH_FAILED" in wrong.text
        assert 'value="kansa1"' in wrong.text  # the ID stays filled in, the password does not
    for _ in range(3):
        empty = sign_in(client, "kansa1", "")
        assert empty.status_code == 422 and "T_PASSWORD_EMPTY" in empty.text
    locked = sign_in(client, "kansa1", "wrong password!!")
    assert locked.status_code == 429 and "T_AUTH_THROTTLED" in locked.text
    still = sign_in(client, "kansa1", AUDITOR_PASSWORD)
    assert "T_AUTH_THROTTLED" in still.text
    outcomes = [
        r["outcome"]
        for r in log_rows(db, "function = 'sign_in' AND coalesce(operator_login, claimed_login) = 'kansa1'")
    ]
    assert outcomes.count("failure") == 4 and outcomes[0] == "allow"


def test_S01_webauthn_sign_in_requires_user_verification(client: Client, world: World, db: Database) -> None:
    """S-01: 生体認証 = WebAuthn with user verification; an assertion without UV is refused."""
    bind(client, world)
    key = enrol_and_sign_in_webauthn(client, world)
    home = client.get("/")
    assert "4情報検索（本人確認情報）" in home.text
    client.post("/signout", data={"csrf_token": csrf_of(home.text)})
    refused = webauthn_sign_in(client, key, "kensaku1", uv=False)
    assert refused.status_code == 401
    assert refused.json()["code"] == "T_WEBAUTHN_UV_REQUIRED"
    assert "本人確認" in refused.json()["message"]
    rows = log_rows(db, "operator_login IS NULL AND claimed_login = 'kensaku1' AND outcome = 'failure'")
    assert rows and rows[-1]["detail"]["refusal"] == "T_WEBAUTHN_UV_REQUIRED"


# --- idle lock --------------------------------------------------------------------------------------------


def test_S04_server_locks_an_idle_session_until_reauthentication(
    client: Client, world: World, app: Any
) -> None:
    """S-04: after the idle time every data request answers the lock page (T_SESSION_LOCKED),
    whatever the page's script did; the same operator's password unlocks it."""
    app.state.web.settings = dataclasses.replace(app.state.web.settings, idle_lock_seconds=1)
    bind(client, world)
    home = sign_in(client, "kansa1", AUDITOR_PASSWORD)
    assert 'data-idle-seconds="1"' in home.text
    token = csrf_of(home.text)
    time.sleep(1.5)
    for response in (
        client.get("/"),
        client.get("/audit"),
        client.post("/audit", data={"csrf_token": token}),
    ):
        assert response.status_code == 401
        assert "画面ロック中" in response.text and "T_SESSION_LOCKED" in response.text
        assert 'action="/session/unlock"' in response.text  # a password session may use its password
        assert "操作ログの点検" not in response.text.split("<main", 1)[1]  # no menu, no data
    heartbeat = client.post("/session/activity", headers={"X-CSRF-Token": token})
    assert heartbeat.status_code == 401 and heartbeat.json()["code"] == "T_SESSION_LOCKED"
    wrong = client.post("/session/unlock", data={"csrf_token": token, "password": "not the password"})
    assert wrong.status_code == 401 and "T_AUTH_FAILED" in wrong.text
    app.state.web.settings = dataclasses.replace(app.state.web.settings, idle_lock_seconds=600)
    unlocked = client.post("/session/unlock", data={"csrf_token": token, "password": AUDITOR_PASSWORD})
    assert unlocked.status_code == 200 and "業務メニュー" in unlocked.text


def test_S04_idle_js_locks_the_session_at_once(client: Client, world: World) -> None:
    """idle.js tells the server when it locks the screen: the session is locked right away."""
    bind(client, world)
    home = sign_in(client, "kansa1", AUDITOR_PASSWORD)
    locked = client.post("/session/lock", headers={"X-CSRF-Token": csrf_of(home.text)})
    assert locked.status_code == 204
    assert "T_SESSION_LOCKED" in client.get("/").text


# --- search, record, log review ----------------------------------------------------------------------------


def test_S25_too_few_conditions_and_too_many_results(client: Client, world: World, db: Database) -> None:
    """S-25: a name alone is refused with the rules; too many hits asks to narrow, showing nobody."""
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world)
    few = search_pref(client, name=RESIDENT_NAME)
    assert few.status_code == 422 and "T_SEARCH_CONDITIONS" in few.text
    assert "だけでは検索できません" in few.text
    assert RESIDENT_NAME in few.text  # the form keeps what was typed…
    assert "search-results" not in few.text  # …but there is no result list
    many = search_pref(client, name="横浜　次郎", birth_date="1990")
    assert many.status_code == 422 and "T_SEARCH_TOO_MANY" in many.text
    assert "search-results" not in many.text
    rows = log_rows(db, "function = 'search' AND operator_login = 'kensaku1'")
    assert [r["outcome"] for r in rows] == ["rejected", "rejected"]


def test_S15_S16_search_and_record_view_are_logged_and_reviewable(
    client: Client, world: World, served: Served, db: Database
) -> None:
    """S-15/S-16: the search and the record view are in the log with operator and terminal, and the
    auditor's review page lists them; no personal data ever appears in a URL."""
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world)
    found = search_pref(client, name="カナガワ タロウ", birth_date=RESIDENT_BIRTH)
    assert found.status_code == 200, found.text
    assert "検索結果 1 件" in found.text and RESIDENT_NAME in found.text
    record = client.post(
        "/record",
        data={"csrf_token": csrf_of(found.text), "file": "pref", "juminhyo_code": world.resident_code},
    )
    assert record.status_code == 200, record.text
    assert MOVED_ADDRESS in record.text and "履歴（1 件" in record.text and "昭和60年3月4日" in record.text
    # Every form posts; nothing personal is in any URL requested.
    for page in (found.text, record.text):
        assert all(m == "post" for m in re.findall(r'<form[^>]*method="([a-z]+)"', page))
    personal = [RESIDENT_NAME, world.resident_code, RESIDENT_BIRTH, "カナガワ", "%E7%A5%9E"]
    for url in client.urls:
        assert not any(value in url for value in personal), url
    assert client.get("/record").status_code == 405  # a record cannot be opened by URL
    rows = log_rows(db, "operator_login = 'kensaku1' AND function IN ('search', 'view_record')")
    assert [(r["function"], r["outcome"], r["terminal_name"]) for r in rows] == [
        ("search", "allow", "代表端末"),
        ("view_record", "allow", "代表端末"),
    ]
    assert rows[1]["target"] == world.resident_code
    # The auditor, at another terminal, finds both in the review page.
    auditor = served.client()
    with auditor.http:
        bind(auditor, world, "業務端末1")
        form = sign_in(auditor, "kansa1", AUDITOR_PASSWORD)
        review = auditor.post(
            "/audit", data={"csrf_token": csrf_of(form.text), "action": "list", "operator": "kensaku1"}
        )
        patterns = auditor.post("/audit", data={"csrf_token": csrf_of(form.text), "action": "patterns"})
        sample = auditor.post(
            "/audit",
            data={"csrf_token": csrf_of(form.text), "action": "sample", "sample_size": "3", "seed": "abc"},
        )
    assert patterns.status_code == 200 and "注意すべき操作" in patterns.text
    assert sample.status_code == 200 and 'id="sample-seed">abc<' in sample.text
    assert sample.text.count("<tr data-function=") == 3
    assert review.status_code == 200, review.text
    assert review.text.count('data-function="search"') == 1
    assert review.text.count('data-function="view_record"') == 1
    assert world.resident_code in review.text
    assert log_rows(db, "operator_login = 'kansa1' AND function = 'log_review'")[-1]["outcome"] == "allow"


def test_S07_an_operator_without_the_right_is_refused_and_logged(
    client: Client, world: World, db: Database
) -> None:
    """S-07: rights by role. File 2 for a File 1 operator, the review for a searcher: T_FORBIDDEN,
    each refusal in the operation log as a deny."""
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world)
    home = client.get("/")
    assert "/search/fuhyo" not in home.text and "/audit" not in home.text  # not offered…
    for path in ("/search/fuhyo", "/audit"):
        refused = client.get(path)  # …and refused when asked for anyway
        assert refused.status_code == 403 and "T_FORBIDDEN" in refused.text
    token = csrf_of(home.text)
    posted = client.post(
        "/search/fuhyo", data={"csrf_token": token, "name": "ヤマダ ハナコ", "birth_date": "2026-09-01"}
    )
    assert posted.status_code == 403 and "T_FORBIDDEN" in posted.text
    opened = client.post(
        "/record", data={"csrf_token": token, "file": "fuhyo", "juminhyo_code": world.fuhyo_code}
    )
    assert opened.status_code == 403
    rows = log_rows(db, "operator_login = 'kensaku1' AND outcome = 'deny'")
    assert [(r["function"], r["file"]) for r in rows] == [
        ("search", "fuhyo"),
        ("log_review", "-"),
        ("search", "fuhyo"),
        ("view_record", "fuhyo"),
    ]


def test_rights_application_and_approval_pages(client: Client, world: World, served: Served) -> None:
    """S-07 (S-08, S-09, S-12): a newcomer applies for a role; an administrator approves it on the page;
    the role is effective on the newcomer's next request."""
    bind(client, world)
    key = SoftAuthenticator(origin=ORIGIN)
    token = world.enrolment_tokens["shinki1"]
    headers = {"X-CSRF-Token": csrf_of(client.get(f"/enrol/{token}").text)}
    options = client.post(f"/webauthn/register/{token}/options", json={}, headers=headers)
    client.post(
        f"/webauthn/register/{token}/verify", json={"credential": key.register(options.text)}, headers=headers
    )
    assert webauthn_sign_in(client, key, "shinki1").status_code == 200
    page = client.get("/rights")
    assert "利用できる業務がありません" in client.get("/").text
    applied = client.post(
        "/rights/apply",
        data={
            "csrf_token": csrf_of(page.text),
            "operator": "shinki1",
            "role": "fuhyo_operator",
            "reason": "附票業務",
        },
    )
    assert applied.status_code == 200 and "申請しました" in applied.text
    admin = served.client()
    with admin.http:
        bind(admin, world, "業務端末1")
        admin_home = sign_in(admin, "admin1", ADMIN_PASSWORD)
        pending = admin.get("/rights")
        assert "附票業務" in pending.text
        application = re.search(r'name="application_id" value="(\d+)"', pending.text)
        assert application
        approved = admin.post(
            "/rights/approve",
            data={"csrf_token": csrf_of(admin_home.text), "application_id": application.group(1), "note": ""},
        )
        assert approved.status_code == 200 and "承認しました" in approved.text
        inventory = admin.get("/rights/inventory")
        assert "shinki1" in inventory.text and "附票本人確認情報 担当" in inventory.text
        assert "/search/fuhyo" in client.get("/").text
        # S-09: revocation ends the operator's open session at once.
        grant = re.search(r'name="grant_id" value="(\d+)"[^<]*<label[^>]*>[^<]*shinki1', inventory.text)
        assert grant, inventory.text
        revoked = admin.post(
            "/rights/revoke",
            data={"csrf_token": csrf_of(inventory.text), "grant_id": grant.group(1), "reason": "異動"},
        )
        # Issue 10: the first POST only asks for confirmation; nothing is revoked yet.
        assert revoked.status_code == 200 and "権限の取消の確認" in revoked.text
        assert "/search/fuhyo" in client.get("/").text
        revoked = admin.post(
            "/rights/revoke",
            data={
                "csrf_token": csrf_of(inventory.text),
                "grant_id": grant.group(1),
                "reason": "異動",
                "confirmed": "yes",
            },
        )
        assert revoked.status_code == 200 and "取り消しました" in revoked.text
    ended = client.get("/")
    assert ended.status_code == 401 and "T_SESSION_ENDED" in ended.text and "サインイン" in ended.text
    # Issue 10: the revoked operator is told which right went and why.
    assert "附票本人確認情報 担当" in ended.text and "理由: 異動" in ended.text
    assert SESSION_COOKIE not in client.http.cookies


# --- errors ---------------------------------------------------------------------------------------------------


def test_errors_are_japanese_pages_with_a_code_never_a_stack_trace(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bind(client, world)
    missing = client.get("/no-such-page")
    assert (
        missing.status_code == 404
        and "T_NOT_FOUND" in missing.text
        and "指定された画面はありません" in missing.text
    )
    enrol_and_sign_in_webauthn(client, world)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: /etc/passwd")

    monkeypatch.setattr(search_service, "search", broken)
    failed = search_pref(client, name=RESIDENT_NAME, birth_date=RESIDENT_BIRTH)
    assert failed.status_code == 500 and "T_INTERNAL" in failed.text
    assert "Traceback" not in failed.text and "secret internals" not in failed.text
    assert_hardened(failed)
    malformed = client.post(
        "/webauthn/signin/verify", content=b"not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code in (400, 403) and "Traceback" not in malformed.text


def test_a_pooled_connection_the_server_dropped_costs_no_request(db: Database) -> None:
    """The terminal's pools hand out autocommit connections as juki_term and as each file's role,
    and replace one whose backend was terminated (a PostgreSQL restart) before handing it out."""
    pools = terminal_pools(db)
    try:
        assert set(pools) == {DbRole.TERM, *(spec.db_role for spec in all_files())}
        for role, pool in pools.items():
            with pool.connection() as conn:
                pid = conn.info.backend_pid
            with db.connect(autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            with pool.connection() as conn:
                assert conn.info.backend_pid != pid
                assert conn.execute("SELECT current_user").fetchone() == (role.value,)
                assert conn.autocommit
    finally:
        for pool in pools.values():
            pool.close()


# --- administration and the 離席 lock (issue 10 items 10, 11) -----------------------------------------------


def test_issue10_S07_administration_pages_only_for_administrators(
    client: Client, world: World, served: Served, db: Database
) -> None:
    """S-07: the menu offers 操作者の管理 / 端末の管理 to administrators only; anyone else asking for
    the pages is refused (T_FORBIDDEN) and the deny is logged."""
    bind(client, world)
    home = sign_in(client, "kansa1", AUDITOR_PASSWORD)
    assert "/admin/operators" not in home.text and "/admin/terminals" not in home.text
    assert "/account/password" in home.text  # the auditor's role allows a password
    for path in ("/admin/operators", "/admin/terminals"):
        refused = client.get(path)
        assert refused.status_code == 403 and "T_FORBIDDEN" in refused.text
    posted = client.post(
        "/admin/operators/add", data={"csrf_token": csrf_of(home.text), "login": "x1", "display_name": "x"}
    )
    assert posted.status_code == 403
    denied = log_rows(db, "operator_login = 'kansa1' AND outcome = 'deny'")
    assert {r["detail"]["event"] for r in denied} >= {"operator_list", "terminal_list", "operator_create"}
    admin = served.client()
    with admin.http:
        bind(admin, world, "業務端末1")
        admin_home = sign_in(admin, "admin1", ADMIN_PASSWORD)
        assert "/admin/operators" in admin_home.text and "/admin/terminals" in admin_home.text
        listing = admin.get("/admin/operators")
        assert listing.status_code == 200 and 'data-login="kensaku1"' in listing.text


def test_issue10_S12_the_applicant_does_not_see_the_approve_button(
    client: Client, world: World, served: Served
) -> None:
    """S-12: an administrator's own application (and one they filed for a colleague) shows no 承認
    button to them, only the note that another administrator decides."""
    bind(client, world)
    home = sign_in(client, "admin1", ADMIN_PASSWORD)
    applied = client.post(
        "/rights/apply",
        data={"csrf_token": csrf_of(home.text), "operator": "admin1", "role": "auditor", "reason": "監査も"},
    )
    assert "申請しました" in applied.text
    assert "data-own-application" in applied.text
    assert ">承認</button>" not in applied.text and "却下" in applied.text  # may still withdraw it


def test_issue11_S04_leave_locks_and_unlock_returns_to_the_page_only_internal_paths(
    client: Client, world: World, db: Database
) -> None:
    """Issue 10 item 11 / S-04: 離席 locks at once; the lock page names the operator and the time;
    unlocking returns to the page that was open — kept server side, and only one of the
    application's own pages: an absolute URL, a protocol-relative one, a parameterised or POST-only
    path, a query string all end on the menu (no open redirect)."""
    bind(client, world)
    home = sign_in(client, "kansa1", AUDITOR_PASSWORD)
    token = csrf_of(home.text)
    audit = client.get("/audit")
    assert 'name="return_to" value="/audit"' in audit.text and "離席" in audit.text
    locked = client.post("/session/leave", data={"csrf_token": token, "return_to": "/audit"})
    assert locked.status_code == 401 and "画面ロック中" in locked.text
    assert "kansa1 表示名（kansa1）" in locked.text
    assert re.search(r'id="lock-time"[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<', locked.text)
    assert "/audit" not in str(locked.url)
    assert log_rows(db, "operator_login = 'kansa1'")[-1]["detail"]["event"] == "manual_lock"
    unlocked = client.post("/session/unlock", data={"csrf_token": token, "password": AUDITOR_PASSWORD})
    assert str(unlocked.url).endswith("/audit") and "操作ログの点検" in unlocked.text
    for hostile in (
        "https://evil.example/",
        "//evil.example/x",
        "/record",
        "/audit?x=1",
        "/enrol/abc",
        "/\\evil",
    ):
        client.post("/session/leave", data={"csrf_token": token, "return_to": hostile})
        back = client.post("/session/unlock", data={"csrf_token": token, "password": AUDITOR_PASSWORD})
        assert str(back.url).endswith("/") and "業務メニュー" in back.text, hostile
    # idle.js sends the page's path with its lock call.
    client.post("/session/lock", json={"return_to": "/rights"}, headers={"X-CSRF-Token": token})
    back = client.post("/session/unlock", data={"csrf_token": token, "password": AUDITOR_PASSWORD})
    assert str(back.url).endswith("/rights")
    with db.connect() as conn:
        kept = conn.execute("SELECT DISTINCT return_path FROM term.sessions").fetchall()
    assert {r[0] for r in kept} <= {None, "/audit", "/rights", "/"}
