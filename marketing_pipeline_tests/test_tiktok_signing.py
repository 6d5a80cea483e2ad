"""TikTok Shop signatures match the spec's recipe (vectors computed independently with openssl)."""

from datetime import UTC

import httpx
import pytest

from marketing_pipeline.http import AuthError
from marketing_pipeline.sources.tiktok_shop.client import TikTokShopClient
from marketing_pipeline.sources.tiktok_shop.signing import sign_request, sign_webhook, verify_webhook

# printf '%s' 's3cr3t/order/202309/orders/searchapp_keyabcpage_size10shop_cipherXtimestamp1700000000{"a":1}s3cr3t' \
#   | openssl dgst -sha256 -hmac s3cr3t
REQUEST_VECTOR = "a4801bf8aa0af12160e157ce217a327f72be89e38db3328e06769f2f2d68f00b"
# printf '%s' 'abc{"type":1,"data":{"order_id":"1"}}' | openssl dgst -sha256 -hmac s3cr3t
WEBHOOK_VECTOR = "c41eae05035a798d6c4e9aa5d322a733c14c4848a36836b2fc2edac25b3ec035"


def test_request_signature_matches_known_vector():
    params = {
        "timestamp": "1700000000",
        "shop_cipher": "X",
        "app_key": "abc",
        "page_size": "10",
        "sign": "ignored",
        "access_token": "ignored",
    }
    assert sign_request("s3cr3t", "/order/202309/orders/search", params, b'{"a":1}') == REQUEST_VECTOR


def test_multipart_body_is_not_signed():
    params = {"app_key": "abc", "timestamp": "1"}
    with_body = sign_request("k", "/p", params, b"BODY", content_type="multipart/form-data; boundary=x")
    assert with_body == sign_request("k", "/p", params, b"")


def test_webhook_signature_matches_known_vector():
    body = b'{"type":1,"data":{"order_id":"1"}}'
    assert sign_webhook("abc", "s3cr3t", body) == WEBHOOK_VECTOR
    assert verify_webhook("abc", "s3cr3t", body, WEBHOOK_VECTOR)
    assert not verify_webhook("abc", "s3cr3t", body + b" ", WEBHOOK_VECTOR)
    assert not verify_webhook("abc", "s3cr3t", body, None)


def test_client_signs_what_it_sends():
    """The signature covers the exact path, query and body bytes that go over the wire."""
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen["ok"] = params["sign"] == sign_request("sec", request.url.path, params, request.content)
        seen["token"] = request.headers["x-tts-access-token"]
        return httpx.Response(200, json={"code": 0, "message": "Success", "data": {"orders": []}})

    client = TikTokShopClient(
        "https://tts.test", "key", "sec", "tok", "CIPHER", transport=httpx.MockTransport(handler)
    )
    from datetime import datetime

    pages = list(client.search_orders(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)))
    assert pages == [[]]
    assert seen == {"ok": True, "token": "tok"}


@pytest.mark.parametrize(
    "change, code",
    [({"app_secret": "wrong"}, 106001), ({"access_token": "wrong"}, 105001), ({"app_key": "wrong"}, 106001)],
)
def test_emulator_rejects_bad_credentials_with_tiktok_codes(sandbox, change, code):
    _, url = sandbox
    creds = {
        "app_key": "sandbox-app-key",
        "app_secret": "sandbox-app-secret",
        "access_token": "sandbox-access-token",
    }
    creds.update(change)
    client = TikTokShopClient(url + "/tiktok-shop", **creds)
    with pytest.raises(AuthError) as err:
        client.shop_cipher()
    assert err.value.code == code
    assert "Invalid" in err.value.message
    assert client.stats.calls == 1  # credentials are never retried
