"""Who signs the ledger: an Ed25519 key per agent, and checking a signature by its public key.

Every ledger entry is signed by its author (and a two-party entry by both parties) with
Ed25519 (RFC 8032) from the ``cryptography`` package; the ledger file carries every
signer's public key, so anyone can check who wrote what without a secret. Ed25519
signatures are deterministic, so a run stays reproducible.

Keys are *derived* from the run's seed and the agent's name (SHA-256 of both as the
32-byte private key), so the same seed gives the same keys and the same ledger, byte for
byte. The price of that reproducibility: anyone who knows the seed can derive every
private key, so in this model a signature proves authorship only to someone who does not
know the seed. In a real deployment each agent would generate and keep its own key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from admarket.streams import LEDGER_KEYS

# The storage network's certificate signer: Walrus certifies each sealed blob.
STORAGE_SIGNER = "walrus"


def _private_bytes(seed: int, agent: str) -> bytes:
    return hashlib.sha256(f"admarket-ledger-key|{seed}|{LEDGER_KEYS}|{agent}".encode()).digest()


class Keyring:
    """The private keys of a fixed set of signers (every agent, plus the storage network).

    Only public keys leave the keyring (:attr:`public`, written into the ledger file). The
    key objects are rebuilt from the seed after unpickling, so a checkpointed model pickles.
    """

    def __init__(self, seed: int, agents: Iterable[str]):
        self.seed = int(seed)
        names = sorted({*agents, STORAGE_SIGNER})
        self._keys: dict[str, Ed25519PrivateKey] = {}
        self.public: dict[str, str] = {}
        for name in names:
            key = Ed25519PrivateKey.from_private_bytes(_private_bytes(self.seed, name))
            self._keys[name] = key
            raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            self.public[name] = raw.hex()

    def __contains__(self, agent: str) -> bool:
        return agent in self._keys

    def sign(self, agent: str, message: bytes) -> str:
        """Ed25519 signature of ``message`` by ``agent``, as hex; KeyError if not a signer."""
        return self._keys[agent].sign(message).hex()

    def __getstate__(self) -> dict:
        return {"seed": self.seed, "agents": list(self.public)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["seed"], state["agents"])  # type: ignore[misc]


class PublicKeys:
    """Signature checks against the public keys a ledger file carries (hex by signer name)."""

    def __init__(self, public: dict[str, str]):
        self._hex = dict(public)
        self._keys: dict[str, Ed25519PublicKey | None] = {}

    def __contains__(self, agent: str) -> bool:
        return agent in self._hex

    def verify(self, agent: str, signature: str, message: bytes) -> bool:
        """Whether ``signature`` (hex) is ``agent``'s Ed25519 signature of ``message``."""
        if agent not in self._keys:
            try:
                self._keys[agent] = Ed25519PublicKey.from_public_bytes(
                    bytes.fromhex(self._hex[agent])
                )
            except (KeyError, ValueError):
                self._keys[agent] = None
        key = self._keys[agent]
        if key is None:
            return False
        try:
            key.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True
