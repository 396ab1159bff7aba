-- Plan, Key Metrics 2: campaign goal achievement. The plan's columns unchanged (plus ORDER BY).
-- What % of campaigns hit their KPIs? With several seeds, counts add up over seeds: each
-- seed contributes its own copy of every campaign. The columns after the plan's give the
-- shares (in %) and the campaigns that reached their primary KPI (impressions, reach,
-- clicks, conversions or viewability), which the plan's query does not count.
SELECT
    scenario,
    COUNT(*) as total_campaigns,
    SUM(CASE WHEN actual_impressions >= target_impressions THEN 1 ELSE 0 END) as hit_impression_goal,
    SUM(CASE WHEN actual_cpm <= target_cpm THEN 1 ELSE 0 END) as hit_cpm_goal,
    AVG(goal_attainment_score) as avg_goal_attainment,
    -- honest names: counts are over every run (seed) of the scenario
    COUNT(DISTINCT run_id) as runs,
    COUNT(*) as campaigns_all_runs,
    AVG(CASE WHEN actual_impressions >= target_impressions THEN 1 ELSE 0 END) * 100 as hit_impression_goal_pct,
    AVG(CASE WHEN actual_cpm <= target_cpm THEN 1 ELSE 0 END) * 100 as hit_cpm_goal_pct,
    SUM(hit_kpi_goal::INT) as hit_kpi_goal,
    AVG(hit_kpi_goal::INT) * 100 as hit_kpi_goal_pct,
    AVG(overspent::INT) * 100 as overspent_pct
FROM campaigns
GROUP BY scenario
ORDER BY scenario;
