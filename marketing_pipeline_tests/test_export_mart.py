"""``marketing-pipeline export-mart``: a mart's rows for a date range as CSV, errors with a reason."""

import csv
import io
from datetime import date, timedelta

from marketing_pipeline.cli import main
from marketing_pipeline_tests.marts_fixtures import at, build, tiktok_order, website_order

D = date(2025, 6, 1)


def _seed(conn) -> None:
    for i in range(10):
        day = D + timedelta(days=i)
        website_order(conn, f"W{i}", email=f"w{i % 3}@example.com", created=at(day), total=f"{10 + i}.00")
        tiktok_order(conn, f"T{i}", user=f"u{i}", email=None, phone=None, created=at(day, 9), total="40.00")
    build(conn, D, D + timedelta(days=9))


def test_a_range_of_a_mart_is_written_as_csv(conn, tmp_path, capsys):
    _seed(conn)
    out = tmp_path / "channel.csv"
    code = main(
        ["export-mart", "channel_daily", "--start", "2025-06-03", "--end", "2025-06-05", "--out", str(out)]
    )
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    expected = conn.execute(
        "SELECT day::text, channel, revenue::text FROM marts.channel_daily"
        " WHERE day BETWEEN '2025-06-03' AND '2025-06-05' ORDER BY day, channel"
    ).fetchall()
    assert len(expected) == 6  # two channels a day
    assert sorted((r["day"], r["channel"], r["revenue"]) for r in rows) == expected
    assert "wrote 6 row(s)" in capsys.readouterr().err


def test_standard_output_and_a_mart_dated_by_order_date(conn, capsys, monkeypatch):
    _seed(conn)
    buffer = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(buffer))
    assert main(["export-mart", "attribution", "--start", "2025-06-10", "--end", "2025-06-10"]) == 0
    lines = buffer.getvalue().decode().splitlines()
    assert lines[0].startswith("order_key,") and len(lines) == 3  # header + two orders that day


def test_errors_say_why(conn, capsys):
    assert main(["export-mart", "nope", "--start", "2025-06-01", "--end", "2025-06-02"]) == 2
    err = capsys.readouterr().err
    assert "no mart 'nope'" in err and "channel_daily" in err
    assert main(["export-mart", "channel_daily", "--start", "2025-06-05", "--end", "2025-06-01"]) == 2
    assert "before --start" in capsys.readouterr().err
    assert main(["export-mart", "channel_daily", "--start", "June"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["export-mart", "rfm_segment_map", "--start", "2025-06-01"]) == 2
    assert "no date column" in capsys.readouterr().err
