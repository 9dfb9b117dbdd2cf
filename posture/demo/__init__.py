"""A deterministic demo estate: the real forces and national bodies, synthetic suppliers."""
