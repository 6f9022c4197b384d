"""Claiming a listing: the claimant's pages and the moderators' claim decisions."""
