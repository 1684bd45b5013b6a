"""Guess a number in [0, 100]: stage 1 checks the answer is an int, stage 2 scores closeness."""

import importlib.util

TARGET = 73  # hidden from the model


def _guess(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    return program.guess()


def evaluate_stage1(program_path):
    value = _guess(program_path)
    return {"combined_score": 1.0 if isinstance(value, int) else 0.0, "is_int": 1.0}


def evaluate_stage2(program_path):
    value = _guess(program_path)
    return {"combined_score": 10.0 - abs(value - TARGET) / 10.0, "distance": abs(value - TARGET)}


def evaluate(program_path):
    return evaluate_stage2(program_path)
