"""SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL uses it: secrets stored as
``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (base64), never the password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

ITERATIONS = 4096


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def make_secret(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
    server_key = _hmac(salted, b"Server Key")
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


@dataclass(frozen=True)
class Secret:
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    @classmethod
    def parse(cls, text: str) -> Secret:
        scheme, params, keys = text.split("$")
        if scheme != "SCRAM-SHA-256":
            raise ValueError(f"not a SCRAM-SHA-256 secret: {scheme}")
        iterations, salt = params.split(":")
        stored, server = keys.split(":")
        d = base64.b64decode
        return cls(int(iterations), d(salt), d(stored), d(server))


class ScramError(Exception):
    pass


def _attributes(message: str) -> dict[str, str]:
    out = {}
    for part in message.split(","):
        if len(part) >= 2 and part[1] == "=":
            out[part[0]] = part[2:]
    return out


class ScramExchange:
    """Server side of one exchange: client-first → server-first → client-final → server-final."""

    def __init__(self, secret: Secret) -> None:
        self.secret = secret
        self.server_nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        self.client_first_bare = ""
        self.server_first = ""
        self.nonce = ""

    def server_first_message(self, client_first: str) -> str:
        # gs2 header: "n,," (no channel binding) or "y,,"; we do not offer channel binding
        if not client_first.startswith(("n,", "y,")):
            raise ScramError("channel binding is not supported")
        self.client_first_bare = client_first.split(",", 2)[2]
        attrs = _attributes(self.client_first_bare)
        if "r" not in attrs:
            raise ScramError("client nonce missing")
        self.nonce = attrs["r"] + self.server_nonce
        salt = base64.b64encode(self.secret.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={self.secret.iterations}"
        return self.server_first

    def server_final_message(self, client_final: str) -> str:
        attrs = _attributes(client_final)
        if attrs.get("r") != self.nonce:
            raise ScramError("nonce mismatch")
        without_proof = client_final.rsplit(",p=", 1)[0]
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        signature = _hmac(self.secret.stored_key, auth_message)
        proof = base64.b64decode(attrs.get("p", ""))
        if len(proof) != len(signature):
            raise ScramError("malformed proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.secret.stored_key):
            raise ScramError("password authentication failed")
        server_signature = _hmac(self.secret.server_key, auth_message)
        return "v=" + base64.b64encode(server_signature).decode()
