"""The bottom layer: where the kit lives and its manifest, text and translations, the
reproducibility record, and files written whole. Imports nothing else of the grader."""
