"""The outbox worker against a fake Graph API on a real port: free text inside the 24-hour
window, the template outside it, retries on rate limits and server errors, failures kept, and
never a row sent twice even with several workers."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Iterator

import pytest
from sqlalchemy import select

from layanwarga import conversation_log, db, notifications, states
from layanwarga.models import Notification
from layanwarga.notifier import Notifier, main
from tests.dashboard.support import INST, FakeGraph, complaint, open_window, ticket_id
from whatsapp import statuses as wa_statuses
from whatsapp.settings import GraphSettings

SENDER = "6281234567890"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    yield fake
    fake.close()


def notifier_for(graph: FakeGraph, template: str = "layanwarga_notifikasi") -> Notifier:
    settings = GraphSettings(
        api_base=graph.base,
        api_version="v21.0",
        access_token="test-token",
        phone_number_id="1001",
        template_name=template or None,
        template_language="id",
        timeout=5,
    )
    return Notifier(settings)


def queue_one(key: str = "k", sender: str = SENDER, target: str = states.DIVERIFIKASI) -> int:
    tid = ticket_id(complaint(key, sender=sender).number)
    result = notifications.change_state_and_notify(INST, tid, target, "staf:admin")
    assert result.notification_id
    return result.notification_id


def row(notification_id: int) -> Notification:
    with db.session_scope() as session:
        return session.get(Notification, notification_id)


def due_now(notification_id: int) -> None:
    with db.session_scope() as session:
        session.get(Notification, notification_id).next_attempt_at = dt.datetime(2000, 1, 1)


def test_inside_the_window_sends_free_text(db_url: str, graph: FakeGraph) -> None:
    nid = queue_one()
    open_window(SENDER)
    assert notifier_for(graph).run_once() == 1
    [request] = graph.requests
    assert request["path"] == "/v21.0/1001/messages"
    assert request["headers"]["Authorization"] == "Bearer test-token"
    body = request["json"]
    assert body["to"] == "+" + SENDER and body["type"] == "text"
    assert "sudah kami verifikasi" in body["text"]["body"]
    sent = row(nid)
    assert (
        sent.status == notifications.SENT
        and sent.sent_via == "text"
        and sent.graph_message_id == "wamid.fake1"
    )
    # The delivery status table and the conversation log know the wamid (webhook statuses match it).
    assert wa_statuses.get_status("wamid.fake1").status == "accepted"
    with db.session_scope() as session:
        assert conversation_log.history(session, SENDER)[-1].notification_id == nid


def test_outside_the_window_sends_the_template(db_url: str, graph: FakeGraph) -> None:
    nid = queue_one()
    open_window(SENDER, at=dt.datetime.utcnow() - dt.timedelta(hours=30))
    notifier_for(graph).run_once()
    body = graph.bodies[0]
    assert body["type"] == "template"
    assert body["template"]["name"] == "layanwarga_notifikasi" and body["template"]["language"] == {
        "code": "id"
    }
    [param] = body["template"]["components"][0]["parameters"]
    assert "\n" not in param["text"] and "sudah kami verifikasi" in param["text"]
    sent = row(nid)
    assert sent.sent_via == "template" and sent.template_name == "layanwarga_notifikasi"


def test_resolution_question_goes_out_as_reply_buttons(db_url: str, graph: FakeGraph) -> None:
    tid = ticket_id(complaint("b").number)
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    result = notifications.change_state_and_notify(
        INST, tid, states.SELESAI, "staf:pupr", note="Sudah ditambal"
    )
    open_window(SENDER)
    notifier = notifier_for(graph)
    while notifier.run_once():
        pass
    assert len(graph.bodies) == 2  # in order: forwarded, then resolved
    body = graph.bodies[-1]
    assert body["type"] == "interactive" and body["interactive"]["type"] == "button"
    assert len(body["interactive"]["action"]["buttons"]) == 2
    assert row(result.notification_id).sent_via == "interactive"


def test_reengagement_error_falls_back_to_the_template(db_url: str, graph: FakeGraph) -> None:
    nid = queue_one()
    open_window(SENDER)
    graph.fail_next(400, 131047, "Re-engagement message")
    notifier_for(graph).run_once()
    assert [b["type"] for b in graph.bodies] == ["text", "template"]
    assert row(nid).status == notifications.SENT


@pytest.mark.parametrize("status,code", [(429, None), (400, 130429), (500, None), (503, 131000)])
def test_rate_limits_and_server_errors_are_retried(
    db_url: str, graph: FakeGraph, status: int, code: int
) -> None:
    nid = queue_one()
    open_window(SENDER)
    graph.fail_next(status, code, "try later", headers={"Retry-After": "90"})
    notifier = notifier_for(graph)
    notifier.run_once()
    waiting = row(nid)
    assert waiting.status == notifications.PENDING and waiting.attempts == 1
    assert waiting.last_error and f"HTTP {status}" in waiting.last_error
    assert waiting.next_attempt_at >= dt.datetime.utcnow() + dt.timedelta(seconds=80)
    assert notifier.run_once() == 0  # not due yet
    due_now(nid)
    notifier.run_once()
    assert row(nid).status == notifications.SENT and row(nid).last_error is None


def test_permanent_error_is_kept_visible_and_retryable(db_url: str, graph: FakeGraph) -> None:
    nid = queue_one()
    open_window(SENDER)
    graph.fail_next(400, 131026, "Message undeliverable")
    notifier = notifier_for(graph)
    notifier.run_once()
    failed = row(nid)
    assert failed.status == notifications.FAILED and "131026" in failed.last_error
    with db.session_scope() as session:
        assert notifications.retry(session, nid, "staf:admin")
    notifier.run_once()
    assert row(nid).status == notifications.SENT


def test_no_template_configured_outside_the_window_fails_clearly(db_url: str, graph: FakeGraph) -> None:
    nid = queue_one()
    notifier_for(graph, template="").run_once()
    assert graph.requests == []
    assert "template" in row(nid).last_error


def test_network_failure_is_retried(db_url: str) -> None:
    nid = queue_one()
    open_window(SENDER)
    settings = GraphSettings(
        api_base="http://127.0.0.1:9", api_version="v21.0", access_token="t", phone_number_id="1", timeout=2
    )
    Notifier(settings).run_once()
    waiting = row(nid)
    assert waiting.status == notifications.PENDING and "Koneksi" in waiting.last_error


def test_bsuid_citizen_is_addressed_by_recipient(db_url: str, graph: FakeGraph) -> None:
    nid = queue_one(sender="ID.abcdef123456")
    open_window("ID.abcdef123456")
    notifier_for(graph).run_once()
    body = graph.bodies[0]
    assert body["recipient"] == "ID.abcdef123456" and "to" not in body
    assert row(nid).status == notifications.SENT


def test_several_workers_send_every_row_exactly_once(db_url: str, graph: FakeGraph) -> None:
    ids = [queue_one(f"w{i}", sender=f"628120000{i:04d}") for i in range(15)]
    for i in range(15):
        open_window(f"628120000{i:04d}")
    workers = [notifier_for(graph) for _ in range(3)]

    def drain(worker: Notifier) -> None:
        while worker.run_once(limit=3):
            pass

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recipients = [b["to"] for b in graph.bodies]
    assert len(recipients) == 15 and len(set(recipients)) == 15
    with db.session_scope() as session:
        statuses = (
            session.execute(select(Notification.status).where(Notification.id.in_(ids))).scalars().all()
        )
    assert set(statuses) == {notifications.SENT}


def test_command_line_once(db_url: str, graph: FakeGraph, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    queue_one()
    monkeypatch.setenv("WHATSAPP_API_BASE", graph.base)
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "cli-token")
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "1001")
    assert main(["--once"]) == 0
    assert "1 notifications handled" in capsys.readouterr().out
    assert graph.requests[0]["headers"]["Authorization"] == "Bearer cli-token"


def test_missing_token_is_a_clear_configuration_error(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("WHATSAPP_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "1")
    assert main(["--once"]) == 2
    assert "WHATSAPP_ACCESS_TOKEN" in capsys.readouterr().err


def test_later_delivery_failure_is_shown_and_retryable(db_url: str, graph: FakeGraph) -> None:
    nid = queue_one()
    open_window(SENDER)
    notifier = notifier_for(graph)
    notifier.run_once()
    wamid = row(nid).graph_message_id
    # WhatsApp's status webhook (recorded by the connector) says it never arrived.
    wa_statuses.record_statuses(
        [wa_statuses.StatusRecord(wamid, "failed", SENDER, 131026, "Message undeliverable")]
    )
    notifier.run_once()
    failed = row(nid)
    assert failed.status == notifications.FAILED and "131026" in failed.last_error
    with db.session_scope() as session:
        assert notifications.retry(session, nid, "staf:admin")
    notifier.run_once()
    assert row(nid).status == notifications.SENT and row(nid).graph_message_id != wamid


def test_outside_the_window_an_emoji_text_fits_the_template_parameter(db_url: str, graph: FakeGraph) -> None:
    """Meta counts the template parameter's 1,024 in UTF-16 units: a staff reply of 1,500
    characters with an emoji in each sentence is more units than characters."""
    from layanwarga.models import Citizen
    from whatsapp import messages

    tid = ticket_id(complaint("emoji").number)
    with db.session_scope() as session:
        citizen = session.execute(select(Citizen).where(Citizen.wa_id == SENDER)).scalar_one()
        nid = notifications.enqueue(
            session,
            citizen=citizen,
            kind=notifications.KIND_REPLY,
            actor="staf:admin",
            ticket_id=tid,
            message=notifications.Outgoing("Terima kasih 🙏 " * 100),
        ).id
    open_window(SENDER, at=dt.datetime.utcnow() - dt.timedelta(hours=30))
    notifier_for(graph).run_once()
    [param] = graph.bodies[0]["template"]["components"][0]["parameters"]
    assert messages.units(param["text"]) <= 1024
    assert row(nid).status == notifications.SENT and row(nid).template_params == [param["text"]]
