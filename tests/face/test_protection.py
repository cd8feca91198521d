"""Template protection: distance-preserving secret transform and sealed storage."""

import base64
import json

import numpy as np
import pytest

from custom_components.facegate.face.protection import (
    ENCODING_DIM,
    TemplateError,
    TemplateProtector,
    check_encoding,
)

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))


def encodings(count: int, seed: int = 0) -> np.ndarray:
    """Random vectors shaped and scaled like dlib encodings (components about +-0.1)."""
    return np.random.default_rng(seed).normal(0.0, 0.12, size=(count, ENCODING_DIM))


def test_distances_are_preserved() -> None:
    protector = TemplateProtector(SECRET)
    raw = encodings(40)
    protected = np.stack([protector.protect(x) for x in raw])
    raw_d = np.linalg.norm(raw[:, None] - raw[None], axis=2)
    protected_d = np.linalg.norm(protected[:, None] - protected[None], axis=2)
    assert np.max(np.abs(raw_d - protected_d)) < 1e-9
    # Norms too, and so distances to any other protected vector.
    assert np.allclose(np.linalg.norm(raw, axis=1), np.linalg.norm(protected, axis=1), atol=1e-12)


def test_transform_is_orthogonal_and_deterministic() -> None:
    first = TemplateProtector(SECRET)
    second = TemplateProtector(SECRET)
    basis = np.stack([first.protect(e) for e in np.eye(ENCODING_DIM)], axis=1)
    assert np.allclose(basis.T @ basis, np.eye(ENCODING_DIM), atol=1e-12)
    x = encodings(1)[0]
    assert np.array_equal(first.protect(x), second.protect(x))


def test_transform_is_pinned() -> None:
    # Stored templates depend on this derivation: a change would lock every resident out.
    protector = TemplateProtector(SECRET)
    e0 = np.zeros(ENCODING_DIM)
    e0[0] = 1.0
    expected = [
        -0.22196678615259047,
        0.27248581229580715,
        0.0525451207271506,
        -0.020348450316683656,
    ]
    assert np.allclose(protector.protect(e0)[:4], expected, atol=1e-9)


def test_different_secrets_give_different_transforms() -> None:
    mine = TemplateProtector(SECRET)
    theirs = TemplateProtector(OTHER_SECRET)
    raw = encodings(20, seed=3)
    for x in raw:
        assert not np.allclose(mine.protect(x), theirs.protect(x), atol=0.05)
    # A template stolen from one installation is no match for the same face on another: the
    # distance is about that of two unrelated faces (|x| * sqrt(2)), far beyond any threshold.
    cross = [np.linalg.norm(mine.protect(x) - theirs.protect(x)) for x in raw]
    assert min(cross) > 0.8


def test_raw_encoding_appears_nowhere() -> None:
    protector = TemplateProtector(SECRET)
    raw = encodings(3, seed=5)
    protected = [protector.protect(x) for x in raw]
    blob = protector.seal({"resident-1": protected})
    for x, p in zip(raw, protected, strict=True):
        raw_bytes = x.astype("<f8").tobytes()
        assert raw_bytes not in p.astype("<f8").tobytes()
        assert raw_bytes not in blob
        for value in x:  # not even one coordinate survives
            assert np.float64(value).tobytes() not in p.tobytes()
    for p in protected:
        assert p.astype("<f8").tobytes() not in blob  # encrypted, not just encoded
        assert base64.b64encode(p.astype("<f8").tobytes()) not in blob


def test_seal_round_trip() -> None:
    protector = TemplateProtector(SECRET)
    templates = {
        "resident-1": [protector.protect(x) for x in encodings(3, seed=1)],
        "resident-2": [protector.protect(x) for x in encodings(1, seed=2)],
        "empty": [],
    }
    blob = protector.seal(templates)
    restored = TemplateProtector(SECRET).unseal(blob)
    assert sorted(restored) == sorted(templates)
    for key, samples in templates.items():
        assert len(restored[key]) == len(samples)
        for a, b in zip(samples, restored[key], strict=True):
            assert np.array_equal(a, b)
            assert b.dtype == np.float64
    assert protector.unseal(protector.seal({})) == {}


def test_each_seal_uses_a_fresh_nonce() -> None:
    protector = TemplateProtector(SECRET)
    templates = {"a": [protector.protect(encodings(1)[0])]}
    assert protector.seal(templates) != protector.seal(templates)


def test_wrong_secret_is_tampered() -> None:
    blob = TemplateProtector(SECRET).seal({"a": [encodings(1)[0]]})
    with pytest.raises(TemplateError) as err:
        TemplateProtector(OTHER_SECRET).unseal(blob)
    assert err.value.reason == "tampered"


@pytest.mark.parametrize("position", [0, 3, 4, 15, 16, 40, -17, -1])
def test_modified_blob_is_tampered(position: int) -> None:
    protector = TemplateProtector(SECRET)
    blob = bytearray(protector.seal({"a": [encodings(1)[0]]}))
    blob[position] ^= 0x01
    with pytest.raises(TemplateError) as err:
        protector.unseal(bytes(blob))
    assert err.value.reason == "tampered"


@pytest.mark.parametrize("cut", [0, 4, 16, 31, -1])
def test_truncated_blob_is_tampered(cut: int) -> None:
    protector = TemplateProtector(SECRET)
    blob = protector.seal({"a": [encodings(1)[0]]})
    with pytest.raises(TemplateError, match="tampered"):
        protector.unseal(blob[:cut])


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        json.dumps({"dim": 64, "templates": {}}).encode(),
        json.dumps({"templates": {}}).encode(),
        json.dumps({"dim": 128, "templates": {"a": ["!!!"]}}).encode(),
        json.dumps({"dim": 128, "templates": {"a": [base64.b64encode(b"1234").decode()]}}).encode(),
        json.dumps({"dim": 128, "templates": []}).encode(),
    ],
)
def test_authentic_but_malformed_payload_is_corrupt(payload: bytes) -> None:
    protector = TemplateProtector(SECRET)
    nonce = b"\0" * 12
    blob = b"FGT1" + nonce + protector._aead.encrypt(nonce, payload, b"FGT1")
    with pytest.raises(TemplateError) as err:
        protector.unseal(blob)
    assert err.value.reason == "corrupt"


@pytest.mark.parametrize("secret", [b"", b"x" * 31, b"x" * 33, "x" * 32])
def test_secret_must_be_32_bytes(secret: object) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TemplateProtector(secret)  # type: ignore[arg-type]


def test_repr_shows_no_key_material() -> None:
    assert repr(TemplateProtector(SECRET)) == "TemplateProtector()"


@pytest.mark.parametrize(
    "bad",
    [np.zeros(127), np.zeros((2, 128)), np.full(128, np.nan), np.full(128, np.inf), "text"],
)
def test_bad_encodings_are_refused(bad: object) -> None:
    protector = TemplateProtector(SECRET)
    with pytest.raises(ValueError):  # noqa: PT011 - shape, finiteness or type
        protector.protect(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # noqa: PT011
        protector.seal({"a": [bad]})  # type: ignore[list-item]


def test_check_encoding_copies() -> None:
    x = encodings(1)[0]
    checked = check_encoding(x)
    checked[0] = 99.0
    assert x[0] != 99.0
