"""Outputs of finished runs: the run store (:mod:`.store`), event and narrative logs
(:mod:`.narrative`), a result folder's COMPLETE marker and what may be written where
(:mod:`.manifest`), and publishing a result folder so it cannot hurt (:mod:`.publish`).

The names below are plain constants so the CLI can offer them without importing the store.
"""

# The plan's four analysis queries (``outputs/queries/*.sql``).
QUERY_NAMES = ("fee_extraction", "goal_achievement", "context_rot", "hallucination_rate")
# Narrative log detail levels.
VERBOSITY = ("quiet", "key", "daily", "all")
