"""The performance benchmark (not part of the test suite). Run it with ``bench/run``."""
