"""The posture scoring engine: outcome status, points, confidence, contradictions, bands, gaps."""
