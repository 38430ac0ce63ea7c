"""HTTP face of the simulator (aiohttp): Meta's Graph API, media URLs, and the chat page.

Graph API (what the connector calls; bearer token required):
  POST   /{version}/{phone_number_id}/messages   send a message, or mark one read (+ typing)
  POST   /{version}/{phone_number_id}/media      upload media (multipart) -> {"id"}
  GET    /{version}/{media_id}                   media URL, MIME type, sha256, size
  DELETE /{version}/{media_id}                   delete uploaded media
  GET    /whatsapp_business/attachments/?mid=... download (bearer token, URL valid 5 minutes)

Chat page and control API (for people, tests and the benchmark; no token):
  GET  /                                   the WhatsApp-like chat page
  GET  /sim/api/state                      business, webhook state, citizens
  GET  /sim/api/events                     server-sent events (every change)
  POST /sim/api/citizens                   {"name", "wa_id"} or {"name", "user_id"}
  GET  /sim/api/citizens/{key}/messages    ?after=<seq>&wait=<s>&since_event=<n> (long poll)
  POST /sim/api/citizens/{key}/text        {"text"}
  POST /sim/api/citizens/{key}/reply       {"message_id", "reply_id"} or {"title"}
  POST /sim/api/citizens/{key}/location    {"latitude", "longitude", "name", "address"}
  POST /sim/api/citizens/{key}/image       multipart (file, caption) or JSON {"data_base64", ...}
  POST /sim/api/citizens/{key}/read        the citizen reads the conversation (blue ticks)
  POST /sim/api/citizens/{key}/age         {"hours"}: move the 24-h window back
  POST /sim/api/redeliver                  {"message_id"}: post the same webhook again
  POST /sim/api/faults                     {"count", "http_status", "code"}: fail next sends
  GET  /sim/api/graph                      recorded Graph API calls (?since=<unix time>)
  GET  /sim/api/stats                      counters
  GET  /sim/media/{media_id}               a media file, for the page
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

from aiohttp import web

from . import graph_rules, payloads
from .config import SimulatorConfig
from .core import BOT, Simulator, SimulatorError

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
SIMULATOR_KEY = web.AppKey("simulator", Simulator) if hasattr(web, "AppKey") else "simulator"  # type: ignore[attr-defined]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _sim(request: web.Request) -> Simulator:
    return request.app[SIMULATOR_KEY]  # type: ignore[index]


def _graph_json(status: int, body: Dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)


async def _json_body(request: web.Request) -> Dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SimulatorError("the body must be JSON") from None
    if not isinstance(data, dict):
        raise SimulatorError("the body must be a JSON object")
    return data


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SimulatorError as error:
        return web.json_response({"error": str(error)}, status=error.status)


# -- Graph API ------------------------------------------------------------------------------------
def _check_version(request: web.Request) -> Optional[web.Response]:
    version = request.match_info["version"]
    if not graph_rules.valid_version(version):
        status, body = payloads.graph_error(
            400, 2500, f"Unknown path components: /{version}", error_type="OAuthException"
        )
        return _graph_json(status, body)
    return None


async def graph_messages(request: web.Request) -> web.Response:
    sim = _sim(request)
    problem = _check_version(request) or _auth_problem(sim, request)
    if problem is not None:
        return problem
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        status, error = payloads.graph_error(
            400, 100, "(#100) Invalid parameter", details="Body is not JSON."
        )
        return _graph_json(status, error)
    status, response = sim.graph_messages(request.match_info["phone_number_id"], body, request.path)
    return _graph_json(status, response)


def _auth_problem(sim: Simulator, request: web.Request) -> Optional[web.Response]:
    problem = sim.check_token(request.headers.get("Authorization"))
    if problem is not None:
        status, body = problem
        return _graph_json(status, body)
    return None


async def graph_upload_media(request: web.Request) -> web.Response:
    sim = _sim(request)
    problem = _check_version(request) or _auth_problem(sim, request)
    if problem is not None:
        return problem
    if request.match_info["phone_number_id"] != sim.config.phone_number_id:
        status, body = payloads.graph_error(400, 100, "(#100) Invalid parameter")
        return _graph_json(status, body)
    if not request.content_type.startswith("multipart/"):
        status, body = payloads.graph_error(400, 100, "(#100) The parameter file is required.")
        return _graph_json(status, body)
    form = await request.post()
    upload = form.get("file")
    if form.get("messaging_product") != "whatsapp":
        status, body = payloads.graph_error(400, 100, "(#100) The parameter messaging_product is required.")
        return _graph_json(status, body)
    if not isinstance(upload, web.FileField):
        status, body = payloads.graph_error(400, 100, "(#100) The parameter file is required.")
        return _graph_json(status, body)
    data = upload.file.read()
    mime = str(form.get("type") or upload.content_type or "application/octet-stream")
    media = sim.store_media(data, mime, owner=BOT, filename=upload.filename)
    return web.json_response({"id": media.id})


async def graph_media(request: web.Request) -> web.Response:
    sim = _sim(request)
    problem = _check_version(request) or _auth_problem(sim, request)
    if problem is not None:
        return problem
    if request.method == "DELETE":
        status, body = sim.delete_media(request.match_info["media_id"])
    else:
        status, body = sim.media_info(request.match_info["media_id"])
    return _graph_json(status, body)


async def media_download(request: web.Request) -> web.Response:
    sim = _sim(request)
    problem = _auth_problem(sim, request)
    if problem is not None:
        return problem
    query = request.query
    media = sim.media_download(query.get("mid", ""), query.get("ext", ""), query.get("hash", ""))
    if media is None:
        return web.Response(status=404, text="URL signature mismatch or expired")
    return web.Response(body=media.data, content_type=media.mime_type)


# -- chat page and control API --------------------------------------------------------------------
async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})


async def api_state(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).state())


async def api_events(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    queue = sim.subscribe()
    try:
        await response.write(f"event: hello\ndata: {json.dumps({'event_seq': sim.event_seq})}\n\n".encode())
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=15)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is None:
                break
            await response.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        sim.unsubscribe(queue)
    return response


async def api_add_citizen(request: web.Request) -> web.Response:
    data = await _json_body(request)
    user_id = data.get("user_id")
    if data.get("username_only") and not user_id:
        user_id = payloads.bsuid()
    citizen = _sim(request).add_citizen(
        name=str(data.get("name") or ""),
        wa_id=None if data.get("username_only") else data.get("wa_id"),
        user_id=user_id,
    )
    return web.json_response(citizen.to_dict())


async def api_messages(request: web.Request) -> web.Response:
    sim = _sim(request)
    key = request.match_info["key"]
    after = int(request.query.get("after", "0"))
    wait = min(float(request.query.get("wait", "0")), 30.0)
    since_event = request.query.get("since_event")
    sim.citizen(key)  # 404 early
    if wait > 0 and since_event is not None:
        await sim.wait_event(int(since_event), wait)
    return web.json_response({"event_seq": sim.event_seq, "messages": sim.conversation(key, after)})


async def api_text(request: web.Request) -> web.Response:
    data = await _json_body(request)
    message = _sim(request).send_text(request.match_info["key"], str(data.get("text") or ""))
    return web.json_response(message.to_dict())


async def api_reply(request: web.Request) -> web.Response:
    data = await _json_body(request)
    sim = _sim(request)
    key = request.match_info["key"]
    if data.get("title"):
        message = sim.send_choice(key, str(data["title"]))
    else:
        message = sim.send_reply(key, str(data.get("message_id") or ""), str(data.get("reply_id") or ""))
    return web.json_response(message.to_dict())


async def api_location(request: web.Request) -> web.Response:
    data = await _json_body(request)
    try:
        latitude, longitude = float(data["latitude"]), float(data["longitude"])
    except (KeyError, TypeError, ValueError):
        raise SimulatorError("latitude and longitude are required numbers") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise SimulatorError("latitude/longitude out of range")
    message = _sim(request).send_location(
        request.match_info["key"], latitude, longitude, data.get("name"), data.get("address")
    )
    return web.json_response(message.to_dict())


async def api_image(request: web.Request) -> web.Response:
    sim = _sim(request)
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise SimulatorError("a file is required")
        data = upload.file.read()
        mime = upload.content_type or "image/jpeg"
        caption = str(form.get("caption") or "")
    else:
        body = await _json_body(request)
        try:
            data = base64.b64decode(str(body.get("data_base64") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise SimulatorError("data_base64 is not valid base64") from None
        mime = str(body.get("mime_type") or "image/jpeg")
        caption = str(body.get("caption") or "")
    message = sim.send_image(request.match_info["key"], data, mime, caption or None)
    return web.json_response(message.to_dict())


async def api_read(request: web.Request) -> web.Response:
    count = _sim(request).read_conversation(request.match_info["key"])
    return web.json_response({"read": count})


async def api_age(request: web.Request) -> web.Response:
    data = await _json_body(request)
    _sim(request).age_window(request.match_info["key"], float(data.get("hours") or 25))
    return web.json_response({"ok": True})


async def api_redeliver(request: web.Request) -> web.Response:
    data = await _json_body(request)
    message = _sim(request).redeliver(str(data.get("message_id") or ""))
    return web.json_response(message.to_dict())


async def api_faults(request: web.Request) -> web.Response:
    data = await _json_body(request)
    count = int(data.get("count") or 1)
    fault = (int(data.get("http_status") or 429), int(data.get("code") or 130429))
    _sim(request).inject_faults([fault] * count)
    return web.json_response({"queued": len(_sim(request).faults)})


async def api_graph(request: web.Request) -> web.Response:
    since = float(request.query.get("since", "0"))
    return web.json_response({"calls": _sim(request).graph_log(since)})


async def api_stats(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).stats())


async def page_media(request: web.Request) -> web.Response:
    media = _sim(request).media.get(request.match_info["media_id"])
    if media is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=media.data, content_type=media.mime_type, headers={"Cache-Control": "max-age=3600"}
    )


def create_app(sim: Simulator) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES, middlewares=[errors_middleware])
    app[SIMULATOR_KEY] = sim  # type: ignore[index]
    version = r"{version:v[0-9][0-9.]*}"
    app.router.add_post(f"/{version}/{{phone_number_id}}/messages", graph_messages)
    app.router.add_post(f"/{version}/{{phone_number_id}}/media", graph_upload_media)
    app.router.add_get(f"/{version}/{{media_id}}", graph_media)
    app.router.add_delete(f"/{version}/{{media_id}}", graph_media)
    app.router.add_get("/whatsapp_business/attachments/", media_download)
    app.router.add_get("/", index)
    app.router.add_static("/static", STATIC_DIR)
    app.router.add_get("/sim/api/state", api_state)
    app.router.add_get("/sim/api/events", api_events)
    app.router.add_post("/sim/api/citizens", api_add_citizen)
    app.router.add_get("/sim/api/citizens/{key}/messages", api_messages)
    app.router.add_post("/sim/api/citizens/{key}/text", api_text)
    app.router.add_post("/sim/api/citizens/{key}/reply", api_reply)
    app.router.add_post("/sim/api/citizens/{key}/location", api_location)
    app.router.add_post("/sim/api/citizens/{key}/image", api_image)
    app.router.add_post("/sim/api/citizens/{key}/read", api_read)
    app.router.add_post("/sim/api/citizens/{key}/age", api_age)
    app.router.add_post("/sim/api/redeliver", api_redeliver)
    app.router.add_post("/sim/api/faults", api_faults)
    app.router.add_get("/sim/api/graph", api_graph)
    app.router.add_get("/sim/api/stats", api_stats)
    app.router.add_get("/sim/media/{media_id}", page_media)

    async def on_startup(_app: web.Application) -> None:
        await sim.start()

    async def on_cleanup(_app: web.Application) -> None:
        await sim.close()

    async def on_shutdown(_app: web.Application) -> None:
        sim.end_streams()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


class RunningSimulator:
    """A simulator served on a port inside the current event loop (tests, benchmark)."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.sim = Simulator(config)
        self.app = create_app(self.sim)
        self._runner: Optional[web.AppRunner] = None

    async def start(self) -> "RunningSimulator":
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.sim.config.host, self.sim.config.port, backlog=1024)
        await site.start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
