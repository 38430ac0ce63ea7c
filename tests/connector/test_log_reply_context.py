"""The connector logs a citizen's reply to a message about a ticket (WhatsApp's reply context, or a
tapped button of that message) as a line about that ticket, so the ticket's page shows it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from layanwarga import conversation_log, db, notifications, states
from layanwarga.models import ConversationMessage
from tests.dashboard.support import INST, complaint, ticket_id
from wa_support import FakeGraph, RunningChannel, make_settings, messages_body, text_message

CITIZEN = "6281234567890"


async def test_a_reply_to_a_message_about_a_ticket_is_logged_about_that_ticket(
    db_url: str, tmp_path: Path
) -> None:
    number = complaint("ctx", sender=CITIZEN).number
    change = notifications.change_state_and_notify(INST, ticket_id(number), states.DIVERIFIKASI, "staf:admin")
    notifications.mark_sent(change.notification_id, "wamid.status.1", "text")
    reply = text_message("terima kasih pak", wa_id=CITIZEN, message_id="wamid.reply")
    reply["context"] = {"from": "6281100000000", "id": "wamid.status.1"}
    unrelated = text_message("jam buka kantor?", wa_id=CITIZEN, message_id="wamid.other")
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, db_url)) as rc:
        assert (await rc.post(messages_body([reply, unrelated], wa_id=CITIZEN))).status == 200
        await rc.join()
    with db.session_scope(db_url) as session:
        lines = dict(
            session.execute(
                select(ConversationMessage.text, ConversationMessage.ticket_id).where(
                    ConversationMessage.actor == conversation_log.ACTOR_CITIZEN
                )
            ).all()
        )
    assert lines == {"terima kasih pak": ticket_id(number), "jam buka kantor?": None}
