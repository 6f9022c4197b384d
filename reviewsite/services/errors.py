"""Domain errors: a request the rules refuse. Views turn them into a message, never a 500."""


class DomainError(Exception):
    """Base class; ``str(error)`` is a sentence fit to show the person who asked."""


class InvalidTransition(DomainError):
    """The review is not in a state that allows this action (or someone else got there first)."""


class NotAllowed(DomainError):
    """The acting user does not hold the power this action needs."""


class Conflict(DomainError):
    """The thing already exists (a second review of the same business, a taken email)."""


class Invalid(DomainError):
    """A value the rules refuse even though its shape is right (an extension beyond the cap)."""
