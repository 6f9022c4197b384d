"""What to tell whom, and getting it there: the catalogue of kinds, rendering, transport,
delivery and the after-commit dispatch."""
