"""Navigation (in progress): procedural floor plans, geodesic distances and the differential-drive base so far; no task is registered yet."""
