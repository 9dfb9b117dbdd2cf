"""Supplier and buyer workflows. Every function takes the acting Principal and scopes by tenant."""
