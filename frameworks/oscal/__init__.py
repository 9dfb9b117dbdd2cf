"""OSCAL catalog exchange: export PTSbD, import upstream catalogs, validate with NIST's schema."""
