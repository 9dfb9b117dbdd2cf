"""Retention periods as data (posture/data/retention.yaml), applied by a sweep (issue 28).

UK GDPR's storage limitation: each kind of record is deleted or reduced a set period after the
event its period runs from. `policy` reads and validates the policy, `kinds` knows the tables,
`sweep` plans and applies it, `blobs` removes evidence files no record uses any more.
"""
