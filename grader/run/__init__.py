"""Running one exercise's tests: the subprocess and its limits (runner, zygote, sandbox), the
pytest plugin inside it, how a graded module is loaded and watched, and the result cache."""
