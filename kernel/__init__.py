"""The bottom layer: settings, errors, version, clock, ids and the data directory's layout.

Every other package may import `kernel`; `kernel` imports none of them, so checks, frameworks
and the post-quantum catalogue stand on it without reaching into the domain core (`posture`).
"""
