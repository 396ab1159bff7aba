-- Plan, Key Metrics 1: fee extraction comparison. Unchanged from the plan.
-- Per scenario, measure total intermediary take. With several seeds in one store the sums
-- pool every run of a scenario (the take rate is then spend-weighted across seeds).
SELECT
    scenario,
    SUM(buyer_spend) as gross_spend,
    SUM(seller_revenue) as net_to_publisher,
    SUM(buyer_spend - seller_revenue) as intermediary_take,
    (SUM(buyer_spend - seller_revenue) / SUM(buyer_spend)) * 100 as take_rate_pct
FROM transactions
GROUP BY scenario
ORDER BY scenario;
