"""neuroagents: an agent-based tissue simulator of neuro-immune interactions in chronic pain."""

__version__ = "0.1.0"
