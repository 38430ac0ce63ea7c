"""Open311 GeoReport v2 conformance, driven by the spec's own examples
(open311.github.io ``GeoReport_v2/index.md``): every resource answers with exactly the fields of
the spec's example, in JSON and XML; the spec's example POST body (its service code and
coordinates replaced by ours) creates a real ticket, numbered and routed like a WhatsApp one;
every bad request gets the spec's error list with the right status and creates nothing; and the
public never learns who reported, nor the text or exact place of an anonymous report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import xml.etree.ElementTree as ET
from typing import Any, Dict, List
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from layanwarga import api_keys, db, public_tickets, rate_limits, states, tickets
from layanwarga.models import ApiKey, StateChange, Ticket
from tests.dashboard.support import INST, complaint, csrf, letter, login, make_user, ticket_id

BASE = "/open311/v2"

# -- the spec's examples -------------------------------------------------------------------------------
SPEC_SERVICES_XML = """<?xml version="1.0" encoding="utf-8"?>
<services>
    <service>
        <service_code>001</service_code>
        <service_name>Cans left out 24x7</service_name>
        <description>Garbage or recycling cans that have been left out for more than 24 hours after collection. Violators will be cited.</description>
        <metadata>true</metadata>
        <type>realtime</type>
        <keywords>lorem, ipsum, dolor</keywords>
        <group>sanitation</group>
    </service>
</services>"""
SPEC_DEFINITION_JSON = {
    "service_code": "DMV66",
    "attributes": [
        {
            "variable": True,
            "code": "WHISHETN",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": None,
            "order": 1,
            "description": "What is the ticket/tag/DL number?",
            "values": [{"key": 123, "name": "Ford"}, {"key": 124, "name": "Chrysler"}],
        }
    ],
}
SPEC_REQUESTS_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
    <request>
        <service_request_id>638344</service_request_id>
        <status>closed</status>
        <status_notes>Duplicate request.</status_notes>
        <service_name>Sidewalk and Curb Issues</service_name>
        <service_code>006</service_code>
        <description></description>
        <agency_responsible></agency_responsible>
        <service_notice></service_notice>
        <requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>
        <updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime>
        <expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime>
        <address>8TH AVE and JUDAH ST</address>
        <address_id>545483</address_id>
        <zipcode>94122</zipcode>
        <lat>37.762221815</lat>
        <long>-122.4651145</long>
        <media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg </media_url>
    </request>
</service_requests>"""
SPEC_POST_BODY = (
    "api_key=xyz&jurisdiction_id=city.gov&service_code=001&lat=37.76524078&long=-122.4212043&address_string=1234+5th+street"
    "&email=smit333%40sfgov.edu&device_id=tt222111&account_id=123456&first_name=john&last_name=smith&phone=111111111"
    "&description=A+large+sinkhole+is+destroying+the+street&media_url=http%3A%2F%2Ffarm3.static.flickr.com%2F2002%2F2212426634_5ed477a060.jpg"
    "&attribute[WHISPAWN]=123456&attribute[WHISDORN]=COISL001"
)
SPEC_POST_RESPONSE_FIELDS = {"service_request_id", "service_notice", "account_id"}  # never "token" with an id
SPEC_ERROR_JSON = [
    {"code": 403, "description": "Invalid api_key received -- can't proceed with create_request."}
]

SPEC_DISCOVERY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<discovery>
    <changeset>2011-02-03 14:18</changeset>
    <contact>You can email or call for assistance api@mycity.org +1 (555) 555-5555</contact>
    <key_service>You can request a key here: http://api.mycity.gov/api_key/request</key_service>
    <endpoints>
        <endpoint>
            <specification>http://wiki.open311.org/GeoReport_v2</specification>
            <url>http://open311.mycity.gov/v2</url>
            <changeset>2010-11-23 09:01</changeset>
            <type>production</type>
            <formats>
                <format>text/xml</format>
            </formats>
        </endpoint>
    </endpoints>
</discovery>"""

NEAR_OFFICE = (INST.latitude + 0.002, INST.longitude + 0.003)


def _xml_fields(xml_text: str, item: str) -> set:
    return {child.tag for child in ET.fromstring(xml_text).find(item)}


def _get(client: Any, path: str) -> Any:
    return client.get(BASE + path)


def _json(response: Any) -> Any:
    assert response.content_type == "application/json; charset=utf-8", response.content_type
    return json.loads(response.get_data(as_text=True))


def _xml(response: Any) -> ET.Element:
    assert response.content_type == "text/xml; charset=utf-8", response.content_type
    body = response.get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(body)


def _key(name: str = "Koordinator SP4N-LAPOR! Kota") -> str:
    with db.session_scope(write=True) as session:
        return api_keys.issue(session, name, "staf:admin").key


def _spec_post(key: str, **changes: str) -> Dict[str, str]:
    """The spec's example POST body with our key, one of our services and a pin near the office."""
    fields = dict(pair.split("=", 1) for pair in SPEC_POST_BODY.split("&"))
    from urllib.parse import unquote_plus

    fields = {unquote_plus(k): unquote_plus(v) for k, v in fields.items()}
    for foreign in ("attribute[WHISPAWN]", "attribute[WHISDORN]"):
        fields.pop(foreign)
    fields.update(
        api_key=key, service_code="lapor_lampu_padam", lat=str(NEAR_OFFICE[0]), long=str(NEAR_OFFICE[1])
    )
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def _post(client: Any, data: Dict[str, str], fmt: str = "json", **kwargs: Any) -> Any:
    return client.post(
        f"{BASE}/requests.{fmt}",
        data=urlencode(data),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
        **kwargs,
    )


def _count() -> int:
    with db.session_scope() as session:
        return session.execute(select(func.count(Ticket.id))).scalar_one()


def test_service_discovery_has_the_spec_example_fields_and_points_at_v2(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    spec = ET.fromstring(SPEC_DISCOVERY_XML)
    root = _xml(client.get("/open311/discovery.xml"))
    assert [c.tag for c in root] == [c.tag for c in spec]
    endpoint = root.find("endpoints").find("endpoint")
    assert [c.tag for c in endpoint] == [c.tag for c in spec.find("endpoints").find("endpoint")]
    assert endpoint.findtext("url") == "http://localhost/open311/v2"
    assert [f.text for f in endpoint.find("formats")] == ["text/xml", "application/json"]
    as_json = _json(client.get("/open311/discovery.json"))
    assert as_json["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert (
        _xml(client.get(endpoint.findtext("url").replace("http://localhost", "") + "/services.xml")).tag
        == "services"
    )


# -- services and definitions -------------------------------------------------------------------------
def test_service_list_has_the_fields_of_the_spec_example_in_xml_and_json(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    spec_fields = _xml_fields(SPEC_SERVICES_XML, "service")
    root = _xml(_get(client, "/services.xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert [s.findtext("service_code") for s in services] == list(INST.complaint_categories)
    for service in services:
        assert {c.tag for c in service} == spec_fields
        assert service.findtext("metadata") == "true" and service.findtext("type") == "realtime"
    as_json = _json(_get(client, "/services.json"))
    assert [set(s) for s in as_json] == [spec_fields] * len(INST.complaint_categories)
    lamp = next(s for s in as_json if s["service_code"] == "lapor_lampu_padam")
    assert lamp["service_name"] == INST.complaint_categories["lapor_lampu_padam"].label
    assert lamp["group"] == INST.agencies["PERKIM"].name  # routed as instansi.yml says


def test_service_definition_matches_the_spec_example_shape(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    definition = _json(_get(client, "/services/lapor_sampah.json"))
    assert set(definition) == set(SPEC_DEFINITION_JSON)
    spec_attribute = SPEC_DEFINITION_JSON["attributes"][0]
    for attribute in definition["attributes"]:
        assert set(attribute) - {"values"} == set(spec_attribute) - {"values"}
        if attribute["datatype"] == "singlevaluelist":
            assert all(set(v) == {"key", "name"} for v in attribute["values"])
    assert [a["order"] for a in definition["attributes"]] == list(range(1, len(definition["attributes"]) + 1))
    root = _xml(_get(client, "/services/lapor_sampah.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "lapor_sampah"
    anonim = next(a for a in root.find("attributes").findall("attribute") if a.findtext("code") == "anonim")
    assert [v.findtext("key") for v in anonim.find("values").findall("value")] == ["ya", "tidak"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_and_request_are_404_in_the_spec_error_format(app, fmt: str) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    for path in (f"/services/lapor_ufo.{fmt}", f"/requests/ADU-2026-99999.{fmt}", f"/tidak-ada.{fmt}"):
        response = _get(client, path)
        assert response.status_code == 404, path
        errors = (
            _json(response)
            if fmt == "json"
            else [{c.tag: c.text for c in e} for e in _xml(response).findall("error")]
        )
        assert errors and set(errors[0]) == set(SPEC_ERROR_JSON[0]) and int(errors[0]["code"]) == 404
    assert _get(client, "/services.html").status_code == 404
    assert client.get(BASE + "/services/lapor_sampah.csv").status_code == 400


# -- requests ------------------------------------------------------------------------------------------
def test_request_list_has_the_fields_of_the_spec_example_and_filters(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    road = complaint("o1", latitude=-2.2101, longitude=113.9141).number
    trash = complaint("o2", category="lapor_sampah").number
    fixed = complaint("o3").number
    for target, note in ((states.DITERUSKAN, None), (states.SELESAI, "Lubang sudah ditambal.")):
        tickets.change_state(
            ticket_id(fixed), target, "staf:admin", note, agency_code="PUPR" if note is None else None
        )
    letter("o4")
    client = app.test_client()
    window = "start_date=2026-11-01T00:00:00Z&end_date=2026-11-30T00:00:00%2B07:00"
    root = _xml(client.get(f"{BASE}/requests.xml?{window}"))
    assert root.tag == "service_requests"
    spec_fields = _xml_fields(SPEC_REQUESTS_XML, "request")
    assert [{c.tag for c in r} for r in root.findall("request")] == [spec_fields] * 3  # no letter request
    as_json = _json(client.get(f"{BASE}/requests.json?{window}"))
    assert {r["service_request_id"] for r in as_json} == {road, trash, fixed}
    assert all(set(r) == spec_fields for r in as_json)
    first = next(r for r in as_json if r["service_request_id"] == road)
    assert first["requested_datetime"] == "2026-11-23T09:00:00+07:00"  # W3C with the zone
    assert (
        first["lat"] == -2.2101
        and first["status"] == "open"
        and first["agency_responsible"] == INST.agencies["PUPR"].name
    )
    closed = _json(client.get(f"{BASE}/requests.json?{window}&status=closed"))
    assert [r["service_request_id"] for r in closed] == [fixed] and closed[0]["status_notes"] == "Selesai"
    assert {
        r["service_request_id"]
        for r in _json(client.get(f"{BASE}/requests.json?{window}&status=open,closed"))
    } == {road, trash, fixed}
    only_trash = _json(client.get(f"{BASE}/requests.json?{window}&service_code=lapor_sampah"))
    assert [r["service_request_id"] for r in only_trash] == [trash]
    # service_request_id overrides every other argument, even a window that excludes them.
    chosen = _json(
        client.get(
            f"{BASE}/requests.json?service_request_id={road},{trash}&status=closed&start_date=2020-01-01T00:00:00Z"
        )
    )
    assert {r["service_request_id"] for r in chosen} == {road, trash}
    # Without dates, the last 90 days.
    now = dt.datetime.now(dt.timezone.utc)
    recent, old = (
        tickets.submit_complaint(
            INST,
            tickets.ComplaintDraft(
                category="lapor_sampah", description="Sampah", sender=None, idempotency_key=f"age{days}"
            ),
            now=now - dt.timedelta(days=days),
        ).number
        for days in (1, 100)
    )
    default = {r["service_request_id"] for r in _json(client.get(f"{BASE}/requests.json"))}
    assert recent in default and old not in default
    single = _xml(client.get(f"{BASE}/requests/{road}.xml"))
    assert [r.findtext("service_request_id") for r in single.findall("request")] == [road]


@pytest.mark.parametrize(
    "query, problem",
    [
        ("status=pending", "status"),
        ("start_date=kemarin", "start_date"),
        ("start_date=2026-01-01T00:00:00", "zona waktu"),
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 hari"),
        ("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "lebih awal"),
    ],
)
def test_bad_request_filters_are_400_naming_the_argument(app, query: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    response = app.test_client().get(f"{BASE}/requests.json?{query}")
    assert response.status_code == 400
    assert problem in _json(response)[0]["description"]


def test_the_public_never_learns_who_reported_nor_an_anonymous_reports_text_or_exact_place(
    app, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    open_one = complaint(
        "p1",
        sender="6281311112222",
        reporter_name="Siti Aminah",
        description="Lampu mati, hubungi saya di 0813-1111-2222 atau NIK 6271014506850003",
        latitude=-2.2101,
        longitude=113.9141,
    ).number
    anonymous = complaint(
        "p2",
        sender="6281399998888",
        reporter_name="Rahasia Sekali",
        anonymous=True,
        description="Pungli di jembatan timbang oleh petugas",
        location_text="Pos timbang km 5",
        latitude=-2.21234,
        longitude=113.91678,
    ).number
    confidential = complaint(
        "p3",
        sender="6281377776666",
        confidential=True,
        description="Kekerasan di rumah no 7",
        latitude=-2.2201,
        longitude=113.9201,
    ).number
    client = app.test_client()
    window = "start_date=2026-11-01T00:00:00Z&end_date=2026-11-30T00:00:00Z"
    bodies = [client.get(f"{BASE}/requests.{fmt}?{window}").get_data(as_text=True) for fmt in ("json", "xml")]
    bodies += [
        client.get(f"{BASE}/requests/{n}.json").get_data(as_text=True)
        for n in (open_one, anonymous, confidential)
    ]
    bodies.append(client.get("/publik/peta.json").get_data(as_text=True))
    for body in bodies:
        for secret in (
            "Siti Aminah",
            "Rahasia Sekali",
            "6281311112222",
            "0813-1111-2222",
            "6281399998888",
            "6271014506850003",
            "6271",
            "Pungli",
            "Pos timbang",
            "Kekerasan",
            "-2.21234",
            "113.91678",
        ):
            assert secret not in body
    by_number = {r["service_request_id"]: r for r in _json(client.get(f"{BASE}/requests.json?{window}"))}
    assert (
        "Lampu mati" in by_number[open_one]["description"]
        and public_tickets.HIDDEN_NUMBER in by_number[open_one]["description"]
    )
    for number in (anonymous, confidential):
        assert by_number[number]["description"] is None and by_number[number]["address"] is None
    hidden = by_number[anonymous]
    # Snapped to the centre of its ~100 m cell: within 80 m of the truth, never the truth.
    assert abs(hidden["lat"] - -2.21234) < 0.0008 and abs(hidden["long"] - 113.91678) < 0.0008
    assert (hidden["lat"], hidden["long"]) == (public_tickets.snap(-2.21234), public_tickets.snap(113.91678))


# -- a partner's new request -----------------------------------------------------------------------------
def test_the_spec_example_post_creates_a_routed_numbered_ticket(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    key = _key()
    client = app.test_client()
    body = _spec_post(key, **{"attribute[rt]": "3", "attribute[rw]": "5", "attribute[anonim]": "tidak"})
    response = _post(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    created = _json(response)
    assert (
        len(created) == 1
        and set(created[0]) == SPEC_POST_RESPONSE_FIELDS
        and created[0]["account_id"] == "123456"
    )
    number = created[0]["service_request_id"]
    assert number.startswith("ADU-") and number in created[0]["service_notice"]
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        category = INST.complaint_categories["lapor_lampu_padam"]
        assert (ticket.state, ticket.agency_code, ticket.category) == (
            states.BARU,
            category.agency,
            "lapor_lampu_padam",
        )
        assert ticket.due_date is not None and ticket.citizen_id is None
        assert ticket.reporter_name == "john smith" and (ticket.rt, ticket.rw) == ("3", "5")
        assert ticket.description == "A large sinkhole is destroying the street"
        assert ticket.details["mitra"] == "Koordinator SP4N-LAPOR! Kota" and ticket.details[
            "media_url"
        ].startswith("http://farm3")
        # Data the ticket does not need is not kept (UU PDP): email, phone, device id.
        assert "smit333" not in json.dumps(ticket.details) and "111111111" not in json.dumps(ticket.details)
        note = session.execute(
            select(StateChange.note).where(StateChange.ticket_id == ticket.id)
        ).scalar_one()
        assert note == "Laporan diterima melalui Open311 (Koordinator SP4N-LAPOR! Kota)."
    seen = _json(client.get(f"{BASE}/requests/{number}.json"))[0]
    assert seen["status"] == "open" and seen["description"] == "A large sinkhole is destroying the street"
    assert "john" not in json.dumps(seen)
    # In XML too; and the same Idempotency-Key returns the same ticket instead of a second one.
    again = _xml(_post(client, body, "xml", headers={"Idempotency-Key": "lapor-1"}))
    first = again.find("request").findtext("service_request_id")
    repeat = (
        _xml(_post(client, body, "xml", headers={"Idempotency-Key": "lapor-1"}))
        .find("request")
        .findtext("service_request_id")
    )
    assert first == repeat != number
    assert _count() == 2


def _bad_cases(key: str) -> List[Any]:
    return [
        ("no key", _spec_post(key, api_key=None), 403),
        ("wrong key", _spec_post(key, api_key="lw311_" + "x" * 43), 403),
        ("no service", _spec_post(key, service_code=""), 400),
        ("unknown service", _spec_post(key, service_code="001"), 404),
        ("lat not a number", _spec_post(key, lat="utara"), 400),
        ("lat out of range", _spec_post(key, lat="91"), 400),
        ("only lat", _spec_post(key, long=""), 400),
        (
            "outside the area (the spec's San Francisco pin)",
            _spec_post(key, lat="37.76524078", long="-122.4212043"),
            400,
        ),
        ("no location", _spec_post(key, lat="", long="", address_string=""), 400),
        ("no description", _spec_post(key, description=""), 400),
        ("description over 4,000", _spec_post(key, description="x" * 4001), 400),
        ("unknown attribute (the spec's)", _spec_post(key, **{"attribute[WHISPAWN]": "123456"}), 400),
        ("bad attribute value", _spec_post(key, **{"attribute[anonim]": "mungkin"}), 400),
        ("oversized body", _spec_post(key, media_url="http://x/" + "a" * 20_000), 413),
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_posts_get_the_spec_error_and_the_right_status_and_create_nothing(
    app, db_url: str, fmt: str
) -> None:  # type: ignore[no-untyped-def]
    key = _key()
    client = app.test_client()
    for label, body, status in _bad_cases(key):
        response = _post(client, body, fmt)
        assert response.status_code == status, (label, response.get_data(as_text=True))
        if fmt == "json":
            errors = _json(response)
        else:
            errors = [{c.tag: c.text for c in e} for e in _xml(response).findall("error")]
        assert errors and all(
            set(e) == set(SPEC_ERROR_JSON[0]) and int(e["code"]) == status for e in errors
        ), label
    assert _count() == 0


def test_a_revoked_key_stops_at_once_and_a_post_without_csrf_token_is_fine_with_a_key(
    app, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    key = _key()
    client = app.test_client()
    assert _post(client, _spec_post(key)).status_code == 200
    with db.session_scope(write=True) as session:
        row = session.execute(select(ApiKey)).scalar_one()
        assert row.key_hash != key and key not in (row.prefix, row.name) and row.last_used_at is not None
        api_keys.revoke(session, row.id, "staf:admin")
    response = _post(client, _spec_post(key))
    assert response.status_code == 403 and "api_key" in _json(response)[0]["description"]
    assert _count() == 1


def test_rate_limits_per_key_and_per_address_answer_429_with_retry_after(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    tight = dataclasses.replace(INST.public, requests_per_minute_per_key=2, requests_per_minute_per_ip=5)
    app.config["LW_INSTITUTION"] = dataclasses.replace(INST, public=tight)
    app.extensions["lw_api_limiter"] = rate_limits.MemoryLimiter(
        clock=lambda: 1_000_040.0
    )  # 20 s into a minute
    key, other = _key("A"), _key("B")
    client = app.test_client()
    assert [_post(client, _spec_post(key)).status_code for _ in range(3)] == [200, 200, 429]
    assert _post(client, _spec_post(other)).status_code == 200  # another key has its own budget
    limited = client.get(f"{BASE}/services.json")  # the 5th call from this address
    assert limited.status_code == 200
    limited = client.get(f"{BASE}/services.json")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "40"
    assert _json(limited)[0]["code"] == 429
    assert _count() == 3


@pytest.mark.parametrize("make", ["memory", "redis"])
def test_the_limiter_counts_fixed_minute_windows(make: str) -> None:
    now = [1_200_000.0]
    if make == "redis":
        import uuid

        limiter: Any = rate_limits.RedisLimiter(
            "redis://127.0.0.1:6379/0", prefix=f"test:{uuid.uuid4().hex}", clock=lambda: now[0]
        )
    else:
        limiter = rate_limits.MemoryLimiter(clock=lambda: now[0])
    assert [limiter.hit("k", 2) for _ in range(3)] == [0, 0, 60]
    assert limiter.hit("other", 2) == 0
    now[0] += 60
    assert limiter.hit("k", 2) == 0


# -- admins manage the keys -------------------------------------------------------------------------------
def test_admins_issue_see_and_revoke_keys_on_the_dashboard(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    make_user("pupr", "opd", "PUPR")
    admin = login(app, "admin")
    page = admin.post(
        "/admin/kunci-api",
        data={"nama": "Command Center Kota", "csrf_token": csrf(admin, "/admin/kunci-api")},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="kunci-baru"' in html
    key = html.split('id="kunci-baru"')[1].split("<code>")[1].split("</code>")[0]
    assert key.startswith(api_keys.KEY_PREFIX)
    listing = admin.get("/admin/kunci-api").get_data(as_text=True)
    assert key not in listing and key[: api_keys.PREFIX_SHOWN] in listing and "belum pernah" in listing
    assert _post(app.test_client(), _spec_post(key)).status_code == 200
    assert "belum pernah" not in admin.get("/admin/kunci-api").get_data(as_text=True)
    assert (
        admin.post(
            "/admin/kunci-api", data={"nama": " ", "csrf_token": csrf(admin, "/admin/kunci-api")}
        ).status_code
        == 400
    )
    assert login(app, "pupr").get("/admin/kunci-api").status_code == 403
    with db.session_scope() as session:
        key_id = session.execute(select(ApiKey.id)).scalar_one()
    admin.post(f"/admin/kunci-api/{key_id}/cabut", data={"csrf_token": csrf(admin, "/admin/kunci-api")})
    assert "Dicabut" in admin.get("/admin/kunci-api").get_data(as_text=True)
    assert _post(app.test_client(), _spec_post(key)).status_code == 403


def test_staff_handle_a_partners_complaint_like_any_other(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """No citizen on WhatsApp behind it: the page shows the partner, the workflow runs to the
    end, nobody is messaged and no confirmation question waits for an answer that cannot come."""
    from layanwarga.models import Notification, TicketFeedback
    from tests.dashboard.support import post

    make_user("admin", "admin")
    make_user("perkim", "opd", "PERKIM")
    number = _json(_post(app.test_client(), _spec_post(_key())))[0]["service_request_id"]
    admin = login(app, "admin")
    page = admin.get(f"/tiket/{number}").get_data(as_text=True)
    assert "Dikirim oleh mitra (Open311)" in page and "Koordinator SP4N-LAPOR! Kota" in page
    assert number in admin.get("/tiket").get_data(as_text=True)
    assert post(admin, f"/tiket/{number}/aksi", {"aksi": "teruskan", "opd": "PERKIM"}).status_code == 302
    opd = login(app, "perkim")
    assert (
        post(
            opd, f"/tiket/{number}/aksi", {"aksi": "selesai", "pesan_warga": "Lampu sudah diganti."}
        ).status_code
        == 302
    )
    seen = _json(app.test_client().get(f"{BASE}/requests/{number}.json"))[0]
    assert seen["status"] == "closed" and seen["status_notes"] == "Selesai"
    with db.session_scope() as session:
        assert (
            session.execute(select(Ticket.state).where(Ticket.number == number)).scalar_one()
            == states.SELESAI
        )
        assert session.execute(select(func.count(Notification.id))).scalar_one() == 0
        assert session.execute(select(func.count(TicketFeedback.id))).scalar_one() == 0


def test_an_anonymous_partner_report_hides_the_reporter_from_opd_staff(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    make_user("perkim", "opd", "PERKIM")
    body = _spec_post(_key(), **{"attribute[anonim]": "ya", "account_id": "akun-rahasia-77"})
    number = _json(_post(app.test_client(), body))[0]["service_request_id"]
    admin = login(app, "admin")
    assert "akun-rahasia-77" in admin.get(f"/tiket/{number}").get_data(as_text=True)
    from tests.dashboard.support import post

    post(admin, f"/tiket/{number}/aksi", {"aksi": "teruskan", "opd": "PERKIM"})
    page = login(app, "perkim").get(f"/tiket/{number}").get_data(as_text=True)
    assert "A large sinkhole" in page  # the report itself
    for secret in ("akun-rahasia-77", "john smith"):
        assert secret not in page


def test_a_post_with_only_an_address_is_accepted_and_a_letter_request_is_never_a_service_request(
    app, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    body = _spec_post(_key(), lat="", long="", address_string="Jl. Tjilik Riwut km 2, depan masjid")
    created = _json(_post(client, body))[0]["service_request_id"]
    seen = _json(client.get(f"{BASE}/requests/{created}.json"))[0]
    assert seen["lat"] is None and seen["address"] == "Jl. Tjilik Riwut km 2, depan masjid"
    letter_number = letter("l1").number
    assert client.get(f"{BASE}/requests/{letter_number}.json").status_code == 404
    assert _json(client.get(f"{BASE}/requests.json?service_request_id={letter_number}")) == []
    # Loosely typed numbers are understood, as on WhatsApp.
    loose = created.replace("-", "")
    assert _json(client.get(f"{BASE}/requests/{loose}.json"))[0]["service_request_id"] == created


def test_what_a_partner_sends_is_escaped_and_xml_stays_well_formed(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    text = 'Lampu <b>mati</b> & "tiang" miring\x07\nbaris dua'
    number = _json(_post(client, _spec_post(_key(), description=text)))[0]["service_request_id"]
    root = _xml(
        client.get(f"{BASE}/requests/{number}.xml")
    )  # parses: no raw control character, markup escaped
    assert root.find("request").findtext("description") == 'Lampu <b>mati</b> & "tiang" miring\nbaris dua'
    assert _json(client.get(f"{BASE}/requests/{number}.json"))[0]["description"] == text


def test_extensions_carry_the_supporter_count_and_the_plain_list_stays_the_spec(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from layanwarga import supporters

    number = complaint("x1", sender="6281111111111").number
    supporters.follow(
        INST, supporters.FollowDraft(number=number, sender="6282222222222", idempotency_key="x2")
    )
    client = app.test_client()
    plain = _json(client.get(f"{BASE}/requests/{number}.json"))
    assert set(plain[0]) == _xml_fields(SPEC_REQUESTS_XML, "request")
    extended = _json(client.get(f"{BASE}/requests/{number}.json?extensions=true"))
    assert extended[0]["extended_attributes"] == {"supporter_count": 1}
    root = _xml(client.get(f"{BASE}/requests.xml?extensions=true"))
    assert root.find("request/extended_attributes/supporter_count").text == "1"
