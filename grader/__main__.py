"""``python -m grader`` is the ``grader`` command."""
import sys

from grader.cli.main import main

sys.exit(main())
