"""Training: the harness behind the accuracy thresholds, their calibration, and `grader train`."""
