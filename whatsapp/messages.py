"""WhatsApp Cloud API message bodies, inside WhatsApp's limits: the one builder.

Meta rejects a whole message when any limit is overrun (it never truncates), so every limit is
enforced here before sending: text ≤ 4096 (split at sentence boundaries, or clipped), reply
buttons ≤ 3 with unique titles ≤ 20, list messages ≤ 10 rows with row titles ≤ 24 and
descriptions ≤ 72, list button label ≤ 20, interactive body ≤ 1024, template parameter ≤ 1024.
Lengths are measured in UTF-16 code units (``units``), which is never less than the character
count, so emoji cannot push a message over a limit.

Used by the connector (Rasa responses: ``text_messages``, ``button_messages``, media,
``limit_problems``) and by the outbox (``clip``, ``reply_buttons``, ``text_message``,
``template_message``). The functions return message bodies without the recipient;
``with_recipient`` adds it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from math import ceil
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_REPLY_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
LIST_ROWS_LIMIT = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200
SECTION_TITLE_LIMIT = 24
LIST_BUTTON_LIMIT = 20
CAPTION_LIMIT = 1024
TEMPLATE_PARAM_LIMIT = 1024
TEMPLATE_BODY_LIMIT = 1024  # a template's body with its parameters filled in

DEFAULT_CHOICE_BODY = "Silakan pilih salah satu:"
MORE_CHOICES_BODY = "Pilihan lainnya ({part} dari {total}):"
OTHER_SECTION = "Lainnya"
ELLIPSIS = "…"

Message = Dict[str, Any]


def units(text: str) -> int:
    """Length as WhatsApp may count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> int:
    """The largest index ``i`` with ``units(text[:i]) <= limit``."""
    if units(text) <= limit:
        return len(text)
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > limit:
            return index
    return len(text)


def shorten(text: str, limit: int) -> Tuple[str, str]:
    """Cut ``text`` to ``limit`` at a word boundary; returns (head, rest), head ending in "…"."""
    text = " ".join(text.split())
    if units(text) <= limit:
        return text, ""
    room = fit(text, limit - 1)
    cut = text.rfind(" ", 0, room + 1)
    if cut < room // 2:
        cut = room
    head = text[:cut].rstrip(" ,;:-/")
    return head + ELLIPSIS, text[cut:].strip()


def truncate(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to ``limit`` (see ``shorten``)."""
    return shorten(text, limit)[0]


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit``, line breaks kept, ending in "…" when cut."""
    if units(text) <= limit:
        return text
    return text[: fit(text, limit - 1)].rstrip() + ELLIPSIS


def is_phone(recipient_id: str) -> bool:
    return recipient_id.lstrip("+").isdigit()


def with_recipient(recipient_id: str, message: Message, *, phone: Optional[bool] = None) -> Message:
    """A full Graph API body: ``"to": "+<wa_id>"`` for phones, ``"recipient"`` for BSUIDs.

    ``phone`` says which one ``recipient_id`` is when the caller knows (a citizen's stored
    ``wa_id`` or ``user_id``); otherwise a number of digits is taken for a phone."""
    body: Message = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    if "to" not in message and "recipient" not in message:
        if is_phone(recipient_id) if phone is None else phone:
            body["to"] = "+" + recipient_id.lstrip("+")
        else:
            body["recipient"] = recipient_id
    body.update(message)
    return body


# -- text ---------------------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]]*)\s+")


def _best_cut(text: str, limit: int) -> int:
    """Where to cut ``text`` so the first part fits ``limit``: paragraph, sentence, line, word."""
    room = fit(text, limit)
    window = text[:room]
    floor = room // 3
    paragraph = window.rfind("\n\n")
    if paragraph >= floor:
        return paragraph
    sentence = -1
    for match in _SENTENCE_END.finditer(window):
        sentence = match.end()
    if room < len(text) and text[room].isspace():
        # The window ends exactly before whitespace: a sentence may end on its last character.
        if window and window[-1] in ".!?…":
            sentence = room
    if sentence >= floor:
        return sentence
    line = window.rfind("\n")
    if line >= floor:
        return line
    space = window.rfind(" ")
    if space >= floor:
        return space
    return room


def split_text(text: str, limit: int = TEXT_LIMIT) -> List[str]:
    """Split ``text`` into parts of at most ``limit``, at paragraph or sentence boundaries."""
    text = (text or "").strip()
    parts: List[str] = []
    while units(text) > limit:
        cut = _best_cut(text, limit)
        if cut <= 0:
            cut = max(1, fit(text, limit))
        head, text = text[:cut].rstrip(), text[cut:].lstrip()
        if head:
            parts.append(head)
    if text:
        parts.append(text)
    return parts


def text_message(text: str) -> Message:
    """One text message of ``text``, clipped to WhatsApp's limit (the outbox's messages were
    clipped when written; one row is one message)."""
    return {"type": "text", "text": {"body": clip(text, TEXT_LIMIT), "preview_url": False}}


def text_messages(text: str, *, preview_url: bool = False) -> List[Message]:
    return [{"type": "text", "text": {"body": part, "preview_url": preview_url}} for part in split_text(text)]


# -- media ----------------------------------------------------------------------------------------
def _media_ref(value: str) -> Dict[str, str]:
    value = value.strip()
    return {"link": value} if value.lower().startswith(("http://", "https://")) else {"id": value}


def image_message(image: str, caption: Optional[str] = None) -> Message:
    body: Dict[str, Any] = _media_ref(image)
    if caption:
        body["caption"] = truncate(caption, CAPTION_LIMIT)
    return {"type": "image", "image": body}


_EXT_TYPES = {
    ".jpg": "image",
    ".jpeg": "image",
    ".png": "image",
    ".webp": "image",
    ".mp4": "video",
    ".3gp": "video",
    ".mp3": "audio",
    ".ogg": "audio",
    ".aac": "audio",
    ".amr": "audio",
    ".m4a": "audio",
}


def attachment_message(attachment: Any) -> Optional[Message]:
    """A Rasa ``attachment`` (URL / media id string, or a dict) as an image/video/audio/document."""
    if isinstance(attachment, str):
        ref = attachment.strip()
        if not ref:
            return None
        path = urlparse(ref).path if "://" in ref else ref
        ext = os.path.splitext(path)[1].lower()
        kind = _EXT_TYPES.get(ext, "document")
        body: Dict[str, Any] = _media_ref(ref)
        if kind == "document" and "://" in ref:
            name = os.path.basename(path)
            if name:
                body["filename"] = name[:240]
        return {"type": kind, kind: body}
    if isinstance(attachment, dict):
        nested = attachment.get("payload")
        payload: Dict[str, Any] = nested if isinstance(nested, dict) else attachment
        link = payload.get("url") or payload.get("link") or payload.get("src") or payload.get("id")
        if not link:
            return None
        kind = str(attachment.get("type") or payload.get("type") or "").lower()
        if kind not in ("image", "video", "audio", "document", "sticker"):
            message = attachment_message(str(link))
            kind = message["type"] if message else "document"
        body = _media_ref(str(link))
        if payload.get("caption") and kind in ("image", "video", "document"):
            body["caption"] = truncate(str(payload["caption"]), CAPTION_LIMIT)
        if payload.get("filename") and kind == "document":
            body["filename"] = str(payload["filename"])[:240]
        return {"type": kind, kind: body}
    return None


# -- buttons -------------------------------------------------------------------------------------
@dataclass
class Option:
    title: str
    payload: str
    description: str = ""
    section: str = ""


def _options(buttons: Sequence[Dict[str, Any]]) -> Tuple[List[Option], List[str]]:
    """Rasa buttons -> choices, plus "title: url" lines for URL buttons (shown as text)."""
    options: List[Option] = []
    links: List[str] = []
    for button in buttons or []:
        if not isinstance(button, dict):
            continue
        title = " ".join(str(button.get("title") or "").split())
        url = button.get("url")
        if url:
            links.append(f"{title}: {url}" if title else str(url))
            continue
        payload = str(button.get("payload") or "").strip()
        if not title and not payload:
            continue
        options.append(
            Option(
                title=title or payload,
                payload=payload or title,
                description=" ".join(str(button.get("description") or "").split()),
                section=" ".join(str(button.get("section") or "").split()),
            )
        )
    return options, links


def _unique_ids(options: Sequence[Option], limit: int) -> List[str]:
    """Reply ids: the payload when it fits and is unique, else a neutral id (the title then
    reaches Rasa, see whatsapp_rasa)."""
    ids: List[str] = []
    seen = set()
    for index, option in enumerate(options, start=1):
        candidate = option.payload
        if units(candidate) > limit or candidate in seen:
            candidate = f"pilihan_{index}"
        seen.add(candidate)
        ids.append(candidate)
    return ids


def _fits_reply_buttons(options: Sequence[Option]) -> bool:
    if not 1 <= len(options) <= MAX_REPLY_BUTTONS:
        return False
    titles = [o.title for o in options]
    if any(units(t) > BUTTON_TITLE_LIMIT or not t for t in titles):
        return False
    if len({t.casefold() for t in titles}) != len(titles):
        return False
    return not any(o.description or o.section for o in options)


def _unique_titles(titles: List[str], limit: int) -> List[str]:
    """Make row titles unique (WhatsApp rejects duplicates) by numbering repeats."""
    seen: Dict[str, int] = {}
    result = []
    for title in titles:
        key = title.casefold()
        if key in seen:
            seen[key] += 1
            suffix = f" ({seen[key]})"
            title = (
                truncate(title, limit - len(suffix)) + suffix
                if units(title) + len(suffix) > limit
                else title + suffix
            )
        else:
            seen[key] = 1
        result.append(title)
    return result


def _chunks(options: List[Option]) -> List[List[Option]]:
    """Split a long menu into list messages of ≤ 10 rows: whole sections when they fit,
    otherwise evenly sized parts (12 choices -> 6 + 6, not 10 + 2)."""
    if len(options) <= LIST_ROWS_LIMIT:
        return [options]
    sections: List[List[Option]] = []
    for option in options:
        if sections and sections[-1][0].section == option.section:
            sections[-1].append(option)
        else:
            sections.append([option])
    if len(sections) > 1 and all(len(s) <= LIST_ROWS_LIMIT for s in sections):
        messages: List[List[Option]] = [[]]
        for section in sections:
            if len(messages[-1]) + len(section) > LIST_ROWS_LIMIT:
                messages.append([])
            messages[-1].extend(section)
        return messages
    count = ceil(len(options) / LIST_ROWS_LIMIT)
    size = ceil(len(options) / count)
    return [options[i : i + size] for i in range(0, len(options), size)]


def _list_message(body: str, options: List[Option], ids: List[str], button_label: str) -> Message:
    rows = []
    titles = []
    descriptions = []
    for option in options:
        title, rest = shorten(option.title, ROW_TITLE_LIMIT)
        extra = " · ".join(p for p in ((ELLIPSIS + rest) if rest else "", option.description) if p)
        titles.append(title)
        descriptions.append(truncate(extra, ROW_DESCRIPTION_LIMIT) if extra else "")
    titles = _unique_titles(titles, ROW_TITLE_LIMIT)
    for title, description, row_id in zip(titles, descriptions, ids):
        row: Dict[str, Any] = {"id": row_id, "title": title}
        if description:
            row["description"] = description
        rows.append(row)

    named = any(o.section for o in options)
    sections: List[Dict[str, Any]] = []
    for option, row in zip(options, rows):
        name = truncate(option.section or OTHER_SECTION, SECTION_TITLE_LIMIT) if named else ""
        if sections and sections[-1].get("_name") == name:
            sections[-1]["rows"].append(row)
        else:
            sections.append({"_name": name, "rows": [row]})
    for section in sections:
        name = section.pop("_name")
        if named:
            section["title"] = name
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": truncate(button_label, LIST_BUTTON_LIMIT) or "Pilih", "sections": sections},
        },
    }


def button_messages(
    text: str, buttons: Sequence[Dict[str, Any]], *, list_button_label: str = "Pilih"
) -> List[Message]:
    """Messages for a text with Rasa buttons: reply buttons when they fit, else list messages."""
    options, links = _options(buttons)
    text = (text or "").strip()
    if links:
        text = "\n".join([text] + links) if text else "\n".join(links)
    if not options:
        return text_messages(text) if text else []

    messages: List[Message] = []
    body = text or DEFAULT_CHOICE_BODY
    if units(body) > INTERACTIVE_BODY_LIMIT:
        # The question itself goes as text; the choices follow with a short prompt.
        messages.extend(text_messages(body))
        body = DEFAULT_CHOICE_BODY

    if _fits_reply_buttons(options):
        ids = _unique_ids(options, BUTTON_ID_LIMIT)
        messages.append(
            {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": body},
                    "action": {
                        "buttons": [
                            {"type": "reply", "reply": {"id": i, "title": o.title}}
                            for o, i in zip(options, ids)
                        ]
                    },
                },
            }
        )
        return messages

    ids = _unique_ids(options, ROW_ID_LIMIT)
    chunks = _chunks(options)
    offset = 0
    for part, chunk in enumerate(chunks, start=1):
        chunk_body = body if part == 1 else MORE_CHOICES_BODY.format(part=part, total=len(chunks))
        messages.append(
            _list_message(chunk_body, chunk, ids[offset : offset + len(chunk)], list_button_label)
        )
        offset += len(chunk)
    return messages


def reply_buttons(body: str, buttons: Sequence[Tuple[str, str]]) -> Optional[Dict[str, Any]]:
    """The ``interactive`` object of a reply-button message: ``buttons`` are (id, title) pairs,
    at most three; body, ids and titles clipped to WhatsApp's limits. None without buttons."""
    if not buttons:
        return None
    return {
        "type": "button",
        "body": {"text": clip(body, INTERACTIVE_BODY_LIMIT)},
        "action": {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {
                        "id": clip(reply_id, BUTTON_ID_LIMIT),
                        "title": clip(title, BUTTON_TITLE_LIMIT),
                    },
                }
                for reply_id, title in buttons[:MAX_REPLY_BUTTONS]
            ]
        },
    }


def interactive_message(interactive: Dict[str, Any]) -> Message:
    return {"type": "interactive", "interactive": interactive}


# -- templates and validation -------------------------------------------------------------------
def template_param(text: str) -> str:
    """Free text as a template body parameter: no newlines/tabs, no 4+ spaces, ≤ 1024."""
    flat = " ".join((text or "").split())
    return truncate(flat, TEMPLATE_PARAM_LIMIT) or "-"


def template_message(name: str, language: str, text: Optional[str] = None) -> Message:
    template: Dict[str, Any] = {"name": name, "language": {"code": language}}
    if text is not None:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": template_param(text)}]}
        ]
    return {"type": "template", "template": template}


def summary_text(message: Message) -> str:
    """The human-readable text of a message body (for the template fallback and logs)."""
    kind = message.get("type")
    if kind == "text":
        return str(message.get("text", {}).get("body", ""))
    if kind == "interactive":
        return str(message.get("interactive", {}).get("body", {}).get("text", ""))
    if kind in ("image", "video", "document"):
        return str(message.get(kind, {}).get("caption", ""))
    return ""


def limit_problems(message: Message) -> List[str]:
    """Every WhatsApp limit the message overruns (empty = Meta will accept its shape)."""
    problems: List[str] = []
    kind = message.get("type")
    if kind == "text":
        if units(message["text"]["body"]) > TEXT_LIMIT:
            problems.append("text body over 4096")
        return problems
    if kind != "interactive":
        return problems
    interactive = message["interactive"]
    if units(interactive["body"]["text"]) > INTERACTIVE_BODY_LIMIT:
        problems.append("interactive body over 1024")
    action = interactive["action"]
    if interactive["type"] == "button":
        buttons = action["buttons"]
        titles = [b["reply"]["title"] for b in buttons]
        ids = [b["reply"]["id"] for b in buttons]
        if not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
            problems.append("1 to 3 reply buttons")
        if any(units(t) > BUTTON_TITLE_LIMIT for t in titles):
            problems.append("button title over 20")
        if len({t.casefold() for t in titles}) != len(titles) or len(set(ids)) != len(ids):
            problems.append("button titles/ids not unique")
    elif interactive["type"] == "list":
        if units(action["button"]) > LIST_BUTTON_LIMIT:
            problems.append("list button label over 20")
        rows = [r for s in action["sections"] for r in s["rows"]]
        if not 1 <= len(rows) <= LIST_ROWS_LIMIT:
            problems.append("1 to 10 rows")
        if len(action["sections"]) > 1 and any(not s.get("title") for s in action["sections"]):
            problems.append("several sections need titles")
        if any(units(s.get("title", "")) > SECTION_TITLE_LIMIT for s in action["sections"]):
            problems.append("section title over 24")
        if any(units(r["title"]) > ROW_TITLE_LIMIT for r in rows):
            problems.append("row title over 24")
        if any(units(r.get("description", "")) > ROW_DESCRIPTION_LIMIT for r in rows):
            problems.append("row description over 72")
        if any(units(r["id"]) > ROW_ID_LIMIT for r in rows):
            problems.append("row id over 200")
        if len({r["title"].casefold() for r in rows}) != len(rows) or len({r["id"] for r in rows}) != len(
            rows
        ):
            problems.append("row titles/ids not unique")
    return problems
