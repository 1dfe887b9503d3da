"""The counter kiosk: ``/kiosk/<device_key>``, a small offline-first web app."""

from __future__ import annotations

from flask import Blueprint

from webapp.access import DEVICE, declare_access

kiosk = declare_access(
    Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static", static_url_path="/static"),
    DEVICE,
)
