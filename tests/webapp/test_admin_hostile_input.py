"""Odd values in admin URLs and forms get a 4xx or are ignored, never a 500."""

from __future__ import annotations

import pytest

from tests.webapp.test_admin_pages import post


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users?page=%C2%B2",
        "/admin/audit?page=%C2%B2",
        "/admin/units?page=%C2%B2",
        "/admin/audit?until=9999-12-31",
        "/admin/audit/export.csv?until=9999-12-31",
        "/admin/publishing/2025-Q4/diff?old=%C2%B2&new=1",
        "/admin/publishing/2025-Q4/diff?old=" + "9" * 5000 + "&new=1",
    ],
)
def test_odd_query_values_never_break_a_page(admin_client, path):
    assert admin_client.get(path).status_code < 500


def test_an_impossible_date_is_refused_with_a_message(admin_client):
    answer = post(admin_client, "/admin/units/n03688/edit", {"valid_from": "1/1/99999999999999999999"})
    assert 400 <= answer.status_code < 500
