"""Klaviyo events decoded from their JSON text: typed fields, the payload kept as sent, and a bad
record named with the field at fault."""

import json

import pytest

from marketing_pipeline.http import MalformedRecord
from marketing_pipeline.sources.klaviyo.models import parse_event

EVENT = {
    "type": "event",
    "id": "ev1",
    "attributes": {"datetime": "2025-06-01T10:00:00+00:00", "event_properties": {"$value": 12.5}},
    "relationships": {
        "metric": {"data": {"type": "metric", "id": "M1"}},
        "profile": {"data": {"type": "profile", "id": "P1"}},
    },
}


def test_an_event_decodes_with_its_relationships():
    event = parse_event(json.dumps(EVENT).encode())
    assert event.id == "ev1" and event.attributes.datetime.utcoffset().total_seconds() == 0
    assert event.related_id("metric") == "M1" and event.related_id("profile") == "P1"
    assert event.related_id("list") is None
    assert event.attributes.event_properties == {"$value": 12.5}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e["attributes"].update(datetime="yesterday"), "attributes.datetime"),
        (lambda e: e["attributes"].pop("datetime"), "attributes"),
        (lambda e: e.update(type="profile"), "type"),
        (
            lambda e: e["relationships"]["metric"].update(data={"type": "metric", "id": 5}),
            "relationships[...].data.id",
        ),
    ],
)
def test_a_bad_event_is_named_with_its_field_and_kept_whole(change, field):
    bad = json.loads(json.dumps(EVENT))
    change(bad)
    with pytest.raises(MalformedRecord) as caught:
        parse_event(json.dumps(bad).encode())
    assert "Klaviyo event ev1 is malformed" in str(caught.value)
    assert str(caught.value).split("malformed: ")[1].startswith(f"{field}: ")
    assert caught.value.payload == bad
