"""Indoor navigation: procedural furnished houses, a differential-drive base, geodesic paths."""
