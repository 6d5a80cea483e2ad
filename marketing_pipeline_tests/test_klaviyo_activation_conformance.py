"""Klaviyo write endpoints: the sandbox's behaviour, and requests/responses against the official schemas.

Requests are the ones the activation syncs really sent over HTTP (kept by the emulator); responses
come from the emulator over HTTP. Both are validated against ``components`` of the Klaviyo
OpenAPI document in the shared specs (loaded once per session; skipped when the folder is absent).
"""

import copy

import httpx
import pytest

from marketing_pipeline.consent import suppress
from marketing_pipeline.sources.klaviyo.client import JSONAPI, REVISION
from marketing_pipeline_tests.klaviyo_activation_support import (
    API_KEY,
    consent,
    materialize,
    tiktok_order,
    website_order,
)
from marketing_pipeline_tests.spec_support import validate_klaviyo

REQUEST_SCHEMAS = {  # (emulator route name, method) -> request body schema
    ("bulk_import_profiles", "POST"): "ProfileImportJobCreateQuery",
    ("create_event", "POST"): "EventCreateQueryV2",  # a refused bulk job's events, one by one
    ("bulk_create_events", "POST"): "EventsBulkCreateJob",
    ("create_list", "POST"): "ListCreateQuery",
    ("list_relationships", "POST"): "ListMembersAddQuery",
    ("list_relationships", "DELETE"): "ListMembersDeleteQuery",
    ("bulk_subscribe_profiles", "POST"): "SubscriptionCreateJobCreateQuery",
}
CLIENT_ERROR = "#/components/responses/ClientError/content/application~1vnd.api+json/schema"


@pytest.fixture
def klaviyo(sandbox, warehouse_url):
    box, url = sandbox
    writes = box.emulators["klaviyo"].writes
    writes.reset()
    yield writes, url
    writes.reset()  # the sandbox is shared: leave no lists or profiles behind for other tests


@pytest.fixture
def api(klaviyo, sandbox, monkeypatch):
    """A raw httpx client (no pacing) on the write endpoints; the sandbox's rate limits are lifted meanwhile."""
    writes, url = klaviyo
    emulator = sandbox[0].emulators["klaviyo"]
    monkeypatch.setattr(emulator, "limits", {tier: ((10**6, 1),) for tier in emulator.limits})
    headers = {
        "Authorization": f"Klaviyo-API-Key {API_KEY}",
        "revision": REVISION,
        "Accept": JSONAPI,
        "Content-Type": JSONAPI,
    }
    with httpx.Client(base_url=url + "/klaviyo", headers=headers, timeout=10) as client:
        yield writes, client


def profiles_doc(*emails: str) -> dict:
    return {
        "data": {
            "type": "profile-bulk-import-job",
            "attributes": {
                "profiles": {"data": [{"type": "profile", "attributes": {"email": e}} for e in emails]}
            },
        }
    }


def test_requests_the_syncs_send_match_the_spec(klaviyo, conn):
    writes, url = klaviyo
    tiktok_order(conn, "T1", "vip@example.com", "400.00", lines=2)
    tiktok_order(conn, "T2", "bad@example", "20.00")
    tiktok_order(conn, "T3", "bad@example.c0m", "20.00")  # its bulk event job is refused: then one by one
    website_order(conn, "W1", "mia@example.com", "30.00")
    consent(conn, "mia@example.com", True)
    assert materialize(url).success
    suppress(conn, "mia@example.com", "klaviyo", "unsubscribed")  # New Subscribers loses a member: a DELETE
    assert materialize(url).success
    seen = set()
    for method, name, body in writes.requests:
        schema = REQUEST_SCHEMAS.get((name, method))
        assert schema, f"unexpected request {method} {name}"
        validate_klaviyo(body, schema)
        seen.add((name, method))
    assert seen == set(REQUEST_SCHEMAS)


def test_write_responses_match_the_spec(api):
    writes, client = api
    created = client.post("/api/profile-bulk-import-jobs", json=profiles_doc("a@example.com", "not-an-email"))
    assert created.status_code == 202
    validate_klaviyo(created.json(), "PostProfileImportJobResponse")
    job = created.json()["data"]["id"]
    statuses = []
    for _ in range(3):
        r = client.get(f"/api/profile-bulk-import-jobs/{job}")
        validate_klaviyo(r.json(), "GetProfileImportJobResponseCompoundDocument")
        statuses.append(r.json()["data"]["attributes"]["status"])
    assert statuses == ["processing", "complete", "complete"]  # after "queued" at creation
    errors = client.get(f"/api/profile-bulk-import-jobs/{job}/import-errors").json()
    validate_klaviyo(errors, "GetImportErrorResponseCollection")
    assert [e["attributes"]["original_payload"]["attributes"]["email"] for e in errors["data"]] == [
        "not-an-email"
    ]
    profiles = client.get(f"/api/profile-bulk-import-jobs/{job}/profiles").json()
    validate_klaviyo(profiles, "GetProfileResponseCollection")
    pid = profiles["data"][0]["id"]

    made = client.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "VIP"}}})
    assert made.status_code == 201
    validate_klaviyo(made.json(), "PostListCreateResponse")
    list_id = made.json()["data"]["id"]
    member = {"data": [{"type": "profile", "id": pid}]}
    assert client.post(f"/api/lists/{list_id}/relationships/profiles", json=member).status_code == 204
    listed = client.get(f"/api/lists/{list_id}/relationships/profiles").json()
    validate_klaviyo(listed, "GetListProfilesRelationshipsResponseCollection")
    assert listed["data"] == [{"type": "profile", "id": pid}]
    lists = client.get("/api/lists", params={"filter": "equals(name,'VIP')"}).json()
    validate_klaviyo(lists, "GetListListResponseCollectionCompoundDocument")
    assert [i["id"] for i in lists["data"]] == [list_id]

    too_many = client.post(
        f"/api/lists/{list_id}/relationships/profiles", json={"data": [{"type": "profile", "id": pid}] * 1001}
    )
    assert too_many.status_code == 400
    validate_klaviyo(too_many.json(), CLIENT_ERROR)
    unauthorised = client.post("/api/events", json={}, headers={"Authorization": "Klaviyo-API-Key wrong"})
    assert unauthorised.status_code == 401
    validate_klaviyo(unauthorised.json(), CLIENT_ERROR)


def test_import_job_limits_are_enforced(api):
    writes, client = api
    over = client.post(
        "/api/profile-bulk-import-jobs", json=profiles_doc(*(f"p{i}@example.com" for i in range(10_001)))
    )
    assert over.status_code == 400 and "10000" in over.json()["errors"][0]["detail"]
    big = profiles_doc("big@example.com")
    big["data"]["attributes"]["profiles"]["data"][0]["attributes"]["properties"] = {"notes": "x" * 110_000}
    job = client.post("/api/profile-bulk-import-jobs", json=big).json()["data"]["id"]
    client.get(f"/api/profile-bulk-import-jobs/{job}")
    done = client.get(f"/api/profile-bulk-import-jobs/{job}").json()["data"]["attributes"]
    assert (done["status"], done["failed_count"], done["completed_count"]) == ("complete", 1, 0)
    assert (
        "100KB"
        in client.get(f"/api/profile-bulk-import-jobs/{job}/import-errors").json()["data"][0]["attributes"][
            "detail"
        ]
    )


def event(email: str, metric: str, unique_id: str) -> dict:
    return {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {},
                "unique_id": unique_id,
                "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
            },
        }
    }


def test_events_are_deduplicated_per_profile_metric_and_unique_id(api):
    writes, client = api
    for body in (
        event("a@example.com", "Placed Order", "1"),
        event("a@example.com", "Placed Order", "1"),
        event("a@example.com", "Ordered Product", "1"),
        event("b@example.com", "Placed Order", "1"),
    ):
        r = client.post("/api/events", json=body)
        assert r.status_code == 202 and not r.content
    assert len(writes.events) == 3 and writes.duplicate_events == 1


def test_subscribe_keeps_hard_bounces_suppressed_and_lifts_unsubscribes_as_klaviyo_does(api):
    writes, client = api
    writes.suppress("bounced@example.com", "HARD_BOUNCE")
    writes.suppress("unsub@example.com", "UNSUBSCRIBE")
    body = {
        "data": {
            "type": "profile-subscription-bulk-create-job",
            "attributes": {
                "profiles": {
                    "data": [
                        {
                            "type": "profile",
                            "attributes": {
                                "email": e,
                                "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}},
                            },
                        }
                        for e in ("bounced@example.com", "unsub@example.com", "new@example.com")
                    ]
                }
            },
        }
    }
    validate_klaviyo(body, "SubscriptionCreateJobCreateQuery")
    assert client.post("/api/profile-subscription-bulk-create-jobs", json=body).status_code == 202
    assert writes.ignored_subscriptions == ["bounced@example.com"]
    assert writes.resubscribed == ["unsub@example.com"]  # why the pipeline must never ask for one
    assert set(writes.subscribed) == {"unsub@example.com", "new@example.com"}
    bad = copy.deepcopy(body)
    bad["data"]["attributes"]["profiles"]["data"][0]["attributes"]["subscriptions"]["email"]["marketing"][
        "consented_at"
    ] = "2026-01-01T00:00:00+00:00"  # only allowed with historical_import
    assert client.post("/api/profile-subscription-bulk-create-jobs", json=bad).status_code == 400
