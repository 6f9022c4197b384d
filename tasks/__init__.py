"""Celery: the worker entry point (``tasks.celery_app``), thin tasks and the beat schedule.

Tasks load by id, call one service inside a unit of work, and return. ``reviewsite`` never
imports this package; it sends messages by the task names in ``reviewsite.notifications``.
"""
