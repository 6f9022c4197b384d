"""The owner's view: a business's make-it-right figures over time, for its verified members."""
