"""The legacy REST Session API (v1 deprecated, v2 current), adapters over the resolvers."""
