"""Showing results: the scorecard, Gradescope's results, live bars, hints, the classroom summary."""
