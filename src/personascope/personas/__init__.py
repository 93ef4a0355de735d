"""Personas: the data model, file sources, generation strategies, deduplication."""
