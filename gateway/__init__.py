"""The HTTP faces of the session gateway (GraphQL and the legacy REST API) and their assembly."""
