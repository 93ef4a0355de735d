"""Personas: the data model, files, generation strategies, deduplication and fidelity.

=====================  ==========================================================
``persona``            the :class:`~personascope.personas.persona.Persona` model
``io``                 JSONL and Parquet files
``fields``             Name / Age / Gender / ... read back from persona texts
``naive``              the naive prompt (also used by the collapse study)
``prompts``            shared prompt templates (chat instruction / base frame)
``config``             YAML configs with errors naming file and field
``layers``, ``bigfive``  attribute layers sampled by code; Big Five targets
``marginals``          iterative proportional fitting to marginal tables
``strategies``         naive, sampling, verbalized, layered, diasynth, marginals,
                       simulator behind one interface, run through the runner
``dedup``              exact and MinHash-LSH near-duplicate removal
``fidelity``           attributes scored back from texts; the adjective lexicon
``pipeline``           ``generate``: unique populations, fidelity, the output file
=====================  ==========================================================

See docs/generation.md.
"""
