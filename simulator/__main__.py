"""``python -m simulator``: the local WhatsApp stand-in, with its chat page.

The port comes from ``SIMULATOR_PORT`` (default 8090), the connector's webhook URL from
``SIMULATOR_WEBHOOK_URL`` (default ``http://localhost:$RASA_PORT/webhooks/whatsapp/webhook``),
credentials from the same ``WHATSAPP_*`` variables the connector reads.
"""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from .config import SimulatorConfig
from .core import Simulator
from .server import create_app


def main(argv: list | None = None) -> int:
    config = SimulatorConfig.from_env()
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=config.host, help=f"interface to listen on (default {config.host})")
    parser.add_argument(
        "--port", type=int, default=config.port, help=f"port (default {config.port}, SIMULATOR_PORT)"
    )
    parser.add_argument(
        "--webhook-url", default=config.webhook_url, help="the connector's webhook (SIMULATOR_WEBHOOK_URL)"
    )
    parser.add_argument(
        "--auto-read",
        action="store_true",
        default=config.auto_read,
        help="citizens read every reply at once (otherwise when the chat is open on the page)",
    )
    parser.add_argument(
        "--no-statuses", action="store_true", help="do not send sent/delivered/read status webhooks"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    config.host, config.port, config.webhook_url = args.host, args.port, args.webhook_url
    config.auto_read = args.auto_read
    config.send_statuses = config.send_statuses and not args.no_statuses
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    app = create_app(Simulator(config))
    print(f"WhatsApp simulator: chat page {config.base_url}/  (webhooks to {config.webhook_url})", flush=True)
    web.run_app(app, host=config.host, port=config.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
