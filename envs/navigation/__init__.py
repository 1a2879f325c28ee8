"""Navigation (in progress): procedural floor plans, geodesic distances, the differential-drive base and the floor-plan scene so far; no task is registered yet."""
