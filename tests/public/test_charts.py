"""The SVG charts: valid XML, named for assistive technology, robust to odd data."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from public.charts import (
    BOTTOM,
    HEIGHT,
    TOP,
    ChartText,
    FunnelPoint,
    TrendPoint,
    clamp,
    funnel_svg,
    trend_svg,
)

NS = "{http://www.w3.org/2000/svg}"
TEXT = ChartText(
    title="Rate <by> period & more",
    desc='Desc with "quotes"',
    x_label="Period",
    y_label="Satisfied (%)",
    target_label="Target 90%",
    reference_label="Province 88%",
    empty="No data",
)


def parse(markup) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
    return root


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def y_values(root: ET.Element) -> list[float]:
    values = []
    for element in root.iter():
        for attribute in ("y1", "y2", "cy"):
            if element.get(attribute) is not None:
                values.append(float(element.get(attribute)))
        if element.tag in (f"{NS}polygon", f"{NS}polyline"):
            values += [float(pair.split(",")[1]) for pair in element.get("points").split()]
    return values


POINTS = [
    TrendPoint("2025-Q1", 0.85, 0.80, 0.89),
    TrendPoint("2025-Q2", None),
    TrendPoint("2025-Q3", 0.91, 0.87, 0.94),
    TrendPoint("2025-Q4", 0.93, 0.90, 0.96),
]


def test_trend_has_title_desc_band_target_line_and_points():
    root = parse(trend_svg(POINTS, TEXT, ident="t1", target=0.9))
    assert root.find(f"{NS}title").text == TEXT.title  # escaped on the way out, intact on the way in
    assert len(by_class(root, "band")) == 2, "one band per run of periods with an interval"
    assert len(by_class(root, "target")) == 1
    assert len(by_class(root, "point")) == 3
    assert by_class(root, "line")
    labels = [t.text for t in root.iter(f"{NS}text")]
    assert "Period" in labels and "Satisfied (%)" in labels and "Target 90%" in labels


def test_trend_of_empty_data_says_so():
    root = parse(trend_svg([], TEXT, ident="t2", target=0.9))
    assert "No data" in [t.text for t in root.iter(f"{NS}text")]
    assert not by_class(root, "band") and not by_class(root, "point")
    root = parse(trend_svg([TrendPoint("2025-Q1", None)], TEXT, ident="t3"))
    assert not by_class(root, "point")


def test_trend_of_a_single_point_draws_a_point_and_a_band():
    root = parse(trend_svg([TrendPoint("2025-Q1", 0.9, 0.85, 0.95)], TEXT, ident="t4", target=0.8))
    assert len(by_class(root, "point")) == 1
    assert len(by_class(root, "band")) == 1
    assert not by_class(root, "line")


def test_values_outside_0_to_100_percent_are_clamped_into_the_plot():
    wild = [TrendPoint("a", 1.4, 1.2, 1.6), TrendPoint("b", -0.3, -0.5, 0.1), TrendPoint("c", math.nan)]
    root = parse(trend_svg(wild, TEXT, ident="t5", target=1.5))
    values = y_values(root)
    assert values
    for value in values:
        assert TOP - 0.01 <= value <= HEIGHT - BOTTOM + 0.01, value
    assert clamp(1.7) == 1.0 and clamp(-2) == 0.0 and clamp(None) is None and clamp(math.nan) is None


def test_funnel_has_limits_reference_and_shapes_for_units_outside():
    points = [
        FunnelPoint("a", 40, 0.70, 0.78, 0.97, 0.74, 0.99, "below 99.8%"),
        FunnelPoint("b", 120, 0.90, 0.83, 0.94, 0.80, 0.96, "within"),
        FunnelPoint("c", 300, 0.97, 0.85, 0.92, 0.83, 0.93, "above 99.8%"),
    ]
    root = parse(funnel_svg(points, TEXT, ident="f1", reference=0.88))
    assert len(by_class(root, "reference")) == 1
    assert len(by_class(root, "limit")) == 4
    assert len(by_class(root, "point-below")) == 1 and len(by_class(root, "point-above")) == 1
    assert len(by_class(root, "point")) == 3
    values = y_values(root)
    assert values
    for value in values:
        assert TOP - 0.01 <= value <= HEIGHT - BOTTOM + 0.01


@pytest.mark.parametrize("points", [[], [FunnelPoint("a", 0, 0.9)]])
def test_funnel_of_no_usable_data_says_so(points):
    root = parse(funnel_svg(points, TEXT, ident="f2", reference=0.9))
    assert "No data" in [t.text for t in root.iter(f"{NS}text")]


def test_funnel_of_one_unit_has_its_point():
    root = parse(
        funnel_svg([FunnelPoint("a", 50, 1.2, 0.8, 0.97, 0.75, 0.99, "above 95%")], TEXT, ident="f3", reference=0.9)
    )
    assert len(by_class(root, "point")) == 1
    assert not by_class(root, "limit"), "a limit line needs two units"


def test_ids_are_prefixed_so_two_charts_can_share_a_page():
    first, second = parse(trend_svg(POINTS, TEXT, ident="one")), parse(trend_svg(POINTS, TEXT, ident="two"))
    assert first.find(f"{NS}title").get("id") != second.find(f"{NS}title").get("id")


def test_target_follows_the_milestone_of_each_period():
    points = [TrendPoint("2024-Q4", 0.85, 0.8, 0.9, target=0.8), TrendPoint("2025-Q1", 0.92, 0.9, 0.95, target=0.9)]
    root = parse(trend_svg(points, TEXT, ident="t6", target=0.9))
    (target,) = by_class(root, "target")
    heights = {pair.split(",")[1] for pair in target.get("points").split()}
    assert len(heights) == 2, "a step from 80% to 90%"


def test_sparkline_is_small_labelled_and_breaks_at_gaps():
    from public.charts import ChartText, TrendPoint, sparkline_svg

    points = [
        TrendPoint("a", 0.8),
        TrendPoint("b", 0.9),
        TrendPoint("c", None),
        TrendPoint("d", 1.2),
        TrendPoint("e", 0.7),
    ]
    svg = str(sparkline_svg(points, ChartText("T <1>", "D & E", "", ""), ident="s1", target=0.8))
    assert svg.startswith("<svg") and 'aria-labelledby="s1-title s1-desc"' in svg
    assert "T &lt;1&gt;" in svg and "D &amp; E" in svg
    assert svg.count("<polyline") == 2, "one line before the gap, one after"
    assert 'class="target"' in svg and len(svg) < 1500
    assert sparkline_svg([TrendPoint("a", None)], ChartText("t", "d", "", "")).count("<polyline") == 0
