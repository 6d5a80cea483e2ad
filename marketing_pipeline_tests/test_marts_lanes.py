"""The lanes that run the model's builders side by side: order, concurrency, failures and gates."""

import threading

import pytest

from marketing_pipeline.marts import lanes

# the shape of the model: customers first, then orders and email events side by side, then the rest
READS = {
    "core_orders": ["core_customers"],
    "core_email_events": ["core_customers"],
    "attribution": ["core_orders", "core_email_events"],
    "rfm": ["core_orders"],
    "email_daily": ["core_email_events", "attribution", "raw"],
}
NAMES = ["core_customers", "core_orders", "core_email_events", "attribution", "rfm", "email_daily"]


def _recorder():
    started, lock = [], threading.Lock()

    def build(name):
        with lock:
            started.append(name)
        return name.upper()

    return started, build


def test_each_builder_starts_after_everything_it_reads_has_finished():
    started, build = _recorder()
    finished = []
    for outcome in lanes.run(NAMES, READS, build, lanes=2):
        assert outcome.error is None and outcome.skipped_because is None
        assert outcome.value == outcome.name.upper()
        finished.append(outcome.name)
    assert sorted(finished) == sorted(NAMES)
    for name, reads in READS.items():
        for read in reads:
            if read in NAMES:
                assert started.index(read) < started.index(name)
                assert finished.index(read) < finished.index(name)


def test_independent_builders_run_at_the_same_time():
    both = threading.Barrier(2, timeout=30)  # would time out if they ran one after another

    def build(name):
        if name in ("core_orders", "core_email_events"):
            both.wait()
        return name

    assert {o.name for o in lanes.run(NAMES, READS, build, lanes=2) if o.error is None} == set(NAMES)


def test_one_lane_runs_one_builder_at_a_time():
    running, peak, lock = [0], [0], threading.Lock()

    def build(name):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        with lock:
            running[0] -= 1

    list(lanes.run(NAMES, READS, build, lanes=1))
    assert peak[0] == 1


def test_a_failed_builder_skips_only_what_reads_it():
    def build(name):
        if name == "core_email_events":
            raise RuntimeError("boom")
        return name

    outcomes = {o.name: o for o in lanes.run(NAMES, READS, build, lanes=2)}
    assert isinstance(outcomes["core_email_events"].error, RuntimeError)
    assert outcomes["attribution"].skipped_because == "core_email_events failed (RuntimeError)"
    # email_daily reads the failed builder and one skipped because of it: skipped, naming the cause
    assert outcomes["email_daily"].skipped_because == "core_email_events failed (RuntimeError)"
    assert outcomes["core_orders"].value == "core_orders" and outcomes["rfm"].value == "rfm"


def test_a_held_builder_keeps_its_readers_from_starting():
    started, build = _recorder()
    outcomes = {
        o.name: o
        for o in lanes.run(NAMES, READS, build, lanes=2, holds=lambda name, _: name == "core_orders")
    }
    assert outcomes["core_orders"].value == "CORE_ORDERS"  # it was built, only its readers wait
    assert outcomes["rfm"].skipped_because == "core_orders was held back by a blocking check"
    assert outcomes["attribution"].skipped_because == "core_orders was held back by a blocking check"
    assert "rfm" not in started and "attribution" not in started
    assert outcomes["core_email_events"].value == "CORE_EMAIL_EVENTS"


def test_a_selection_ignores_what_it_does_not_build():
    started, build = _recorder()
    assert [o.name for o in lanes.run(["rfm"], READS, build, lanes=2)] == ["rfm"]
    assert started == ["rfm"]


def test_builders_that_read_each_other_are_refused():
    with pytest.raises(ValueError, match="read each other"):
        list(lanes.run(["a", "b"], {"a": ["b"], "b": ["a"]}, lambda n: n, lanes=2))


def test_the_builder_with_the_longest_chain_below_starts_first():
    started, build = _recorder()
    # "slow" heads a chain of three; "light" and "last" have nobody waiting on them
    reads = {"middle": ["slow"], "end": ["middle"], "last": ["slow"]}
    list(lanes.run(["light", "slow", "middle", "last", "end"], reads, build, lanes=1))
    # then equals in the order given: "light" before "last" before "end" (each with no reader)
    assert started == ["slow", "middle", "light", "last", "end"]


def test_a_builders_readers_are_running_before_its_outcome_is_handed_back():
    orders_started = threading.Event()

    def build(name):
        if name == "core_orders":
            orders_started.set()
        return name

    for outcome in lanes.run(NAMES, READS, build, lanes=2):
        if outcome.name == "core_customers":
            # the caller may take its time over an outcome (Dagster stores its events): the next
            # builder is already submitted, so it starts meanwhile
            assert orders_started.wait(timeout=30)
