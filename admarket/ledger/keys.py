"""Who signs the ledger: an Ed25519 key per agent, and checking a signature by its public key.

Every ledger entry is signed by its author (and a two-party entry by both parties) with
Ed25519 (RFC 8032) from PyNaCl (libsodium); the ledger file carries every signer's public
key, so anyone can check who wrote what without a secret. Ed25519 signatures are
deterministic, so a run stays reproducible — and any implementation gives the same bytes:
libsodium signs in ~24 µs where the ``cryptography`` package (OpenSSL) took ~40 µs, half a
million times in a large C run; the tests check its signatures with ``cryptography``.

Keys are *derived* from the run's seed and the agent's name (SHA-256 of both as the
32-byte private key), so the same seed gives the same keys and the same ledger, byte for
byte. The price of that reproducibility: anyone who knows the seed can derive every
private key, so in this model a signature proves authorship only to someone who does not
know the seed. In a real deployment each agent would generate and keep its own key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from nacl.bindings import crypto_sign, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from admarket.streams import LEDGER_KEYS

# The storage network's certificate signer: Walrus certifies each sealed blob.
STORAGE_SIGNER = "walrus"


def agent_signers(n_buyers: int, n_sellers: int) -> list[str]:
    """The names every buyer and seller agent signs the ledger under (the storage network's
    signer aside): what a run's ledger header holds keys for."""
    return [f"buyer-{b}" for b in range(n_buyers)] + [f"seller-{s}" for s in range(n_sellers)]


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
        self._keys: dict[str, bytes] = {}  # libsodium's 64-byte secret keys (seed + public)
        self.public: dict[str, str] = {}
        for name in names:
            public, secret = crypto_sign_seed_keypair(_private_bytes(self.seed, name))
            self._keys[name] = secret
            self.public[name] = public.hex()

    def __contains__(self, agent: str) -> bool:
        return agent in self._keys

    def sign(self, agent: str, message: bytes) -> str:
        """Ed25519 signature of ``message`` by ``agent``, as hex; KeyError if not a signer."""
        return self.sign_bytes(agent, message).hex()

    def sign_bytes(self, agent: str, message: bytes) -> bytes:
        """Ed25519 signature of ``message`` by ``agent`` (64 bytes); KeyError if not a
        signer."""
        # the signed message is signature + message; the signature is its first 64 bytes
        return crypto_sign(message, self._keys[agent])[:64]

    def __getstate__(self) -> dict:
        return {"seed": self.seed, "agents": list(self.public)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["seed"], state["agents"])  # type: ignore[misc]


class PublicKeys:
    """Signature checks against the public keys a ledger file carries (hex by signer name)."""

    def __init__(self, public: dict[str, str]):
        self._hex = dict(public)
        self._keys: dict[str, VerifyKey | None] = {}

    def __contains__(self, agent: str) -> bool:
        return agent in self._hex

    def verify(self, agent: str, signature: str, message: bytes) -> bool:
        """Whether ``signature`` (hex) is ``agent``'s Ed25519 signature of ``message``."""
        if agent not in self._keys:
            try:
                self._keys[agent] = VerifyKey(bytes.fromhex(self._hex[agent]))
            except (KeyError, ValueError):
                self._keys[agent] = None
        key = self._keys[agent]
        if key is None:
            return False
        try:
            key.verify(message, bytes.fromhex(signature))
        except (BadSignatureError, ValueError):
            return False
        return True
