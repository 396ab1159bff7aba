-- Plan, Key Metrics 3: context rot impact (performance degradation over time).
-- One change from the plan: it counted COUNT(DISTINCT agent_restart_events), which counts
-- distinct values of a per-day counter, not events. Here daily_metrics has one row per run
-- and day with agent_restart_events (restarts that day) and context_losses (facts lost that
-- day, restarts included), so the column is SUM(context_losses): facts lost that day, summed
-- over the seeds in the store (`seeds` says how many). daily_metrics.goal_attainment_score
-- repeats daily_goal_attainment so the plan's AVG(goal_attainment_score) runs as written.
-- state_recovery_accuracy is NULL on days without recoveries; AVG skips those.
SELECT
    scenario,
    simulation_day,
    AVG(goal_attainment_score) as daily_goal_attainment,
    SUM(context_losses) as context_losses,
    SUM(agent_restart_events) as restarts,
    AVG(state_recovery_accuracy) as recovery_fidelity,
    COUNT(DISTINCT seed) as seeds
FROM daily_metrics
GROUP BY scenario, simulation_day
ORDER BY scenario, simulation_day;
