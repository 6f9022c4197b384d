"""Trust and safety pages: reporting, the moderators' queue and cases, statements of reasons and
appeals, the rules and the transparency report. Views are thin; the rules live in services."""
