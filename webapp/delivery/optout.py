"""Opt-out: ``/optout/<token>`` stops further survey links to one phone number or e-mail address.

Only a keyed hash of the contact is stored, and the link's token is that hash signed
(:mod:`webapp.delivery.contacts`), so a made-up token is refused before anything is written.

The page is public (access rule ``token_holder``: anyone holding a valid signed link): ``GET``
shows a confirmation form, ``POST`` (CSRF-protected, rate limited) records the opt-out. Nothing
about the contact is shown, and the token is masked in the request log like any ``token`` argument.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from webapp.access import TOKEN_HOLDER, declare_access
from webapp.delivery.contacts import digest_from_token, record_optout
from webapp.extensions import db, limiter
from webapp.models.delivery import DeliveryOptout

POST_LIMIT = "30/minute"

optout = declare_access(Blueprint("delivery_optout", __name__), TOKEN_HOLDER)


class OptoutForm(FlaskForm):
    """Only the CSRF token: the signed link says who."""


@optout.route("/optout/<token>", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def confirm(token: str):
    digest = digest_from_token(token)
    if digest is None:
        abort(404)
    form = OptoutForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        record_optout(digest)
        db.session.commit()
        current_app.logger.info("delivery opt-out recorded")
        return render_template("delivery/optout_done.html")
    already = db.session.scalar(select(DeliveryOptout.id).where(DeliveryOptout.contact_digest == digest)) is not None
    return render_template(
        "delivery/optout_confirm.html",
        form=form,
        already=already,
        action=url_for("delivery_optout.confirm", token=token),
    )
