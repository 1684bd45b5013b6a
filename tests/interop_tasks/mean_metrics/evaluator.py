def evaluate(program_path):
    namespace = {}
    with open(program_path) as f:
        exec(f.read(), namespace)
    speed, accuracy = namespace["run"]()
    return {"speed": speed, "accuracy": accuracy, "passed": True, "note": "no combined_score"}
