"""Kiosk tablets, receipt QR codes and the counter poster of a unit.

A device's key and a batch's receipt links are shown once, in the answer to the POST that
made them (never stored in clear, never in a cookie); those pages are not cached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from surveys import tokens as token_service
from surveys.qr import qr_svg
from webapp.access import editor_required, require_in_scope, unit_or_404
from webapp.agency.blueprint import agency
from webapp.agency.forms import ConfirmForm, DeviceForm, ReceiptBatchForm
from webapp.extensions import db
from webapp.i18n import localized
from webapp.models import Counter, Device, ReceiptToken, Unit, utcnow
from webapp.periods import vietnam_today
from webapp.services import ServiceError, describe
from webapp.services import devices as device_service
from webapp.services import receipts as receipt_service
from webapp.urls import public_url

#: Receipt tokens listed on the page (newest first).
RECENT_TOKENS = 50


def qr_markup(url: str, title: str, scale: int = 4) -> Markup:
    return Markup(qr_svg(url, title=title, scale=scale))  # noqa: S704 (segno's SVG of our own URL)  # nosec B704


def _devices(unit: Unit) -> list[Device]:
    return list(
        db.session.scalars(
            select(Device)
            .join(Counter)
            .where(Counter.unit_id == unit.id)
            .options(joinedload(Device.counter))
            .order_by(Device.revoked_at.is_not(None), Counter.name, Device.id)
        )
    )


def _tokens(unit: Unit) -> list[ReceiptToken]:
    return list(
        db.session.scalars(
            select(ReceiptToken)
            .where(ReceiptToken.unit_id == unit.id)
            .options(joinedload(ReceiptToken.service))
            .order_by(ReceiptToken.issued_at.desc(), ReceiptToken.id.desc())
            .limit(RECENT_TOKENS)
        )
    )


def _counter_names(unit: Unit) -> list[str]:
    return list(db.session.scalars(select(Counter.name).where(Counter.unit_id == unit.id).order_by(Counter.name)))


def _service_choices(unit: Unit) -> list[tuple[str, str]]:

    return [(s.code, localized(s)) for s in unit.services_on(vietnam_today())]


def _render_devices(unit: Unit, *, device_form=None, batch_form=None, status: int = 200):
    batch_form = batch_form or ReceiptBatchForm(formdata=None)
    batch_form.service.choices = _service_choices(unit)
    return (
        render_template(
            "agency/devices.html",
            unit=unit,
            devices=_devices(unit),
            tokens=_tokens(unit),
            counters=_counter_names(unit),
            device_form=device_form or DeviceForm(formdata=None),
            batch_form=batch_form,
            service_options=[
                {"value": value, "text": text, "selected": value == batch_form.service.data}
                for value, text in batch_form.service.choices
            ],
            max_cases=receipt_service.MAX_CASES_PER_SHEET,
            max_counter_devices=device_service.MAX_DEVICES_PER_COUNTER,
            max_unit_devices=device_service.MAX_DEVICES_PER_UNIT,
            now=utcnow(),
        ),
        status,
    )


@agency.get("/units/<code>/devices")
def devices(code: str):
    """The unit's kiosk tablets, recent receipt QR codes, and the forms to add more."""
    return _render_devices(unit_or_404(code))


@agency.post("/units/<code>/devices")
@editor_required
def add_device(code: str):
    """Register a tablet at a counter; its kiosk address (with the key) is shown this once."""
    unit = unit_or_404(code)
    form = DeviceForm()
    if not form.validate_on_submit():
        return _render_devices(unit, device_form=form, status=400)
    try:
        new = device_service.create_device(unit, form.counter.data, form.label.data, actor=current_user)
    except ServiceError as error:
        db.session.rollback()
        field = form.label if error.code == "label_too_long" else form.counter
        field.errors = [describe(error)]
        return _render_devices(unit, device_form=form, status=error.status)
    db.session.commit()
    url = public_url(url_for("kiosk.page", device_key=new.key))
    return render_template(
        "agency/device_created.html",
        unit=unit,
        device=new.device,
        kiosk_url=url,
        qr=qr_markup(url, _("QR code of the kiosk address"), scale=5),
    )


def _device_or_404(device_id: int) -> Device:
    device = db.session.scalar(
        select(Device).where(Device.id == device_id).options(joinedload(Device.counter).joinedload(Counter.unit))
    )
    if device is None:
        abort(404)
    require_in_scope(device.counter.unit)
    return device


@agency.get("/devices/<int:device_id>/revoke")
def confirm_revoke_device(device_id: int):
    """Ask before revoking a tablet (viewers see the page without the button)."""
    device = _device_or_404(device_id)
    return render_template(
        "agency/confirm.html",
        unit=device.counter.unit,
        kind="device",
        device=device,
        action=url_for("agency.revoke_device", device_id=device.id),
    )


@agency.post("/devices/<int:device_id>/revoke")
@editor_required
def revoke_device(device_id: int):
    """Refuse the tablet's key from now on (its earlier ratings stay)."""
    device = _device_or_404(device_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    device_service.revoke_device(device, actor=current_user)
    db.session.commit()
    flash(_("The tablet at %(counter)s is revoked: its kiosk address no longer works.", counter=device.counter.name))
    return redirect(url_for("agency.devices", code=device.counter.unit.code))


def bilingual(texts: Callable[[], dict[str, str]]) -> dict[str, dict[str, str]]:
    """``texts()`` in Vietnamese and in English: printed posters and slips carry both languages."""
    found = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            found[lang] = texts()
    return found


@dataclass(frozen=True)
class Receipt:
    """One printed receipt slip: the QR code, the typed code and the short link."""

    token: str
    url: str
    qr: Markup


@agency.post("/units/<code>/receipts")
@editor_required
def issue_receipts(code: str):
    """Issue a token per case number and show a printable sheet of receipt QR codes."""
    unit = unit_or_404(code)
    form = ReceiptBatchForm()
    form.service.choices = _service_choices(unit)
    service = next((s for s in unit.services_on(vietnam_today()) if s.code == form.service.data), None)
    if not form.validate_on_submit() or service is None:
        if service is None:
            form.service.errors = [*form.service.errors, _("Choose the service the dossiers are for.")]
        return _render_devices(unit, batch_form=form, status=400)
    lines = (form.cases.data or "").splitlines()
    try:
        issued = receipt_service.issue_receipts(unit, service, lines, actor=current_user)
    except ServiceError as error:
        db.session.rollback()
        receipt_service.record_refusal(unit, service, error, actor=current_user, asked=len(lines))
        db.session.commit()
        # The service is one the unit offers (checked above): every refusal is about the case numbers.
        form.cases.errors = [describe(error)]
        return _render_devices(unit, batch_form=form, status=error.status)
    db.session.commit()
    receipts = []
    for receipt in issued:
        url = public_url(url_for("survey.receipt", token=receipt.token))
        receipts.append(
            Receipt(token_service.display_token(receipt.token), url, qr_markup(url, _("QR code of the survey link")))
        )
    entry_url = public_url(url_for("survey.receipt_code"))
    texts = bilingual(
        lambda: {
            "title": _("Rate our service"),
            "scan": _("Scan the QR code with your phone, or go to %(url)s and type the code:", url=entry_url),
            "note": _("No name is asked. The code works once."),
        }
    )
    return render_template("agency/receipts.html", unit=unit, service=service, receipts=receipts, texts=texts)


def _token_or_404(token_id: int) -> ReceiptToken:
    token = db.session.scalar(
        select(ReceiptToken).where(ReceiptToken.id == token_id).options(joinedload(ReceiptToken.unit))
    )
    if token is None:
        abort(404)
    require_in_scope(token.unit)
    return token


@agency.get("/tokens/<int:token_id>/revoke")
def confirm_revoke_token(token_id: int):
    """Ask before revoking a receipt's QR code (viewers see the page without the button)."""
    token = _token_or_404(token_id)
    return render_template(
        "agency/confirm.html",
        unit=token.unit,
        kind="token",
        token=token,
        action=url_for("agency.revoke_token", token_id=token.id),
    )


@agency.post("/tokens/<int:token_id>/revoke")
@editor_required
def revoke_token(token_id: int):
    """Make a receipt's QR code unusable (e.g. a receipt printed by mistake)."""
    token = _token_or_404(token_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        revoked = receipt_service.revoke_receipt(token, actor=current_user)
    except ServiceError as error:
        flash(describe(error))
        return redirect(url_for("agency.devices", code=token.unit.code))
    if revoked:
        db.session.commit()
    flash(_("The receipt QR code is revoked: it can no longer be used."))
    return redirect(url_for("agency.devices", code=token.unit.code))


@agency.get("/units/<code>/poster")
def poster(code: str):
    """A printable counter poster: the QR code of the unit's survey, in Vietnamese and English."""
    unit = unit_or_404(code)
    url = public_url(url_for("survey.unit_services", unit_code=unit.code))
    texts = bilingual(
        lambda: {
            "title": _("How was our service today?"),
            "scan": _("Scan the QR code with your phone's camera to rate this office. It takes less than a minute."),
            "address": _("Or open this address:"),
            "anonymous": _("No name, phone number or ID number is asked."),
            "use": _(
                "How your rating is used: ratings are counted every quarter and published with their margin of error"
                " on the Sơn La Satisfaction Index; each office is checked against the province's target of 80%%"
                " satisfied, and offices answer comments in public."
            ),
            "qr": _("QR code of this office's survey"),
        }
    )
    return render_template(
        "agency/poster.html",
        unit=unit,
        survey_url=url,
        texts=texts,
        qr=qr_markup(url, f"{texts['vi']['qr']} / {texts['en']['qr']}", scale=10),
    )
