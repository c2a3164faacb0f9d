"""The kit's grader: pytest plugin, runner, scorecard, datasets and the training harness."""
