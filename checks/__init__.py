"""Automated checks: each turns probes of a real system into typed findings with stable codes."""
