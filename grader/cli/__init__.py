"""The command line: one parser (main) and the commands it runs."""
