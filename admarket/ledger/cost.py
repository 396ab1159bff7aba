"""What scenario C's ledger costs: Sui gas for the on-chain objects plus Walrus blob storage.

Every sealed blob of ledger entries is one Walrus *store*: a few Sui transactions
(reserve + register, certify) of which one creates a small Sui object registering the
blob, plus Walrus storage for the erasure-coded blob over a number of 14-day epochs.
Costs are computed in SUI and WAL and converted to USD with configurable token prices.
Nothing here is tuned to a target: the "one transaction per impression ≈ a display CPM,
batched ≈ a cent per 1,000" result of reference/calibration.md must come out of these
parameters (tests/test_ledger.py checks that it does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

MIST_PER_SUI = 1_000_000_000  # calibration.md: "1 SUI = 10^9 MIST"
MIB = 1 << 20


@dataclass(frozen=True)
class BlobCost:
    """Cost of storing one blob: SUI gas, WAL storage, their USD sum, and the encoded size."""

    sui: float
    wal: float
    usd: float
    encoded_bytes: int


@dataclass(frozen=True)
class LedgerCostModel:
    """Parameters of the Sui + Walrus cost model; every default cites a calibration.md row.

    Storage rebate choice: a Sui storage charge is a deposit, 99% of which comes back
    when the object is deleted. The object registering a Walrus blob is useless once the
    blob's storage expires, so by default (``delete_objects=True``) it is burned at
    expiry and only the non-refundable share is a cost. Set ``delete_objects=False`` for
    a permanent on-chain anchor: the full storage charge is then paid and kept.
    """

    # "WAL price ~$0.4 (Oct 2025)"; SUI at the middle of "$3–4/SUI" (Simple transaction row).
    sui_price_usd: float = 3.5
    wal_price_usd: float = 0.4
    # "Reference gas price ~500–1,000 MIST per computation unit": the middle.
    reference_gas_price_mist: float = 750.0
    # "Smallest computation charge: 1,000-unit bucket"; our transactions are simple ones.
    computation_units_per_tx: int = 1000
    # "Storage price 76 MIST per storage unit, ~100 units per byte".
    storage_price_mist_per_unit: float = 76.0
    storage_units_per_byte: float = 100.0
    # "Storage rebate 99% returned when an object is deleted".
    storage_rebate: float = 0.99
    # Our choice (see class docstring): registration objects are burned when the blob expires.
    delete_objects: bool = True
    # Assumption: a Walrus Blob object (ids, epochs, size, storage resource) plus Sui's
    # per-object envelope is ~250 bytes; no calibration row gives it.
    object_bytes: int = 250
    # "Walrus encoding overhead ~5× the blob size, plus fixed per-blob metadata".
    walrus_encoding_factor: float = 5.0
    # Assumption: the fixed per-blob metadata is 64 KiB (the row says only "fixed").
    walrus_metadata_bytes: int = 64 * 1024
    # "Walrus price 0.00001–0.0001 WAL per encoded MiB per epoch": 0.00005 is mid-range.
    walrus_price_wal_per_mib_epoch: float = 0.00005
    # Assumption: Walrus bills whole 1-MiB storage units, so small blobs pay for a full MiB.
    walrus_billing_unit_bytes: int = MIB
    # Assumption: the row says only "plus a write fee"; 0.00002 WAL per store.
    walrus_write_fee_wal: float = 0.00002
    # "Walrus epoch 14 days; storable up to 53 epochs ahead": 3 epochs = 42 days covers a
    # 30-day run plus a 12-day audit window (2 epochs = 28 days would expire before day 30).
    walrus_epochs: int = 3
    # "up to 3 Sui transactions per store".
    sui_txs_per_store: int = 3

    def __post_init__(self) -> None:
        """Reject parameter values outside their meaningful range with a ValueError."""
        lo_hi: dict[str, tuple[float, float, bool]] = {
            # name: (low, high, low is exclusive)
            "sui_price_usd": (0.0, math.inf, True),
            "wal_price_usd": (0.0, math.inf, True),
            "reference_gas_price_mist": (0.0, math.inf, True),
            "computation_units_per_tx": (1, math.inf, False),
            "storage_price_mist_per_unit": (0.0, math.inf, False),
            "storage_units_per_byte": (0.0, math.inf, False),
            "storage_rebate": (0.0, 1.0, False),
            "object_bytes": (0, math.inf, False),
            "walrus_encoding_factor": (1.0, math.inf, False),
            "walrus_metadata_bytes": (0, math.inf, False),
            "walrus_price_wal_per_mib_epoch": (0.0, math.inf, False),
            "walrus_billing_unit_bytes": (1, math.inf, False),
            "walrus_write_fee_wal": (0.0, math.inf, False),
            "walrus_epochs": (1, 53, False),
            "sui_txs_per_store": (1, math.inf, False),
        }
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "delete_objects":
                if not isinstance(value, bool):
                    raise ValueError(f"delete_objects={value!r}: allowed values are True/False")
                continue
            lo, hi, lo_open = lo_hi[f.name]
            want_int = f.type == "int"
            ok_type = isinstance(value, int if want_int else (int, float))
            if isinstance(value, bool) or not ok_type:
                kind = "an int" if want_int else "a number"
                raise ValueError(f"{f.name}={value!r}: must be {kind}")
            too_low = value <= lo if lo_open else value < lo
            if math.isnan(value) or too_low or value > hi or math.isinf(value):
                bracket = "(" if lo_open else "["
                top = "inf)" if math.isinf(hi) else f"{hi}]"
                raise ValueError(f"{f.name}={value!r} out of range; allowed {bracket}{lo}, {top}")

    def sui_tx_cost_sui(self, storage_bytes: int) -> float:
        """Gas in SUI for one transaction that writes ``storage_bytes`` of new object data.

        Computation is one bucket of ``computation_units_per_tx`` at the reference gas price;
        storage is bytes × units/byte × storage price, of which the rebate fraction is netted
        off when ``delete_objects`` is set (the deposit comes back when the object is burned).
        """
        if isinstance(storage_bytes, bool) or not isinstance(storage_bytes, int):
            raise TypeError(f"storage_bytes must be an int, got {type(storage_bytes).__name__}")
        if storage_bytes < 0:
            raise ValueError(f"storage_bytes={storage_bytes} out of range; allowed [0, inf)")
        computation = self.computation_units_per_tx * self.reference_gas_price_mist
        storage = storage_bytes * self.storage_units_per_byte * self.storage_price_mist_per_unit
        if self.delete_objects:
            storage *= 1.0 - self.storage_rebate
        return (computation + storage) / MIST_PER_SUI

    def blob_cost(self, payload_bytes: int) -> BlobCost:
        """Cost of storing one blob of ``payload_bytes`` on Walrus, including its Sui transactions.

        A store takes ``sui_txs_per_store`` transactions; only the registering one creates an
        object (``object_bytes``), the others (certify, etc.) mutate it in place, which Sui
        charges net of the old version's rebate, so they are modelled as computation only.
        Walrus bills the encoded size (payload × encoding factor + fixed metadata), rounded
        up to whole billing units, for ``walrus_epochs`` epochs, plus a per-store write fee.
        """
        if isinstance(payload_bytes, bool) or not isinstance(payload_bytes, int):
            raise TypeError(f"payload_bytes must be an int, got {type(payload_bytes).__name__}")
        if payload_bytes < 0:
            raise ValueError(f"payload_bytes={payload_bytes} out of range; allowed [0, inf)")
        sui = self.sui_tx_cost_sui(self.object_bytes)
        sui += (self.sui_txs_per_store - 1) * self.sui_tx_cost_sui(0)
        encoded = (
            math.ceil(payload_bytes * self.walrus_encoding_factor) + self.walrus_metadata_bytes
        )
        units = math.ceil(encoded / self.walrus_billing_unit_bytes)
        unit_mib = self.walrus_billing_unit_bytes / MIB
        wal = units * unit_mib * self.walrus_price_wal_per_mib_epoch * self.walrus_epochs
        wal += self.walrus_write_fee_wal
        usd = sui * self.sui_price_usd + wal * self.wal_price_usd
        return BlobCost(sui=sui, wal=wal, usd=usd, encoded_bytes=encoded)

    def per_impression_record_cost_per_mille(self, record_bytes: int) -> float:
        """USD per 1,000 impressions if each impression were its own record, blob and store.

        This is the unbatched counterfactual: every impression pays a full Walrus store (its
        Sui transactions and the per-blob metadata) on its own. Equal to
        ``batched_cost_per_mille(record_bytes, 1, 1)``.
        """
        return self.batched_cost_per_mille(record_bytes, 1, 1)

    def batched_cost_per_mille(
        self, record_bytes: int, impressions_per_record: int, records_per_blob: int
    ) -> float:
        """USD per 1,000 impressions when records aggregate impressions and blobs batch records.

        One blob holds ``records_per_blob`` records of ``record_bytes`` each, every record
        covering ``impressions_per_record`` impressions; the blob's whole cost is spread over
        the impressions it covers. Batching amortises the fixed per-store costs (gas and
        metadata), which dominate small blobs.
        """
        for name, value in (
            ("impressions_per_record", impressions_per_record),
            ("records_per_blob", records_per_blob),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} out of range; allowed integers >= 1")
        cost = self.blob_cost(record_bytes * records_per_blob)
        return cost.usd / (impressions_per_record * records_per_blob) * 1000.0
