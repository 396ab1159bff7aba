"""Scenario C's shared record: the append-only, hash-chained ledger batched into blobs
(:mod:`.chain`, with ``verify``) and its Sui gas + Walrus storage cost model (:mod:`.cost`)."""
