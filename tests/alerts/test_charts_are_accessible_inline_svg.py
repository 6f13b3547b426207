"""Charts are inline SVG drawn on the server: role="img", a <title> and <desc>, escaped labels."""

from alerts.charts import bar_chart, column_chart


def test_column_chart_has_title_description_and_a_bar_per_value():
    svg = column_chart(title="Activations", series=[("11-01", 2), ("11-02", 0), ("11-03", 5)])
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="' in svg
    assert "<title id=" in svg and "<desc id=" in svg and "7 in total" in svg
    assert svg.count('class="bar"') == 3


def test_bar_chart_escapes_labels_and_shows_values():
    svg = bar_chart(title="Top <roles>", series=[("<script>alert(1)</script>", 4), ("Owner", 2)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Top &lt;roles&gt;" in svg
    assert ">4</text>" in svg and ">2</text>" in svg


def test_empty_charts_say_so():
    assert "No data" in bar_chart(title="x", series=[])
    assert "No data in this period" in column_chart(title="x", series=[("11-01", 0)])
