"""Webhook signatures (X-Hub-Signature-256, whatsapp.signature): over the raw bytes, in constant
time; missing, malformed and wrong signatures told apart."""

from __future__ import annotations

import json

from whatsapp.signature import SignatureCheck, check_signature, sign

SECRET = "s3cret"


def test_valid_signature() -> None:
    raw = b'{"object":"whatsapp_business_account"}'
    assert check_signature(SECRET, raw, sign(SECRET, raw)) is SignatureCheck.VALID
    assert (
        check_signature(SECRET, raw, sign(SECRET, raw).upper().replace("SHA256=", "sha256="))
        is SignatureCheck.VALID
    )


def test_wrong_missing_malformed_signature() -> None:
    raw = b"{}"
    assert check_signature(SECRET, raw, sign("other", raw)) is SignatureCheck.MISMATCH
    assert check_signature(SECRET, raw, None) is SignatureCheck.MISSING
    assert check_signature(SECRET, raw, "") is SignatureCheck.MISSING
    assert check_signature(SECRET, raw, "sha1=abc") is SignatureCheck.MALFORMED
    assert check_signature(SECRET, raw, "sha256=zz") is SignatureCheck.MALFORMED
    assert check_signature(SECRET, raw, "sha256=" + "é" * 64) is SignatureCheck.MISMATCH


def test_signature_is_over_raw_bytes_not_reserialised_json() -> None:
    # Meta sends non-ASCII text escaped; json.dumps of the parsed body gives different bytes.
    raw = b'{"text":{"body":"Jalan rusak di depan rumah \\u00e9 \\ud83d\\ude4f"}}'
    header = sign(SECRET, raw)
    assert check_signature(SECRET, raw, header) is SignatureCheck.VALID
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode("utf-8")
    assert reserialised != raw
    assert check_signature(SECRET, reserialised, header) is SignatureCheck.MISMATCH
