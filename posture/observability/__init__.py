"""Prometheus series, health probes and their HTTP exposition for the API and the worker.

Every process builds its own registry (never prometheus_client's global one), so several apps
in one process, as in the tests, keep their counts apart.
"""
