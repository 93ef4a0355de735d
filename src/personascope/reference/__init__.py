"""Reference populations that generated personas are compared with."""
