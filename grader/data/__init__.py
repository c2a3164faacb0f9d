"""Datasets: where they come from, how they are verified, and fast in-memory loaders."""
