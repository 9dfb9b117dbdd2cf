"""Exchange framework libraries with CISO Assistant (its YAML library format), both ways.

What goes where (export, and what import reads back):

* library / framework: `urn` is the framework version's URN (frameworks/urns.py has no library
  kind, and CISO Assistant keeps libraries and frameworks apart, so they share it); `name` is the
  title, `provider` the publisher, `copyright` the licence, `publication_date` the release date.
* objectives and principles are non-assessable requirement nodes (depth 1 and 2), outcomes are
  assessable (depth 3, with CISO Assistant's own `weight`), indicators are non-assessable nodes
  under their outcome (depth 4), all with URNs from frameworks/urns.py.
* what CISO Assistant has no field for (framework id and version, evidence types, earlier
  digests, an outcome's audience, criticality and evidence types, an indicator's level, a
  crosswalk's no-relationship entries) rides in a `policetech_assure` key on the object it
  belongs to. CISO Assistant's loader reads the keys it knows and passes over others.
* scores 0/1/2 are not achieved / partially achieved / achieved; profiles are implementation
  groups (an outcome belongs to every profile that sets it a target).
* crosswalks are mapping libraries: one requirement mapping set, relationships in CISO
  Assistant's words (equal, subset, superset, intersect), strength and rationale kept.
"""
