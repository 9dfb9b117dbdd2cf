"""Live probes for the OWASP API Security Top 10 (2023) that schemathesis does not cover: CORS
with credentials, JWT handling, debug pages, 429 behaviour and mass assignment. Each is safe and
bounded; all go through the egress policy (checks/fetch.py) at the user's rate."""
