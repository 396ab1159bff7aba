"""Scenario C's ledger: the signed hash chain (:mod:`.chain`, :mod:`.entry`), its
verification (:mod:`.verify`), its file (:mod:`.file`), signing keys (:mod:`.keys`) and
the Sui + Walrus cost model (:mod:`.cost`)."""
