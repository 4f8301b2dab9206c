"""Data files bundled with piston (see README.md here for sources and licenses)."""
