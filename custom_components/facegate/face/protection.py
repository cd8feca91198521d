"""Face template protection: a secret orthogonal transform, and encryption at rest.

Two keys are derived from one per-installation secret (32 random bytes kept in the site's
private secrets store), with HKDF-SHA256 and distinct ``info`` labels, so neither reveals the
other:

- the **transform**: a random 128x128 orthogonal matrix Q. ``protect(x) = Q @ x`` keeps every
  euclidean distance (and so every match decision) exactly as it was, up to float rounding, but
  a template taken from one installation is a rotated vector that matches nothing on another
  installation, whose Q differs (its distance to any face there is about that of two unrelated
  random faces). The matrix is built from SHAKE-256 output with our own Box-Muller step, not
  from numpy's random generators, whose streams numpy does not promise to keep across releases:
  a new numpy must never turn every stored template into a stranger.
- the **sealing key**: AES-256-GCM over the serialised templates, with the format tag as
  associated data. A wrong key, a truncated or an altered blob raises TemplateError("tampered").

Limits: Q is a linear, invertible map. Whoever holds the secret, or enough pairs of raw and
protected encodings of the same faces (128 independent ones), can undo it; and distances between
protected templates are the raw ones, so the gallery still shows who resembles whom. The
transform makes a stolen template useless elsewhere; the encryption keeps the templates unreadable
at rest; neither protects against someone who controls the running Home Assistant.
"""

import base64
import binascii
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

type Template = npt.NDArray[np.float64]

ENCODING_DIM = 128  # dlib's face_recognition_model_v1 descriptor
SECRET_BYTES = 32

# HKDF labels: one per derived key. Changing one makes every stored template unusable.
_TRANSFORM_INFO = b"facegate face-template transform v1"
_SEAL_INFO = b"facegate face-template seal v1"
_FORMAT = b"FGT1"  # sealed blob: tag, 12-byte nonce, AES-GCM ciphertext (+16-byte tag)
_NONCE_BYTES = 12
_GCM_TAG_BYTES = 16
_UINT53 = float(1 << 53)


class TemplateError(Exception):
    """Sealed templates that cannot be used: ``reason`` is "tampered" or "corrupt".

    "tampered": the blob does not authenticate (wrong secret, truncated or altered bytes).
    "corrupt": it authenticates but does not hold templates (written by a broken version).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _derive(secret: bytes, info: bytes) -> bytes:
    """A 32-byte key for one purpose, derived from the installation secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def _orthogonal_matrix(seed: bytes) -> npt.NDArray[np.float64]:
    """A Haar-random orthogonal 128x128 matrix, fully determined by ``seed``.

    Gaussian entries (Box-Muller on SHAKE-256 output), then QR; multiplying each column of Q by
    the sign of R's diagonal makes the result unique and uniformly distributed.
    """
    count = ENCODING_DIM * ENCODING_DIM
    stream = hashlib.shake_256(seed).digest(2 * count * 8)
    words = np.frombuffer(stream, dtype="<u8")
    uniform = ((words >> np.uint64(11)).astype(np.float64) + 0.5) / _UINT53  # in (0, 1)
    radius = np.sqrt(-2.0 * np.log(uniform[:count]))
    gaussian = (radius * np.cos(2.0 * math.pi * uniform[count:])).reshape(
        ENCODING_DIM, ENCODING_DIM
    )
    q, r = np.linalg.qr(gaussian)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    matrix: npt.NDArray[np.float64] = np.ascontiguousarray(q * signs)
    return matrix


def check_encoding(encoding: npt.ArrayLike) -> Template:
    """The encoding as a new float64 vector of 128 finite values; ValueError otherwise."""
    vector = np.array(encoding, dtype=np.float64)
    if vector.shape != (ENCODING_DIM,):
        raise ValueError(f"expected a face encoding of shape ({ENCODING_DIM},), got {vector.shape}")
    if not np.all(np.isfinite(vector)):
        raise ValueError("face encoding holds NaN or infinite values")
    return vector


class TemplateProtector:
    """Protects face encodings and seals templates with keys derived from ``secret``.

    ``secret`` is the installation's 32 random bytes. Neither the secret nor the keys appear in
    this object's repr; the secret itself is not kept.
    """

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
            raise ValueError(f"the template secret must be {SECRET_BYTES} bytes")
        self._transform = _orthogonal_matrix(_derive(secret, _TRANSFORM_INFO))
        self._aead = AESGCM(_derive(secret, _SEAL_INFO))

    def __repr__(self) -> str:
        """No key material."""
        return f"{type(self).__name__}()"

    def protect(self, encoding: npt.ArrayLike) -> Template:
        """The protected template of a raw 128-d encoding: same distances, other coordinates."""
        protected: Template = self._transform @ check_encoding(encoding)
        return protected

    def seal(
        self, templates: Mapping[str, Sequence[npt.ArrayLike]], engine: str | None = None
    ) -> bytes:
        """Encrypt ``{key: [template, ...]}`` (templates already protected) for storage.

        ``engine`` (the key of the engine that made them) is sealed with them: authenticated,
        so nobody can relabel one engine's templates as another's.
        """
        payload: dict[str, object] = {
            "dim": ENCODING_DIM,
            "templates": {
                str(key): [
                    base64.b64encode(check_encoding(sample).astype("<f8").tobytes()).decode()
                    for sample in samples
                ]
                for key, samples in templates.items()
            },
        }
        if engine is not None:
            payload["engine"] = engine
        plaintext = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, _FORMAT)

    def unseal(self, blob: bytes) -> dict[str, list[Template]]:
        """The templates of a blob from ``seal``; TemplateError when it does not authenticate."""
        return self.unseal_tagged(blob)[1]

    def unseal_tagged(self, blob: bytes) -> tuple[str | None, dict[str, list[Template]]]:
        """The engine key (None for blobs sealed without one) and the templates of a blob."""
        head = len(_FORMAT) + _NONCE_BYTES
        if len(blob) < head + _GCM_TAG_BYTES or not blob.startswith(_FORMAT):
            raise TemplateError("tampered")
        try:
            plaintext = self._aead.decrypt(blob[len(_FORMAT) : head], blob[head:], _FORMAT)
        except InvalidTag as err:
            raise TemplateError("tampered") from err
        try:
            payload = json.loads(plaintext)
            if payload["dim"] != ENCODING_DIM:
                raise TemplateError("corrupt")
            engine = payload.get("engine")
            if engine is not None and not isinstance(engine, str):
                raise TemplateError("corrupt")
            return engine, {
                str(key): [
                    check_encoding(np.frombuffer(base64.b64decode(text, validate=True), "<f8"))
                    for text in samples
                ]
                for key, samples in payload["templates"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as err:
            raise TemplateError("corrupt") from err
