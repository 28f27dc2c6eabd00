"""The generic trainer: one loop for every task (``fit``), checkpoints, resume, DDP."""

from .fit import FitResult, RunLayout, fit
from .types import DataSplits, EvalContext, OnnxSpec, RunContext, StepOutput

__all__ = ["DataSplits", "EvalContext", "FitResult", "OnnxSpec", "RunContext", "RunLayout", "StepOutput", "fit"]
