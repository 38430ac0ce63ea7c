"""The Graph API calls LayanWarga makes, built once for both clients, and how answers are read.

``GraphAPI`` turns an operation (send a message, mark one read, look up or upload media) into a
``Call``: method, URL, what to send. The async client (``whatsapp.aio``, the connector) and the
sync client (``whatsapp.sync``, the notification and announcement workers) only carry calls
over their HTTP library and hand the answer to ``read_answer``, which raises the exception the
error table (``whatsapp.errors``) gives. URLs and the authorisation header are built once per
client, so a call costs one small object.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple

from .errors import ServerError, error_from_response
from .settings import GraphSettings

USER_AGENT = "LayanWarga-WhatsApp/1.0"


class Call(NamedTuple):
    """One Graph API request, ready for a transport (a tuple: cheap on the connector's hot path)."""

    method: str
    url: str
    what: str  # for log lines: "send text", "mark read", "media lookup", ...
    json: Optional[Dict[str, Any]] = None
    params: Optional[Dict[str, str]] = None
    form: Optional[Dict[str, str]] = None
    file: Optional[Tuple[str, bytes, str]] = None  # multipart upload: (file name, content, MIME type)


class GraphAPI:
    """Builds each call against the configured base URL, version and business number."""

    def __init__(self, settings: GraphSettings) -> None:
        self.settings = settings
        self.headers: Dict[str, str] = {"Authorization": f"Bearer {settings.access_token}"}
        self._base = settings.graph_url
        self._messages_url = f"{self._base}/{settings.phone_number_id}/messages"
        self._media_url = f"{self._base}/{settings.phone_number_id}/media"

    def send_message(self, body: Dict[str, Any]) -> Call:
        """``POST /{phone_number_id}/messages`` with a full message body (recipient included)."""
        return Call("POST", self._messages_url, f"send {body.get('type', 'message')}", json=body)

    def mark_read(self, message_id: str, *, typing: bool) -> Call:
        """Blue ticks for ``message_id`` (and earlier ones), with the typing indicator if asked."""
        body: Dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        return Call("POST", self._messages_url, "mark read", json=body)

    def media_info(self, media_id: str) -> Call:
        """``GET /{media_id}``: the short-lived download URL, MIME type, size and hash."""
        return Call(
            "GET",
            f"{self._base}/{media_id}",
            "media lookup",
            params={"phone_number_id": self.settings.phone_number_id},
        )

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> Call:
        """``POST /{phone_number_id}/media``: a file to send by id (e.g. an announcement's picture)."""
        return Call(
            "POST",
            self._media_url,
            "media upload",
            form={"messaging_product": "whatsapp", "type": mime_type},
            file=(filename, content, mime_type),
        )


def read_answer(
    http_status: int, raw: bytes, headers: Optional[Mapping[str, str]] = None, reason: Optional[str] = None
) -> Dict[str, Any]:
    """The JSON object of a Graph API answer; an error answer raises its exception."""
    try:
        body: Any = json.loads(raw) if raw else {}
    except ValueError:
        body = {"_text": raw[:200].decode("utf-8", "replace")}
    if http_status >= 400 or (isinstance(body, dict) and "error" in body):
        raise error_from_response(http_status, body, headers, reason)
    return body if isinstance(body, dict) else {"data": body}


def sent_message_id(answer: Mapping[str, Any]) -> Optional[str]:
    """The new message's id (``messages[0].id``) in a send's answer."""
    messages = answer.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return messages[0].get("id")
    return None


def uploaded_media_id(answer: Mapping[str, Any]) -> str:
    """The media id in an upload's answer; an answer without one is worth another try."""
    media_id = answer.get("id")
    if not media_id:
        raise ServerError("Graph API tidak mengembalikan id media")
    return str(media_id)
