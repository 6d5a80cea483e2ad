"""A JSON:API POST whose 202 carries a document (bulk import jobs answer 202 with the job)."""

from marketing_pipeline.sources.klaviyo.client import JSONAPI


def post_document(client, path: str, body: dict) -> dict | None:
    """``client.jsonapi`` returns None for every 202; this keeps the body when there is one."""
    response = client.request("POST", path, json=body, headers={"Content-Type": JSONAPI})
    return response.json() if response.content else None
