"""The sync Graph API client (requests), used by the notification and announcement workers.

One attempt per call: the workers keep their own retry rules in the database (the outbox's
backoff, an announcement's one retry), so an error is raised at once, built from the same error
table as the async client's (``whatsapp.errors``). When no answer came, ``maybe_sent`` tells
whether the request may still have reached Meta. Calls are built by ``whatsapp.api.GraphAPI``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import requests
import requests.adapters
import urllib3

from .api import USER_AGENT, Call, GraphAPI, read_answer, sent_message_id, uploaded_media_id
from .errors import NetworkError
from .settings import GraphSettings


def request_may_have_arrived(exc: requests.RequestException) -> bool:
    """False only when the connection was never made (refused, DNS, connect timeout), so the
    request certainly did not reach the Graph API; True otherwise (read timeout, dropped)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        if isinstance(inner, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError)):
            return False
    return True


class SyncClient:
    """Send messages and upload media, one blocking call at a time per thread."""

    def __init__(self, settings: GraphSettings, *, connections: Optional[int] = None) -> None:
        """``connections``: kept-alive connections for that many threads calling at once
        (requests keeps 10 by default)."""
        self.settings = settings
        self.api = GraphAPI(settings)
        self.http = requests.Session()
        self.http.headers.update({"User-Agent": USER_AGENT})
        if connections:
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=connections)
            self.http.mount("https://", adapter)
            self.http.mount("http://", adapter)

    def execute(self, call: Call) -> Dict[str, Any]:
        """Make ``call`` once; an error answer or no answer raises its ``GraphAPIError``."""
        files = None
        if call.file is not None:
            files = {"file": call.file}
        try:
            response = self.http.request(
                call.method,
                call.url,
                json=call.json,
                params=call.params,
                data=call.form,
                files=files,
                headers=self.api.headers,
                timeout=self.settings.timeout,
            )
        except requests.RequestException as exc:
            raise NetworkError(
                f"Koneksi ke Graph API gagal: {type(exc).__name__}", maybe_sent=request_may_have_arrived(exc)
            ) from None
        return read_answer(response.status_code, response.content, response.headers, response.reason)

    def send(self, body: Dict[str, Any]) -> Optional[str]:
        """Send one full message body; returns the WhatsApp message id (wamid)."""
        return sent_message_id(self.execute(self.api.send_message(body)))

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload a file (e.g. an announcement's picture); returns its media id."""
        return uploaded_media_id(self.execute(self.api.upload_media(content, mime_type, filename)))

    def close(self) -> None:
        self.http.close()
