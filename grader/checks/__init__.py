"""What the exercise suites use to judge a learner's code: device-strict tensors, model checks and probes."""
