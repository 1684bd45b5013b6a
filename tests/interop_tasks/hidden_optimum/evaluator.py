"""Choose three coefficients; the utility is how close they are to the best ones (up to 1)."""

SECRET_OPTIMUM = (0.125, -3.5, 42.0)  # hidden from the model


def evaluate(program_path):
    namespace = {}
    with open(program_path) as f:
        exec(compile(f.read(), program_path, "exec"), namespace)
    chosen = namespace["coefficients"]()
    error = sum(abs(a - b) for a, b in zip(chosen, SECRET_OPTIMUM, strict=True))
    return {"combined_score": 1.0 / (1.0 + error), "error_sum": error}
