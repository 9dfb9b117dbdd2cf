"""API conformance: static OpenAPI security lint and live testing with schemathesis."""
