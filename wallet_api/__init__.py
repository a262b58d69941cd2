"""The HTTP service: app factory, resident endpoints, the routers of every package, and the CLI."""
