-- Plan, Key Metrics 4: hallucination rate (decisions based on fabricated data).
-- Unchanged from the plan (plus ORDER BY). agent_decisions has one row per fact a decision
-- relied on (a claim); decision_basis_verified is FALSE when the post-hoc audit against
-- ground truth found the claimed value wrong. So total_decisions counts decision bases
-- (claims), not distinct decisions: see agent_decisions.decision_id for those.
-- ground_truth carries no scenario/agent_type column, so the unqualified names stay unique.
SELECT
    scenario,
    agent_type,
    COUNT(*) as total_decisions,
    SUM(CASE WHEN decision_basis_verified = FALSE THEN 1 ELSE 0 END) as hallucinated_decisions,
    (SUM(CASE WHEN decision_basis_verified = FALSE THEN 1 ELSE 0 END)::float / COUNT(*)) * 100 as hallucination_rate
FROM agent_decisions
JOIN ground_truth ON agent_decisions.claimed_fact_id = ground_truth.fact_id
GROUP BY scenario, agent_type
ORDER BY scenario, agent_type;
