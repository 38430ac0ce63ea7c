"""What Meta's ``POST /{phone_number_id}/messages`` accepts, checked like Meta checks it.

Meta rejects the whole message when a limit is overrun (it never truncates), with HTTP 400 and
error ``131009`` (parameter value not valid) or ``100`` (invalid / missing parameter). The
simulator applies the same rules, so a connector that would be refused by Meta is refused here.
Lengths are counted in UTF-16 code units (never less than characters).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from . import templates
from .payloads import graph_error

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
HEADER_TEXT_LIMIT = 60
FOOTER_LIMIT = 60
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_BUTTONS = 3
MAX_ROWS = 10
MAX_SECTIONS = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200
SECTION_TITLE_LIMIT = 24
LIST_BUTTON_LIMIT = 20
CAPTION_LIMIT = 1024

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
MESSAGE_TYPES = ("text", "interactive", "location", "template", "contacts", "reaction") + MEDIA_TYPES
_VERSION = re.compile(r"^v\d{1,2}\.\d$")

Error = Tuple[int, Dict[str, Any]]


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def valid_version(version: str) -> bool:
    return bool(_VERSION.match(version))


def _invalid(details: str) -> Error:
    return graph_error(400, 131009, "(#131009) Parameter value is not valid", details=details)


def _missing(name: str) -> Error:
    return graph_error(400, 100, f"(#100) The parameter {name} is required.")


def _text_param(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def check_message(body: Dict[str, Any], media_exists: Any) -> Optional[Error]:
    """None when Meta would accept ``body``; else the error response Meta would give.

    ``media_exists(id) -> bool`` says whether a media id was uploaded to this number.
    """
    if body.get("messaging_product") != "whatsapp":
        return _missing("messaging_product")
    if not body.get("to") and not body.get("recipient"):
        return _missing("to")
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        return graph_error(
            400, 100, f'(#100) Param type must be one of {{{", ".join(MESSAGE_TYPES)}}} - got "{kind}".'
        )
    content = body.get(kind)
    if not isinstance(content, dict):
        return _missing(kind)
    check = _CHECKS.get(kind)
    return check(content, media_exists) if check else None


def _check_text(content: Dict[str, Any], _media: Any) -> Optional[Error]:
    text = _text_param(content.get("body"))
    if not text or not text.strip():
        return _missing("text['body']")
    if units(text) > TEXT_LIMIT:
        return _invalid(f"Param text['body'] must be at most {TEXT_LIMIT} characters long.")
    return None


def _check_interactive(content: Dict[str, Any], _media: Any) -> Optional[Error]:
    itype = content.get("type")
    body = content.get("body") if isinstance(content.get("body"), dict) else {}
    text = _text_param(body.get("text"))
    if itype in ("button", "list") and not text:
        return _missing("interactive['body']['text']")
    if text and units(text) > INTERACTIVE_BODY_LIMIT:
        return _invalid(
            f"Param interactive['body']['text'] must be at most {INTERACTIVE_BODY_LIMIT} characters long."
        )
    footer = content.get("footer") if isinstance(content.get("footer"), dict) else {}
    if footer.get("text") and units(str(footer["text"])) > FOOTER_LIMIT:
        return _invalid(
            f"Param interactive['footer']['text'] must be at most {FOOTER_LIMIT} characters long."
        )
    header = content.get("header") if isinstance(content.get("header"), dict) else {}
    if header.get("type") == "text" and units(str(header.get("text") or "")) > HEADER_TEXT_LIMIT:
        return _invalid(
            f"Param interactive['header']['text'] must be at most {HEADER_TEXT_LIMIT} characters long."
        )
    action = content.get("action") if isinstance(content.get("action"), dict) else None
    if action is None:
        return _missing("interactive['action']")
    if itype == "button":
        return _check_buttons(action)
    if itype == "list":
        return _check_list(action)
    if itype in ("cta_url", "location_request_message", "flow", "product", "product_list"):
        return None
    return graph_error(
        400, 100, f"(#100) Invalid parameter: interactive['type'] \"{itype}\" is not supported."
    )


def _check_buttons(action: Dict[str, Any]) -> Optional[Error]:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        return _invalid(
            f"Param interactive['action']['buttons'] must have between 1 and {MAX_BUTTONS} elements."
        )
    titles, ids = [], []
    for index, button in enumerate(buttons):
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict) or button.get("type") != "reply":
            return _missing(f"interactive['action']['buttons'][{index}]['reply']")
        title, reply_id = _text_param(reply.get("title")), _text_param(reply.get("id"))
        if not title or not reply_id:
            return _missing(f"interactive['action']['buttons'][{index}]['reply']['title']")
        if units(title) > BUTTON_TITLE_LIMIT:
            return _invalid(
                f"Param interactive['action']['buttons'][{index}]['reply']['title'] must be at most "
                f"{BUTTON_TITLE_LIMIT} characters long."
            )
        if units(reply_id) > BUTTON_ID_LIMIT:
            return _invalid(f"Param interactive['action']['buttons'][{index}]['reply']['id'] is too long.")
        titles.append(title.casefold())
        ids.append(reply_id)
    if len(set(titles)) != len(titles):
        return _invalid("Button titles must be unique.")
    if len(set(ids)) != len(ids):
        return _invalid("Button ids must be unique.")
    return None


def _check_list(action: Dict[str, Any]) -> Optional[Error]:
    label = _text_param(action.get("button"))
    if not label:
        return _missing("interactive['action']['button']")
    if units(label) > LIST_BUTTON_LIMIT:
        return _invalid(
            f"Param interactive['action']['button'] must be at most {LIST_BUTTON_LIMIT} characters long."
        )
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        return _invalid(
            f"Param interactive['action']['sections'] must have between 1 and {MAX_SECTIONS} elements."
        )
    rows: List[Dict[str, Any]] = []
    for s_index, section in enumerate(sections):
        if not isinstance(section, dict) or not isinstance(section.get("rows"), list) or not section["rows"]:
            return _missing(f"interactive['action']['sections'][{s_index}]['rows']")
        title = section.get("title")
        if len(sections) > 1 and not title:
            return _missing(f"interactive['action']['sections'][{s_index}]['title']")
        if title and units(str(title)) > SECTION_TITLE_LIMIT:
            return _invalid(
                f"Param interactive['action']['sections'][{s_index}]['title'] must be at most "
                f"{SECTION_TITLE_LIMIT} characters long."
            )
        rows.extend(r for r in section["rows"] if isinstance(r, dict))
    if not 1 <= len(rows) <= MAX_ROWS:
        return _invalid(f"Total row count exceed max allowed count: {MAX_ROWS}")
    for index, row in enumerate(rows):
        title, row_id = _text_param(row.get("title")), _text_param(row.get("id"))
        if not title or not row_id:
            return _missing(f"rows[{index}]['title']")
        if units(title) > ROW_TITLE_LIMIT:
            return _invalid(
                f"Param rows[{index}]['title'] must be at most {ROW_TITLE_LIMIT} characters long."
            )
        description = row.get("description")
        if description and units(str(description)) > ROW_DESCRIPTION_LIMIT:
            return _invalid(
                f"Param rows[{index}]['description'] must be at most {ROW_DESCRIPTION_LIMIT} characters long."
            )
        if units(row_id) > ROW_ID_LIMIT:
            return _invalid(f"Param rows[{index}]['id'] must be at most {ROW_ID_LIMIT} characters long.")
    if len({r["title"].casefold() for r in rows}) != len(rows):
        return _invalid("Row titles must be unique.")
    if len({r["id"] for r in rows}) != len(rows):
        return _invalid("Row ids must be unique.")
    return None


def _check_location(content: Dict[str, Any], _media: Any) -> Optional[Error]:
    for key, bound in (("latitude", 90), ("longitude", 180)):
        value = content.get(key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return _missing(f"location['{key}']")
        if not -bound <= number <= bound:
            return _invalid(f"Param location['{key}'] is out of range.")
    return None


def _check_media(kind: str):  # type: ignore[no-untyped-def]
    def check(content: Dict[str, Any], media_exists: Any) -> Optional[Error]:
        if content.get("id"):
            if not media_exists(str(content["id"])):
                return graph_error(400, 131053, "(#131053) Media upload error", details="Unknown media id.")
        elif not content.get("link"):
            return _missing(f"{kind}['id'] or {kind}['link']")
        caption = content.get("caption")
        if caption and units(str(caption)) > CAPTION_LIMIT:
            return _invalid(f"Param {kind}['caption'] must be at most {CAPTION_LIMIT} characters long.")
        return None

    return check


def _check_template(content: Dict[str, Any], _media: Any) -> Optional[Error]:
    if not content.get("name"):
        return _missing("template['name']")
    language = content.get("language")
    if not isinstance(language, dict) or not language.get("code"):
        return _missing("template['language']['code']")
    return None


_CHECKS = {
    "text": _check_text,
    "interactive": _check_interactive,
    "location": _check_location,
    "template": _check_template,
    **{kind: _check_media(kind) for kind in MEDIA_TYPES},
}


def summary(body: Dict[str, Any], registry: Optional[templates.Registry] = None) -> Dict[str, Any]:
    """What the citizen sees of a business message, as WhatsApp shows it.

    ``{"text": str, "header": str, "header_media": {"type", "id"|"link", "filename"},
    "footer": str, "buttons": [{"id", "title", "quick_reply"?}], "list": {"button", "sections"},
    "cta": {"display_text", "url"}, "location": {...}, "media": {"type", "id"|"link", "caption",
    "filename"}, "template": {"name", "language"}}`` (only the keys that apply). A template is
    rendered from its approved form in ``registry`` (header, body with the parameters, footer,
    quick-reply buttons).
    """
    kind = body.get("type", "text")
    content = body.get(kind) if isinstance(body.get(kind), dict) else {}
    view: Dict[str, Any] = {"type": kind, "text": ""}
    if kind == "text":
        view["text"] = str(content.get("body") or "")
    elif kind == "interactive":
        view["text"] = str((content.get("body") or {}).get("text") or "")
        header = content.get("header") or {}
        if header.get("type") == "text":
            view["header"] = header.get("text")
        elif header.get("type") in templates.MEDIA_HEADERS and isinstance(header.get(header["type"]), dict):
            media = header[header["type"]]
            view["header_media"] = {
                "type": header["type"],
                **{k: media.get(k) for k in ("id", "link", "filename")},
            }
        if (content.get("footer") or {}).get("text"):
            view["footer"] = content["footer"]["text"]
        action = content.get("action") or {}
        if content.get("type") == "button":
            view["buttons"] = [
                {"id": b["reply"]["id"], "title": b["reply"]["title"]} for b in action.get("buttons", [])
            ]
        elif content.get("type") == "list":
            view["list"] = {
                "button": action.get("button"),
                "sections": [
                    {
                        "title": s.get("title"),
                        "rows": [
                            {"id": r.get("id"), "title": r.get("title"), "description": r.get("description")}
                            for r in s.get("rows", [])
                        ],
                    }
                    for s in action.get("sections", [])
                ],
            }
        elif content.get("type") == "cta_url":
            parameters = action.get("parameters") if isinstance(action.get("parameters"), dict) else {}
            view["cta"] = {"display_text": parameters.get("display_text"), "url": parameters.get("url")}
    elif kind == "location":
        view["location"] = {k: content.get(k) for k in ("latitude", "longitude", "name", "address")}
        view["text"] = " ".join(str(content.get(k)) for k in ("name", "address") if content.get(k))
    elif kind in MEDIA_TYPES:
        view["media"] = {"type": kind, **{k: content.get(k) for k in ("id", "link", "caption", "filename")}}
        view["text"] = str(content.get("caption") or "")
    elif kind == "template":
        template = templates.find(registry or {}, content)
        if template is not None:
            view.update(templates.render(template, content))
        else:
            view["template"] = {
                "name": content.get("name"),
                "language": (content.get("language") or {}).get("code"),
            }
    elif kind == "contacts":
        view["text"] = "Kontak"
    elif kind == "reaction":
        view["text"] = str(content.get("emoji") or "")
    return view
