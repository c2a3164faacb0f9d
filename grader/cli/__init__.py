"""The command line: one parser (parser.py), its dispatcher (main.py) and the commands it runs."""
