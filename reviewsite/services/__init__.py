"""The domain: one function per verb. Services take model objects, the acting user and ``now``;
they check the rules, write the change and its audit and outbox rows, and flush. They never
commit (the edge does, through ``reviewsite.unit_of_work``) and never touch the request."""
