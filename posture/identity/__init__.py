"""Accounts, passwords, roles, sessions and tokens."""
