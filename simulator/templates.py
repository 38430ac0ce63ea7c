"""Message templates approved for the simulated business number, as Meta holds them.

A template message names an approved template and gives only its parameters; WhatsApp shows the
template's own header, body, footer and buttons with those parameters filled in. To render a
template as WhatsApp does (and refuse one Meta would refuse), the simulator knows the templates
this project registers (README, "Announcements to subscribers"):

- the notification template sent outside the 24-hour window (``WHATSAPP_TEMPLATE_NAME`` /
  ``WHATSAPP_TEMPLATE_LANGUAGE``, default ``layanwarga_notifikasi`` / ``id``): the body is the
  one parameter, the message's text;
- the announcement templates of ``instansi.yml`` (``subscriptions.template``): ``name`` with the
  body, footer and one quick-reply button, and ``image_name``, the same with an IMAGE header.

Meta's checks applied here: an unknown name or language is error 132001; a body parameter count
that differs from the template's is 132000; a media header without its media is 132012.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .payloads import graph_error

NOTIFICATION_TEMPLATE = "layanwarga_notifikasi"
NOTIFICATION_LANGUAGE = "id"
MEDIA_HEADERS = ("image", "video", "document")
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")

Error = Tuple[int, Dict[str, Any]]


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    body: str
    footer: Optional[str] = None
    header: Optional[str] = None  # "image", "video", "document" or "text"
    header_text: Optional[str] = None
    quick_replies: Tuple[str, ...] = ()

    @property
    def body_parameters(self) -> int:
        return len(set(_PLACEHOLDER.findall(self.body)))


Registry = Dict[Tuple[str, str], Template]


def project_templates(env: Mapping[str, str]) -> Registry:
    """The templates this project registers with Meta, read from the same settings the
    connector, the notifier and the announcement worker use."""
    name = env.get("WHATSAPP_TEMPLATE_NAME") or NOTIFICATION_TEMPLATE
    language = env.get("WHATSAPP_TEMPLATE_LANGUAGE") or NOTIFICATION_LANGUAGE
    templates = [Template(name=name, language=language, body="{{1}}")]
    templates += announcement_templates()
    return {(t.name, t.language): t for t in templates}


def announcement_templates() -> List[Template]:
    """The announcement templates of the institution's configuration (none without a
    ``subscriptions`` section)."""
    from layanwarga.config import get_institution

    settings = get_institution().subscriptions
    if settings is None:
        return []
    template = settings.template
    plain = Template(
        name=template.name,
        language=template.language,
        body=template.body,
        footer=template.footer,
        quick_replies=(template.stop_button,),
    )
    found = [plain]
    if template.image_name:
        found.append(
            Template(
                name=template.image_name,
                language=template.language,
                body=template.body,
                footer=template.footer,
                header="image",
                quick_replies=(template.stop_button,),
            )
        )
    return found


def _components(content: Dict[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    """The message's components by type (``body``, ``header``, ``button``)."""
    found: Dict[str, List[Dict[str, Any]]] = {}
    for component in content.get("components") or []:
        if isinstance(component, dict):
            found.setdefault(str(component.get("type") or "").lower(), []).append(component)
    return found


def _parameters(component: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    params = (component or {}).get("parameters")
    return [p for p in params if isinstance(p, dict)] if isinstance(params, list) else []


def find(registry: Registry, content: Dict[str, Any]) -> Optional[Template]:
    language = content.get("language") if isinstance(content.get("language"), dict) else {}
    return registry.get((str(content.get("name") or ""), str(language.get("code") or "")))


def check(registry: Registry, content: Dict[str, Any]) -> Optional[Error]:
    """None when Meta would send this template message; else Meta's error."""
    template = find(registry, content)
    if template is None:
        language = (
            (content.get("language") or {}).get("code") if isinstance(content.get("language"), dict) else None
        )
        return graph_error(
            404,
            132001,
            "(#132001) Template name does not exist in the translation",
            details=f"template name ({content.get('name')}) does not exist in {language}",
        )
    components = _components(content)
    given = len(_parameters((components.get("body") or [None])[0]))
    if given != template.body_parameters:
        return graph_error(
            400,
            132000,
            "(#132000) Number of parameters does not match the expected number of params",
            details=f"body: number of localizable_params ({given}) does not match the expected number of params "
            f"({template.body_parameters})",
        )
    if template.header in MEDIA_HEADERS:
        header = _parameters((components.get("header") or [None])[0])
        media = (
            header[0].get(template.header) if header and header[0].get("type") == template.header else None
        )
        if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
            return graph_error(
                400,
                132012,
                "(#132012) Parameter format does not match format in the created template",
                details=f"header: Format mismatch, expected {template.header.upper()}, received UNKNOWN",
            )
    return None


def render(template: Template, content: Dict[str, Any]) -> Dict[str, Any]:
    """What the citizen sees: header, the body with its parameters, footer and the quick-reply
    buttons (whose ids are the payloads the business gave them)."""
    components = _components(content)
    values = [str(p.get("text") or "") for p in _parameters((components.get("body") or [None])[0])]
    body = _PLACEHOLDER.sub(
        lambda m: values[int(m.group(1)) - 1] if int(m.group(1)) <= len(values) else m.group(0), template.body
    )
    view: Dict[str, Any] = {"text": body, "template": {"name": template.name, "language": template.language}}
    if template.header in MEDIA_HEADERS:
        header = _parameters((components.get("header") or [None])[0])
        media = header[0].get(template.header) if header else None
        if isinstance(media, dict):
            view["header_media"] = {
                "type": template.header,
                **{k: media.get(k) for k in ("id", "link", "filename")},
            }
    elif template.header == "text" and template.header_text:
        view["header"] = template.header_text
    if template.footer:
        view["footer"] = template.footer
    payloads = {}
    for button in components.get("button") or []:
        index = int(str(button.get("index") or 0)) if str(button.get("index") or "0").isdigit() else 0
        params = _parameters(button)
        if params and params[0].get("type") == "payload":
            payloads[index] = str(params[0].get("payload") or "")
    if template.quick_replies:
        view["buttons"] = [
            {"id": payloads.get(index, title), "title": title, "quick_reply": True}
            for index, title in enumerate(template.quick_replies)
        ]
    return view
