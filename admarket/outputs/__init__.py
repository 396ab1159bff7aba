"""Outputs of finished runs: a run's tables (:mod:`.run_tables`) and the run store they go
to (:mod:`.store`, :mod:`.store_writer`), event and narrative logs (:mod:`.event_log`,
:mod:`.narrative`, told from :mod:`.moments`, :mod:`.exchange_moments` and
:mod:`.memory_moments`), a result folder's COMPLETE marker and what may be written where
(:mod:`.manifest`), publishing a result folder so it cannot hurt (:mod:`.publish`), what
run, compare and resume publish (:mod:`.results`), what a worker writes of its own run
(:mod:`.spool`), and the journal that lets a stopped sweep resume (:mod:`.sweep_journal`).

The names below are plain constants so the CLI can offer them without importing the store.
"""

# The plan's four analysis queries (``outputs/queries/*.sql``).
QUERY_NAMES = ("fee_extraction", "goal_achievement", "context_rot", "hallucination_rate")
# Narrative log detail levels.
VERBOSITY = ("quiet", "key", "daily", "all")
