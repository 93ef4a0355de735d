"""The embedded model pair the audit runs when no model is named (a base and an aligned
model of different families; see README). Kept apart from the model layer so that the
report and the claims table can name them without importing any backend."""

DEFAULT_BASE_MODEL = "llamacpp/gemma3-270m"
DEFAULT_ALIGNED_MODEL = "llamacpp/smollm2-135m-instruct"
