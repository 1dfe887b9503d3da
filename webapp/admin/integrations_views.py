"""Integration clients of the one-stop system: ``/admin/integrations`` (list, create, revoke).

The same rules as ``flask --app webapp integrations`` (``webapp/integrations/service.py``). A new
client's secret token is shown once, in the answer to the POST that made it (``no-store``), and
only its hash is kept; every create and revoke is audited.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from webapp.access import editor_required
from webapp.admin.blueprint import admin
from webapp.admin.common import unit_options
from webapp.admin.forms import ConfirmForm
from webapp.extensions import db
from webapp.integrations import service
from webapp.integrations.messages import describe_refusal
from webapp.models import Unit
from webapp.services import ServiceError
from webapp.urls import public_url


class IntegrationClientForm(FlaskForm):
    name = StringField(
        validators=[
            DataRequired(_l("Give the client a name, for example Hệ thống một cửa tỉnh.")),
            Length(max=service.MAX_NAME, message=_l("Use at most 200 characters")),
        ]
    )
    unit = StringField(validators=[DataRequired(_l("Choose the unit the client acts for.")), Length(max=40)])


def _render(form: IntegrationClientForm, status: int = 200):
    return render_template(
        "admin/integrations.html",
        clients=service.list_clients(),
        form=form,
        confirm=ConfirmForm(),
        units=unit_options(form.unit.data),
        endpoint=public_url("/api/v1/dossiers"),
    ), status


@admin.get("/integrations")
def integrations():
    return _render(IntegrationClientForm(formdata=None))


@admin.post("/integrations")
@editor_required
def integration_create():
    form = IntegrationClientForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    unit = db.session.scalar(select(Unit).where(Unit.code == form.unit.data.strip()))
    if unit is None:
        form.unit.errors = [str(_l("Choose the unit the client acts for."))]
        return _render(form, 400)
    try:
        new = service.create_client(form.name.data, unit, actor=current_user.user)
    except ServiceError as error:
        db.session.rollback()
        form.name.errors = [describe_refusal(error)]
        return _render(form, 400)
    db.session.commit()
    # Shown once; the admin blueprint's no-store keeps it out of every cache.
    return render_template(
        "admin/integrations_token.html",
        client=new.client,
        token=new.token,
        endpoint=public_url("/api/v1/dossiers"),
    )


@admin.post("/integrations/<client_id>/revoke")
@editor_required
def integration_revoke(client_id: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    client = service.find_client(client_id)
    if client is None:
        abort(404)
    if service.revoke_client(client, actor=current_user.user):
        db.session.commit()
        flash(_l("The client is revoked: its token is refused from now on."))
    return redirect(url_for("admin.integrations"))
