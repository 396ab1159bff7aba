"""Outputs of finished runs: the run store (:mod:`.store`), event and narrative logs
(:mod:`.narrative`), and publishing a result folder atomically (:mod:`.publish`).

The names below are plain constants so the CLI can offer them without importing the store.
"""

# The plan's four analysis queries (``outputs/queries/*.sql``).
QUERY_NAMES = ("fee_extraction", "goal_achievement", "context_rot", "hallucination_rate")
# Narrative log detail levels.
VERBOSITY = ("quiet", "key", "daily", "all")
