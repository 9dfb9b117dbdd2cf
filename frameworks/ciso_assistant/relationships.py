"""NIST OLIR set relationships in this project's words and in CISO Assistant's."""

from __future__ import annotations

from frameworks.crosswalk import Relationship

TO_CISO = {
    Relationship.EQUAL: "equal",
    Relationship.SUBSET_OF: "subset",
    Relationship.SUPERSET_OF: "superset",
    Relationship.INTERSECTS_WITH: "intersect",
    Relationship.NO_RELATIONSHIP: "not_related",
}
FROM_CISO = {word: relationship for relationship, word in TO_CISO.items()}
