"""The marts through Dagster: the refresh job, its checks, and a blocking failure that stops
only what depends on the failing asset."""

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.marts_fixtures import (
    at,
    cio_click,
    ga4_traffic,
    logged_statement,
    tiktok_order,
    website_order,
)

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _defs(vendor_env_for):
    vendor_env_for("http://127.0.0.1:9")
    from marketing_pipeline.definitions import defs

    return defs


def _seed(conn, day: date) -> None:
    for k in range(3):
        tiktok_order(
            conn, f"T{k}", user=f"u{k}", email=f"p{k}@example.com", phone=None, created=at(day, 10 + k)
        )
        website_order(
            conn,
            f"W{k}",
            email=f"P{k}@example.com ",
            created=at(day, 15 + k),
            utm=("klaviyo", "email", "news"),
        )
    cio_click(conn, "d1", email="p1@example.com", clicked=at(day, 9))


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _evaluations(result) -> dict:
    """Each check's evaluation in the run, by check name."""
    return {
        ev.event_specific_data.check_name: ev.event_specific_data
        for ev in result.all_events
        if ev.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_refresh_job_builds_everything_and_checks_pass(conn, vendor_env_for):
    defs = _defs(vendor_env_for)
    day = TODAY - timedelta(days=2)
    _seed(conn, day)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("marts_refresh").execute_in_process(
            instance=instance, run_config=QUIET, partition_key=DEFAULT_ID
        )
        assert result.success
        checks = {name: e.passed for name, e in _evaluations(result).items()}
        assert (
            checks["orders_keys_and_lines"]
            and checks["orders_revenue_reconciles"]
            and checks["customers_keys_unique"]
        )
        assert {
            "core_orders",
            "attribution",
            "rfm",
            "cohorts",
            "funnel_daily",
            "channel_daily",
        } <= _materialized(result)
        seg = defs.resolve_job_def("customer_segments_daily").execute_in_process(
            instance=instance, run_config=QUIET, partition_key=brand_day_key(DEFAULT_ID, day)
        )
        assert seg.success
    assert conn.execute("SELECT count(*) FROM core.customers").fetchone()[0] == 3
    assert (
        conn.execute(
            "SELECT count(DISTINCT segment) FROM marts.customer_segments WHERE as_of = %s", (day,)
        ).fetchone()[0]
        >= 1
    )
    assert (
        conn.execute("SELECT sum(orders) FROM marts.channel_daily WHERE day = %s", (day,)).fetchone()[0] == 6
    )


def test_a_failing_blocking_check_stops_only_its_dependents(conn, vendor_env_for):
    defs = _defs(vendor_env_for)
    day = TODAY - timedelta(days=2)
    _seed(conn, day)
    # a line whose order never arrived: core_orders' blocking check must fail
    conn.execute(
        "INSERT INTO raw.tiktok_shop_order_lines (order_id, line_item_id, sku_id, product_id, sale_price,"
        " original_price, seller_discount, platform_discount, payload, partition_date)"
        " VALUES ('GHOST', 'L1', 's', 'p', 1, 1, 0, 0, '{}', %s)",
        (day,),
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("marts_refresh").execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False, partition_key=DEFAULT_ID
        )
    done = _materialized(result)
    assert not result.success
    assert "core_orders" not in done  # audited before it committed: rolled back...
    assert conn.execute("SELECT count(*) FROM core.orders").fetchone()[0] == 0
    evaluations = _evaluations(result)
    assert evaluations["orders_keys_and_lines"].passed is False
    assert evaluations["orders_keys_and_lines"].metadata["orphan_lines"].value == 1
    assert evaluations["orders_keys_and_lines"].metadata["audited"].value == "the whole table"
    # ...so nothing built on core_orders ran, while the independent branches did
    assert not done & {"attribution", "channel_daily", "rfm", "cohorts", "funnel_daily", "email_daily"}
    assert {"core_customers", "core_email_events", "core_sessions", "source_coverage"} <= done


def _brand_today_is(monkeypatch, day: date) -> None:
    from marketing_pipeline import clock

    monkeypatch.setattr(clock, "now", lambda: datetime.combine(day, time(12), UTC))


def test_a_failing_warning_is_reported_beside_its_asset_and_holds_nothing(conn, vendor_env_for, monkeypatch):
    _brand_today_is(monkeypatch, TODAY)
    defs = _defs(vendor_env_for)
    last = TODAY - timedelta(days=1)
    _seed(conn, last)
    for back in range(1, 15):  # two weeks of ordinary traffic, then a day ten times as busy
        ga4_traffic(conn, last - timedelta(days=back), "google", 100 + back % 3 * 10)
    ga4_traffic(conn, last, "google", 1000)
    ga4_traffic(conn, TODAY, "google", 5)  # today so far: not a full day, never the one checked
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("marts_refresh").execute_in_process(
            instance=instance, run_config=QUIET, partition_key=DEFAULT_ID
        )
    assert result.success
    # every check of the model runs in the model's one step, not in a step of its own
    assert {ev.step_key for ev in result.all_events if ev.is_step_event} == {"core_and_marts"}
    warning = _evaluations(result)["sessions_anomaly"]
    assert warning.passed is False and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.metadata["sessions"].value == 1000 and warning.metadata["day"].value == str(last)
    # the anomalous day is committed, and what reads core.sessions was built on it
    assert {"core_sessions", "funnel_daily"} <= _materialized(result)
    assert (
        conn.execute("SELECT sum(sessions) FROM core.sessions WHERE session_date = %s", (last,)).fetchone()[0]
        == 1000
    )


def test_sources_fresh_warns_of_each_sources_missed_days_before_the_brands_today(
    conn, vendor_env_for, monkeypatch
):
    _brand_today_is(monkeypatch, TODAY)
    defs = _defs(vendor_env_for)
    _seed(conn, TODAY - timedelta(days=2))  # TikTok Shop, website and Customer.io rows on one day
    with dg.instance_for_test() as instance:
        for back in range(1, 8):  # TikTok Shop's orders loaded every day of the week before today
            day = TODAY - timedelta(days=back)
            instance.report_runless_asset_event(
                dg.AssetMaterialization("tiktok_shop_orders", partition=brand_day_key(DEFAULT_ID, day))
            )
        result = defs.resolve_job_def("marts_refresh").execute_in_process(
            instance=instance, run_config=QUIET, partition_key=DEFAULT_ID
        )
    assert result.success  # a warning holds nothing
    fresh = _evaluations(result)["sources_fresh"]
    assert fresh.passed is False and fresh.severity == dg.AssetCheckSeverity.WARN
    gaps = fresh.metadata["missing_days"].value
    # LOOKBACK_DAYS (7) before the brand's today: the website and Customer.io have rows on one of
    # them, TikTok Shop loaded them all, Klaviyo none
    assert "tiktok_shop" not in gaps
    assert gaps["website"] == 6 and gaps["customerio"] == 6 and gaps["klaviyo"] == 7


def test_a_refresh_audits_what_it_wrote_and_keeps_the_last_rows_that_passed(conn, vendor_env_for):
    defs = _defs(vendor_env_for)
    day = TODAY - timedelta(days=2)
    _seed(conn, day)

    def refresh(instance):
        result = defs.resolve_job_def("marts_refresh").execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False, partition_key=DEFAULT_ID
        )
        audits = _evaluations(result)
        return result, audits

    with dg.instance_for_test() as instance:
        result, audits = refresh(instance)
        assert (
            result.success and audits["orders_keys_and_lines"].metadata["audited"].value == "the whole table"
        )
        orders = conn.execute("SELECT order_key, net_revenue FROM core.orders ORDER BY 1").fetchall()
        assert len(orders) == 6

        # the next day, loaded as the loader does (its day logged): one good order, and a line whose
        # order never arrived
        later = day + timedelta(days=1)
        tiktok_order(conn, "T9", user="u9", email="p9@example.com", phone=None, created=at(later, 10))
        logged_statement(
            conn,
            "raw.tiktok_shop_order_lines",
            "INSERT INTO raw.tiktok_shop_order_lines (order_id, line_item_id, sku_id, product_id, sale_price,"
            " original_price, seller_discount, platform_discount, payload, partition_date)"
            " VALUES ('GHOST', 'L1', 's', 'p', 1, 1, 0, 0, '{}', %s)",
            (later,),
        )
        for _ in range(2):  # audited again on every run until the day passes
            result, audits = refresh(instance)
            audit = audits["orders_keys_and_lines"]
            assert not result.success and audit.passed is False
            assert audit.metadata["orphan_lines"].value == 1
            assert audit.metadata["audited"].value == "what this refresh wrote"
            # nothing of the failed refresh is committed: readers keep the rows that passed
            assert (
                conn.execute("SELECT order_key, net_revenue FROM core.orders ORDER BY 1").fetchall() == orders
            )

        logged_statement(
            conn,
            "raw.tiktok_shop_order_lines",
            "DELETE FROM raw.tiktok_shop_order_lines WHERE order_id = 'GHOST'",
        )
        result, audits = refresh(instance)
        assert result.success, audits
        assert all(
            audits[g].passed
            for g in ("customers_keys_unique", "orders_keys_and_lines", "orders_revenue_reconciles")
        )
        assert audits["orders_revenue_reconciles"].metadata["audited"].value == "what this refresh wrote"
        assert conn.execute("SELECT count(*) FROM core.orders").fetchone()[0] == 7


def test_schedules_follow_the_daily_ingest(vendor_env_for):
    defs = _defs(vendor_env_for)
    ingest = defs.resolve_schedule_def("daily_ingest_schedule")
    assert ingest.cron_schedule == "15 0 * * *"  # the marts follow on their automation condition
    assert defs.resolve_schedule_def("customer_segments_daily_schedule").job.name == "customer_segments_daily"
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs() if s.group_name == "marts"}
    assert len(specs) == 15  # core_customer_names and customer_predictions included
    monthly = defs.resolve_schedule_def("customer_predictions_monthly_schedule")
    assert monthly.job.name == "customer_predictions_monthly"
    assert all(s.tags.get("layer") == "marts" and "postgres" in s.kinds for s in specs.values())


def _ticks(defs, name: str, times: list[datetime]) -> list:
    """The run requests of a schedule's ticks; each context closed, the instance never entered
    (entering one leaves Dagster's current-instance state to later tests in the process)."""
    schedule = defs.resolve_schedule_def(name)
    instance, out = dg.DagsterInstance.ephemeral(), []
    for t in times:
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=t, repository_def=defs.get_repository_def()
        ) as context:
            out += list(schedule.evaluate_tick(context).run_requests or [])
    return out


def test_each_brand_is_scheduled_on_its_own_clock(three_brands):
    from marketing_pipeline.definitions import defs

    # every hour of 1 March 2026 (UTC) and the evening before
    hours = [datetime(2026, 2, 28, 12, tzinfo=UTC) + timedelta(hours=h) for h in range(36)]
    segments = _ticks(defs, "customer_segments_daily_schedule", hours)
    # 03:00 on each brand's clock, yesterday's snapshot of that brand (one run per brand and day)
    by_brand = {}
    for r in segments:
        by_brand.setdefault(r.partition_key.keys_by_dimension["brand"], []).append(
            r.partition_key.keys_by_dimension["day"]
        )
    assert by_brand == {
        "kumo": ["2026-02-28", "2026-03-01"],  # 03:00 in Sydney (UTC+11) is 16:00 UTC the day before
        "northwind": ["2026-02-28"],  # 03:00 in Berlin is 02:00 UTC on 1 March
        "lumenleaf": ["2026-02-28"],  # 03:00 UTC on 1 March
    }
    # predictions: 04:00 on the 1st of each brand's month, as of the month just ended
    monthly = _ticks(defs, "customer_predictions_monthly_schedule", hours)
    assert sorted(r.partition_key for r in monthly) == ["kumo", "lumenleaf", "northwind"]
    assert len({r.run_key for r in monthly}) == 3


def test_a_failing_builder_fails_the_run_and_stops_only_what_reads_it(conn, vendor_env_for, monkeypatch):
    """...and the builders share one session per lane (marts/sessions.py): those after the failed
    one run on its session, with nothing of it left there."""
    from marketing_pipeline.marts import sqlfiles

    monkeypatch.setenv("MARTS_LANES", "2")
    defs = _defs(vendor_env_for)
    _seed(conn, TODAY - timedelta(days=2))
    build = sqlfiles.build
    sessions: dict[str, int] = {}

    def failing(connection, target):
        sessions[target] = connection.info.backend_pid
        if target == "core_email_events":  # fails inside its transaction, after writing to its session
            connection.execute("CREATE TEMP TABLE left_behind (x int)")
            raise RuntimeError("core_email_events could not be built")
        assert connection.execute("SELECT to_regclass('pg_temp.left_behind')").fetchone()[0] is None
        return build(connection, target)

    monkeypatch.setattr(sqlfiles, "build", failing)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("marts_refresh").execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False, partition_key=DEFAULT_ID
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "core_email_events could not be built" in failure.step_failure_data.error.to_string()
    done = _materialized(result)
    assert not done & {"core_email_events", "attribution", "email_daily"}
    assert {"core_customers", "core_orders", "rfm", "channel_daily", "cohorts"} <= done
    # ten SQL builders ran (coverage has no SQL target; two read the failed one), on two backends
    assert len(sessions) == 10 and len(set(sessions.values())) <= 2
    # what was built committed: core.orders holds the seeded orders
    assert conn.execute("SELECT count(*) FROM core.orders").fetchone()[0] == 6


def test_a_tables_rows_are_counted_when_few_and_estimated_when_many(conn):
    """The rows reported for a built table: exact below EXACT_ROWS_BELOW, the planner's estimate
    (the catalog's count scaled to the table's pages now) above, which follows a table that grew
    since it was last analyzed."""
    from marketing_pipeline.marts.assets import EXACT_ROWS_BELOW, _rows

    conn.execute("CREATE TABLE core.few AS SELECT g FROM generate_series(1, 1234) g")
    conn.execute("ANALYZE core.few")
    conn.execute("DELETE FROM core.few WHERE g > 1000")  # the catalog still says 1,234
    assert _rows(conn, "core.few") == 1000
    many = 2 * EXACT_ROWS_BELOW
    conn.execute("CREATE TABLE core.many AS SELECT g FROM generate_series(1, %s) g", (many,))
    conn.execute("ANALYZE core.many")
    conn.execute("INSERT INTO core.many SELECT g FROM generate_series(1, %s) g", (many // 2,))
    assert abs(_rows(conn, "core.many") - many * 3 // 2) <= many * 3 // 2 // 50  # within 2 %
