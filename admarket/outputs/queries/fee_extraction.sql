-- Plan, Key Metrics 1: fee extraction comparison. The plan's columns unchanged.
-- Per scenario, measure total intermediary take. With several seeds in one store the sums
-- pool every run of a scenario (the take rate is then spend-weighted across seeds); the
-- columns after the plan's say so and give the per-run means.
SELECT
    scenario,
    SUM(buyer_spend) as gross_spend,
    SUM(seller_revenue) as net_to_publisher,
    SUM(buyer_spend - seller_revenue) as intermediary_take,
    (SUM(buyer_spend - seller_revenue) / SUM(buyer_spend)) * 100 as take_rate_pct,
    -- honest names: pooled over runs, and per run
    COUNT(DISTINCT run_id) as runs,
    SUM(buyer_spend) as gross_spend_all_runs,
    SUM(buyer_spend) / COUNT(DISTINCT run_id) as gross_spend_per_run,
    SUM(buyer_spend - seller_revenue) / COUNT(DISTINCT run_id) as intermediary_take_per_run,
    (SUM(buyer_spend - seller_revenue) / SUM(buyer_spend)) * 100 as take_rate_pct_pooled
FROM transactions
GROUP BY scenario
ORDER BY scenario;
