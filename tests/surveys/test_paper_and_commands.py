"""Paper forms import and the device and token commands."""

from __future__ import annotations

from sqlalchemy import func, select

from surveys import definitions
from tests.conftest import add_dossier_counts
from webapp.models import Device, ReceiptToken, Response

ADMIN = definitions.latest_instruments()["admin-procedure"]
RATED = [item.code for item in ADMIN.items if item.type == "scale5"]
HEADER = "form_id,unit,service,answered_on,respondent_type," + ",".join(RATED) + ",comment\n"


def form(
    form_id: str,
    answered_on: str = "2026-10-02",
    respondent_type: str = "citizen",
    overall: str = "4",
    comment: str = "",
) -> str:
    """One keyed-in admin-procedure form: every rating 4 except ``overall``."""
    ratings = [overall if code == "overall" else "4" for code in RATED]
    return ",".join([form_id, "sl-ttpvhcc", "land", answered_on, respondent_type, *ratings, comment]) + "\n"


def write(tmp_path, text, name="paper.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def responses(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Response))


def test_paper_forms_are_imported_once(runner, db, registry, tmp_path):
    text = HEADER + form("A-001") + form("A-002", "2026-10-03", "business", "2", "Phải đi lại nhiều lần")
    path = write(tmp_path, text)
    result = runner.invoke(args=["import", "responses", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 2 paper forms" in result.output
    stored = db.session.scalars(select(Response).order_by(Response.id)).all()
    assert [r.channel for r in stored] == ["paper", "paper"]
    assert stored[1].respondent_type == "business" and stored[1].period == "2026-Q4"
    again = runner.invoke(args=["import", "responses", str(path)])
    assert again.exit_code == 0 and "Imported 0 paper forms (2 already" in again.output
    assert responses(db) == 2


def test_a_file_with_one_bad_row_is_refused_whole(runner, db, registry, tmp_path):
    text = HEADER + form("A-001") + form("A-002", overall="9") + form("A-003", answered_on="03/10/2026") + form("A-001")
    result = runner.invoke(args=["import", "responses", str(write(tmp_path, text))])
    assert result.exit_code == 1
    assert "line 3, column overall" in result.output
    assert "line 4, column answered_on" in result.output
    assert "line 5, column form_id" in result.output
    assert responses(db) == 0


def test_missing_required_answer_is_reported(runner, db, registry, tmp_path):
    result = runner.invoke(args=["import", "responses", str(write(tmp_path, HEADER + form("A-9", overall="")))])
    assert result.exit_code == 1 and "line 2, column overall" in result.output
    assert responses(db) == 0


def test_devices_create_prints_a_kiosk_url_and_stores_only_a_hash(runner, db, registry):
    result = runner.invoke(args=["devices", "create", "--unit", "sl-ttpvhcc", "--counter", "Quầy 9"])
    assert result.exit_code == 0, result.output
    url = next(line for line in result.output.splitlines() if "/kiosk/" in line)
    key = url.rsplit("/", 1)[1]
    device = db.session.scalars(select(Device)).one()
    assert key not in device.key_hash and len(device.key_hash) == 64
    revoked = runner.invoke(args=["devices", "revoke", str(device.id)])
    assert revoked.exit_code == 0
    listing = runner.invoke(args=["devices", "list", "--unit", "sl-ttpvhcc"])
    assert "revoked" in listing.output


def _import_land_counts(db, count: int = 10) -> None:
    """Codes are issued only up to the imported dossier counts (webapp.services.receipts)."""
    add_dossier_counts("sl-ttpvhcc", "land", count)


def test_tokens_issue_is_stable_per_case_and_never_stores_the_case(runner, db, registry, tmp_path):
    _import_land_counts(db)
    args = [
        "tokens",
        "issue",
        "--unit",
        "sl-ttpvhcc",
        "--service",
        "land",
        "--case",
        "H57-2026-000123",
        "-o",
        str(tmp_path / "qr.svg"),
    ]
    first = runner.invoke(args=args)
    second = runner.invoke(args=args[:-2])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[0] == second.output.splitlines()[0]
    assert (tmp_path / "qr.svg").read_text().startswith("<svg")
    row = db.session.scalars(select(ReceiptToken)).one()
    assert "H57" not in row.case_digest and "000123" not in row.case_digest
    png = runner.invoke(args=args[:-1] + [str(tmp_path / "qr.png")])
    assert png.exit_code == 0 and (tmp_path / "qr.png").read_bytes()[:4] == b"\x89PNG"


def test_tokens_issue_refuses_a_service_the_unit_does_not_offer(runner, db, registry):
    result = runner.invoke(args=["tokens", "issue", "--unit", "sl-ttpvhcc", "--service", "outpatient", "--case", "1"])
    assert result.exit_code == 1 and "does not offer" in result.output


def test_token_check_tells_mistyped_from_unknown(app, db, registry):
    from surveys.tokens import TokenState, check_token, issue_token
    from webapp.models import Service, Unit

    unit = db.session.scalar(select(Unit).where(Unit.code == "sl-ttpvhcc"))
    service = db.session.scalar(select(Service).where(Service.code == "land"))
    token, _ = issue_token(unit, service, "C-1")
    db.session.commit()
    assert check_token(token).state is TokenState.VALID
    assert check_token(token.lower()).state is TokenState.VALID
    assert check_token("-".join(token[i : i + 4] for i in range(0, 16, 4))).state is TokenState.VALID
    swapped = token[:3] + token[4] + token[3] + token[5:]
    assert check_token(swapped).state is TokenState.MISTYPED
    assert check_token("short").state is TokenState.MISTYPED
    from surveys.tokens import ALPHABET, _check_character

    body = "0" * 15
    assert check_token(body + _check_character(body)).state is TokenState.UNKNOWN
    assert ALPHABET.index(token[0]) >= 0


def test_pii_mask_command_masks_standard_input(runner):
    result = runner.invoke(args=["pii", "mask"], input="Gọi chị Lò Thị Mai số 0912 345 678 ở xã Chiềng An.")
    assert result.exit_code == 0
    assert "0912" not in result.output and "Mai" not in result.output
    assert "Chiềng An" in result.output
