"""What the exercise suites use to judge a learner's code: device-strict tensors and model checks."""
