"""Vendor OpenAPI documents from the shared specs as JSON Schema, for the conformance tests."""

import json
from functools import lru_cache

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from marketing_pipeline_tests.conftest import SPECS

KLAVIYO_SPEC = SPECS / "klaviyo" / "openapi-stable.json"
_KLAVIYO_URI = "urn:klaviyo-openapi"


def openapi_nullable(node):
    """OpenAPI 3.0 ``nullable: true`` -> JSON Schema ``anyOf [schema, null]``."""
    if isinstance(node, list):
        return [openapi_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: openapi_nullable(v) for k, v in node.items()}
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@lru_cache(maxsize=1)
def _klaviyo_registry() -> Registry:
    if not KLAVIYO_SPEC.exists():
        pytest.skip(f"Klaviyo spec not found at {KLAVIYO_SPEC} (the shared specs folder is absent)")
    document = openapi_nullable(json.loads(KLAVIYO_SPEC.read_text()))
    return Registry().with_resource(_KLAVIYO_URI, Resource.opaque(document))


def validate_klaviyo(instance, schema: str) -> None:
    """``instance`` against a ``components`` schema of the Klaviyo document (by name, or a ``#`` path)."""
    ref = schema if schema.startswith("#") else f"#/components/schemas/{schema}"
    Draft202012Validator({"$ref": _KLAVIYO_URI + ref}, registry=_klaviyo_registry()).validate(instance)
