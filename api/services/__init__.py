"""What the routes call: queries and writes, no HTTP. The session dependency commits."""
