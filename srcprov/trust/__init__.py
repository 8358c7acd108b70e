"""Trust decisions: the policy model, the one signature judgement, record and commit statuses, their cache."""
