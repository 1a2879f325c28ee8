"""Navigation (issue in progress): procedural floor plans and geodesic distances so far; no task is registered yet."""
