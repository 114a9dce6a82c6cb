"""The read planner: a read is compiled once into a plan, and every later request runs it.

    selection ──> plan ──> statements ──> builder ──> response
    (planner.selection)  (planner.plan)  (planner.kinds → resolvers → loaders → storage)

- A face (GraphQL in ``gateway.graphql.planning``) says what a read needs as a
  ``Selection``: a tree of ``Shape`` objects, each a kind of domain object with its
  ``Value`` fields, ``Constant`` items and ``Nested`` relations. It knows nothing of
  GraphQL.
- ``Plan(selection)`` compiles it once: per shape a table of writers, per relation how to
  fetch it. Plans are cached by the face (document, operation, directive values).
- ``Plan.run`` fetches a level at a time: each relation asks its loader or resolver once
  for the keys of all its parents (a session page brings its events and references in
  its own statement), so the statements do not grow with the page size. Visibility,
  keysets and cursors are the resolvers' own: written once, shared with the reference
  path.
- Those statements run on the request's one connection, each compiled once for the
  driver (``storage.database.Reads``), whatever lane or loader asks.
- The builder then writes dicts and lists, every scalar printed by ``planner.formats``
  (the functions the GraphQL scalars and the REST bodies print with), ready for one
  ``orjson.dumps``; timestamps are left for it to print under ``JSON_TIMESTAMPS``,
  exactly as ``format_timestamp`` prints them.
- ``ObjectPlan(shape)`` compiles a selection on one object the caller already holds (a
  subscription's selection on the session each change brings): ``run`` fetches only what
  the selection nests.
- On anything unexpected (a null where the selection requires a value, a value a format
  refuses, a resolver's error) ``run`` raises and the face runs the reference path for
  the request: errors and null propagation are never implemented twice.
"""

from planner.plan import Anomaly, ObjectPlan, Plan
from planner.selection import Selection, Unplannable

__all__ = ["Anomaly", "ObjectPlan", "Plan", "Selection", "Unplannable"]
