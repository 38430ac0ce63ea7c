"""A small synchronous client of the simulator's control API, for tests and scripts.

    sim = SimulatorClient("http://127.0.0.1:8090")
    chat = sim.chat("6281234500001", "Budi Santoso")
    replies = chat.say("halo min", until="Silakan pilih")
    replies = chat.tap("Lapor masalah", until="Masalah apa")

Waiting is on conditions, never on fixed sleeps: the server long-polls until something changes.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Pattern, Union

import requests

Matcher = Union[str, Pattern[str], Callable[[Dict[str, Any]], bool], None]
DEFAULT_TIMEOUT = 60.0


class TurnTimeout(AssertionError):
    """The expected reply did not arrive in time; the message lists what did arrive."""


def message_text(message: Dict[str, Any]) -> str:
    """Everything a citizen reads in one message: body, buttons, list rows, location name."""
    view = message.get("view") or {}
    parts = [str(view.get("header") or ""), str(view.get("text") or "")]
    parts += [str(b.get("title")) for b in view.get("buttons") or []]
    for section in (view.get("list") or {}).get("sections") or []:
        parts += [str(r.get("title")) for r in section.get("rows") or []]
    location = view.get("location") or {}
    parts += [str(location.get(k)) for k in ("name", "address") if location.get(k)]
    return "\n".join(p for p in parts if p)


def _matches(matcher: Matcher, message: Dict[str, Any]) -> bool:
    if matcher is None:
        return True
    if callable(matcher):
        return bool(matcher(message))
    text = message_text(message)
    if isinstance(matcher, str):
        return matcher.casefold() in text.casefold()
    return bool(matcher.search(text))


@dataclass
class Turn:
    """What the citizen sent and the business messages that answered it."""

    sent: Dict[str, Any]
    replies: List[Dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n\n".join(message_text(m) for m in self.replies)

    @property
    def buttons(self) -> List[str]:
        return [b["title"] for m in self.replies for b in (m.get("view") or {}).get("buttons") or []]

    @property
    def rows(self) -> List[str]:
        return [
            r["title"]
            for m in self.replies
            for s in ((m.get("view") or {}).get("list") or {}).get("sections") or []
            for r in s.get("rows") or []
        ]

    def __contains__(self, needle: str) -> bool:
        return needle.casefold() in self.text.casefold()


class SimulatorClient:
    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _post(self, path: str, **kwargs: Any) -> Dict[str, Any]:
        response = self.http.post(self._url(path), timeout=30, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"POST {path} -> {response.status_code}: {response.text[:300]}")
        return response.json()

    def _get(self, path: str, **params: Any) -> Dict[str, Any]:
        response = self.http.get(self._url(path), params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    # -- simulator-wide ------------------------------------------------------------------------
    def state(self) -> Dict[str, Any]:
        return self._get("/sim/api/state")

    def stats(self) -> Dict[str, Any]:
        return self._get("/sim/api/stats")

    def graph_calls(self, since: float = 0.0) -> List[Dict[str, Any]]:
        return self._get("/sim/api/graph", since=since)["calls"]

    def redeliver(self, message_id: str) -> Dict[str, Any]:
        return self._post("/sim/api/redeliver", json={"message_id": message_id})

    def inject_faults(self, count: int, http_status: int = 429, code: int = 130429) -> None:
        self._post("/sim/api/faults", json={"count": count, "http_status": http_status, "code": code})

    def wait_webhook_verified(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state()["webhook"]["verified"]:
                return
            time.sleep(0.5)
        raise TurnTimeout(f"webhook not verified: {self.state()['webhook']}")

    def chat(
        self, wa_id: Optional[str] = None, name: str = "Warga Uji", *, user_id: Optional[str] = None
    ) -> "Chat":
        citizen = self._post("/sim/api/citizens", json={"name": name, "wa_id": wa_id, "user_id": user_id})
        return Chat(self, citizen["key"])

    # -- one conversation ----------------------------------------------------------------------
    def messages(
        self, key: str, after: int = 0, *, wait: float = 0, since_event: Optional[int] = None
    ) -> Dict[str, Any]:
        params: Dict[str, Any] = {"after": after}
        if wait and since_event is not None:
            params.update(wait=wait, since_event=since_event)
        return self._get(f"/sim/api/citizens/{key}/messages", **params)

    def wait_until(
        self,
        key: str,
        condition: Callable[[List[Dict[str, Any]]], bool],
        *,
        after: int = 0,
        timeout: Optional[float] = None,
        describe: str = "condition",
    ) -> List[Dict[str, Any]]:
        """Long-poll the conversation until ``condition(messages after `after`)`` holds."""
        deadline = time.monotonic() + (timeout or self.timeout)
        data = self.messages(key, after)
        while not condition(data["messages"]):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                got = "\n---\n".join(f"[{m['author']}] {message_text(m)}" for m in data["messages"])
                raise TurnTimeout(f"timed out waiting for {describe}; conversation so far:\n{got}")
            data = self.messages(key, after, wait=min(remaining, 10.0), since_event=data["event_seq"])
        return data["messages"]


class Chat:
    """One simulated citizen's conversation with the business."""

    def __init__(self, client: SimulatorClient, key: str) -> None:
        self.client = client
        self.key = key

    def _path(self, suffix: str) -> str:
        return f"/sim/api/citizens/{self.key}/{suffix}"

    def history(self) -> List[Dict[str, Any]]:
        return self.client.messages(self.key)["messages"]

    def _turn(
        self, sent: Dict[str, Any], until: Matcher, count: Optional[int], timeout: Optional[float]
    ) -> Turn:
        def done(messages: List[Dict[str, Any]]) -> bool:
            replies = [m for m in messages if m["author"] == "bot"]
            if count is not None and len(replies) < count:
                return False
            return (
                any(_matches(until, m) for m in replies)
                if until is not None
                else len(replies) >= (count or 1)
            )

        messages = self.client.wait_until(
            self.key,
            done,
            after=sent["seq"],
            timeout=timeout,
            describe=f"a reply matching {until!r}" if until is not None else f"{count or 1} replies",
        )
        replies = [m for m in messages if m["author"] == "bot"]
        if until is not None:
            # The turn ends with the matching message; anything after it belongs to no one yet.
            last = max(i for i, m in enumerate(replies) if _matches(until, m))
            replies = replies[: last + 1]
        return Turn(sent, replies)

    def say(
        self,
        text: str,
        *,
        until: Matcher = None,
        count: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Turn:
        """Type ``text``; wait for the reply matching ``until`` (or ``count`` replies)."""
        return self._turn(self._post_text(text), until, count, timeout)

    def _post_text(self, text: str) -> Dict[str, Any]:
        return self.client._post(self._path("text"), json={"text": text})

    def tap(
        self,
        title: str,
        *,
        until: Matcher = None,
        count: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Turn:
        """Tap the reply button or list row titled ``title`` on the latest message offering it."""
        sent = self.client._post(self._path("reply"), json={"title": title})
        return self._turn(sent, until, count, timeout)

    def send_location(
        self,
        latitude: float,
        longitude: float,
        name: Optional[str] = None,
        address: Optional[str] = None,
        *,
        until: Matcher = None,
        count: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Turn:
        sent = self.client._post(
            self._path("location"),
            json={"latitude": latitude, "longitude": longitude, "name": name, "address": address},
        )
        return self._turn(sent, until, count, timeout)

    def send_image(
        self,
        data: bytes,
        *,
        mime_type: str = "image/jpeg",
        caption: Optional[str] = None,
        until: Matcher = None,
        count: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Turn:
        sent = self.client._post(
            self._path("image"),
            json={
                "data_base64": base64.b64encode(data).decode("ascii"),
                "mime_type": mime_type,
                "caption": caption,
            },
        )
        return self._turn(sent, until, count, timeout)

    def read(self) -> None:
        self.client._post(self._path("read"), json={})

    def wait_for(self, until: Matcher, *, after: int = 0, timeout: Optional[float] = None) -> Dict[str, Any]:
        """The first business message after ``after`` matching ``until``."""
        messages = self.client.wait_until(
            self.key,
            lambda ms: any(m["author"] == "bot" and _matches(until, m) for m in ms),
            after=after,
            timeout=timeout,
            describe=f"a reply matching {until!r}",
        )
        return next(m for m in messages if m["author"] == "bot" and _matches(until, m))

    def wait_status(self, message_id: str, status: str, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Wait until a message reaches ``status`` (citizen: delivered/read; business: read...)."""
        messages = self.client.wait_until(
            self.key,
            lambda ms: any(m["id"] == message_id and m["status"] == status for m in ms),
            timeout=timeout,
            describe=f"{message_id} to be {status}",
        )
        return next(m for m in messages if m["id"] == message_id)

    def quiet(self, after: int, seconds: float = 1.0) -> List[Dict[str, Any]]:
        """Business messages that arrive after ``after`` within ``seconds`` (expecting none)."""
        deadline = time.monotonic() + seconds
        data = self.client.messages(self.key, after)
        while time.monotonic() < deadline:
            data = self.client.messages(
                self.key, after, wait=max(0.05, deadline - time.monotonic()), since_event=data["event_seq"]
            )
        return [m for m in data["messages"] if m["author"] == "bot"]
