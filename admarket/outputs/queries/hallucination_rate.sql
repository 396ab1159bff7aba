-- Plan, Key Metrics 4: hallucination rate (decisions based on fabricated data).
-- The plan's columns are kept as written (plus ORDER BY) so its query still runs; they are
-- misnamed for this store, so honest aliases follow them. agent_decisions has one row per
-- fact a decision relied on (a claim); decision_basis_verified is FALSE when the post-hoc
-- audit against ground truth found the claimed value wrong. So the plan's total_decisions
-- counts claims, its hallucinated_decisions counts wrong claims, and its hallucination_rate
-- is the percentage of claims that were wrong (glossary: wrong_claim_share × 100). The
-- share of decisions that used at least one wrong fact (wrong_decision_share) is a
-- different, larger number: see wrong_decision_pct. (The plan's ::float is single
-- precision in DuckDB; the aliases use DOUBLE.) (Decisions that relied on no audited
-- fact have no row here; summaries.decisions counts them, so its share is a touch lower.)
-- ground_truth carries no scenario/agent_type column, so the unqualified names stay unique.
SELECT
    scenario,
    agent_type,
    COUNT(*) as total_decisions,
    SUM(CASE WHEN decision_basis_verified = FALSE THEN 1 ELSE 0 END) as hallucinated_decisions,
    (SUM(CASE WHEN decision_basis_verified = FALSE THEN 1 ELSE 0 END)::float / COUNT(*)) * 100 as hallucination_rate,
    -- honest names for the three columns above
    COUNT(*) as claims,
    SUM(CASE WHEN decision_basis_verified = FALSE THEN 1 ELSE 0 END) as wrong_claims,
    (SUM(CASE WHEN decision_basis_verified = FALSE THEN 1 ELSE 0 END)::DOUBLE / COUNT(*)) * 100 as wrong_claim_pct,
    -- decisions proper: one per (run, decision), wrong if any of its claims was wrong
    COUNT(DISTINCT (agent_decisions.run_id, decision_id)) as decisions,
    COUNT(DISTINCT CASE WHEN decision_basis_verified = FALSE
                        THEN (agent_decisions.run_id, decision_id) END) as decisions_on_a_wrong_fact,
    (COUNT(DISTINCT CASE WHEN decision_basis_verified = FALSE
                         THEN (agent_decisions.run_id, decision_id) END)::DOUBLE
     / COUNT(DISTINCT (agent_decisions.run_id, decision_id))) * 100 as wrong_decision_pct,
    COUNT(DISTINCT agent_decisions.run_id) as runs
FROM agent_decisions
JOIN ground_truth ON agent_decisions.claimed_fact_id = ground_truth.fact_id
GROUP BY scenario, agent_type
ORDER BY scenario, agent_type;
