"""Domain core of PoliceTech Assure: storage, identity, scoring, audit, jobs, monitoring."""
