"""High-level entry points (not registered; import them directly)."""
from .prompt_predictor import PromptPredictor

__all__ = ['PromptPredictor']
