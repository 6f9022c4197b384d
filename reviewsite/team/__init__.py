"""What owners manage: the team (invitations, roles, removals, ownership) and the listing's details."""
