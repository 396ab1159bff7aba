-- Plan, Key Metrics 2: campaign goal achievement. Unchanged from the plan (plus ORDER BY).
-- What % of campaigns hit their KPIs? With several seeds, counts add up over seeds: each
-- seed contributes its own copy of every campaign.
SELECT
    scenario,
    COUNT(*) as total_campaigns,
    SUM(CASE WHEN actual_impressions >= target_impressions THEN 1 ELSE 0 END) as hit_impression_goal,
    SUM(CASE WHEN actual_cpm <= target_cpm THEN 1 ELSE 0 END) as hit_cpm_goal,
    AVG(goal_attainment_score) as avg_goal_attainment
FROM campaigns
GROUP BY scenario
ORDER BY scenario;
