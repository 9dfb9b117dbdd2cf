"""Background work: the queue (huey) and the tasks the worker runs."""
