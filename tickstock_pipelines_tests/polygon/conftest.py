"""The Polygon client and resource over real HTTP: transport, pagination, retries, the shared request budget,
response models, key redaction."""
