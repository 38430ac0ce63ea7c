"""After login the dashboard goes to the ``next`` page only when it is a path on this site: no
spelling of another site (control characters browsers drop, backslashes they read as slashes,
percent-encoded slashes, schemes, look-alike Unicode slashes) leaves it (open redirect)."""

from __future__ import annotations

from urllib.parse import quote, unquote

from tests.dashboard.support import PASSWORD, World, csrf, login

# Raw query strings (what the attacker's link carries) and form values.
HOSTILE_QUERIES = [
    "/%09/evil.example",  # tab: Location "/\t/evil.example", which browsers read as //evil.example
    "/%0A/evil.example",
    "/%0D%0A/evil.example",
    "/%0B/evil.example",
    "/%00/evil.example",
    "/%20/evil.example",
    "%09//evil.example",
    "//evil.example",
    "///evil.example",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%5C/evil.example",
    "%5C%5Cevil.example",
    "/%252F%252Fevil.example",  # decoded twice on the way
    "/%255Cevil.example",
    "https://evil.example/tiket",
    "https:evil.example",
    "http:/evil.example",
    "HTTPS://evil.example",
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "tiket",
    "/%EF%BC%8F/evil.example",  # FULLWIDTH SOLIDUS
    "/%E2%88%95evil.example",  # DIVISION SLASH
    "%EF%BC%8F%EF%BC%8Fevil.example",
    "/%E2%81%84evil.example",  # FRACTION SLASH
    "/%E3%80%82evil.example",
    "",
]

SAME_SITE = [
    "/tiket",
    "/tiket/ADU-2026-00001",
    "/tiket?status=baru&q=jalan+rusak",
    "/tiket?q=jalan%20rusak%20parah",
    "/statistik?dari=2026-01-01&sampai=2026-03-31",
    "/admin/pengguna",
]


def _post_login(app, query: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    token = csrf(client)
    return client.post(
        f"/masuk?next={query}", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )


def test_hostile_next_never_leaves_the_site(app, world: World) -> None:  # type: ignore[no-untyped-def]
    """Each hostile value, in the link, in the form, and when already logged in, goes to the inbox."""
    escaped = []
    logged_in = login(app, "admin")
    for query in HOSTILE_QUERIES:
        in_link = _post_login(app, query)
        client = app.test_client()
        in_form = client.post(
            "/masuk",
            data={
                "username": "admin",
                "password": PASSWORD,
                "csrf_token": csrf(client),
                "next": unquote(query),
            },
        )
        again = logged_in.get(f"/masuk?next={query}")
        for how, response in (("link", in_link), ("form", in_form), ("logged in", again)):
            if response.status_code != 302 or response.headers["Location"] != "/tiket":
                escaped.append((how, query, response.status_code, response.headers.get("Location")))
    assert escaped == []


def test_same_site_next_is_followed(app, world: World) -> None:  # type: ignore[no-untyped-def]
    assert {target: _post_login(app, quote(target, safe="")).headers["Location"] for target in SAME_SITE} == {
        target: target for target in SAME_SITE
    }


def test_a_page_that_needs_login_comes_back_after_it(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    first = client.get("/tiket?q=jalan%20rusak")
    assert first.status_code == 302
    token = csrf(client)
    back = client.post(
        first.headers["Location"], data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert back.headers["Location"] == "/tiket?q=jalan%20rusak"
