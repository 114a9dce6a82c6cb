"""The GraphQL face: Strawberry types, schema, per-request context and the HTTP view."""
