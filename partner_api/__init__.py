"""The partner REST API (/v1): FastAPI over the same services as the app."""
