"""From responses to published estimates: SQL aggregation, weighting, estimation, snapshots."""
