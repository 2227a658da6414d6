//! End-to-end tests for the Waypoint workspace live in `tests/`.
