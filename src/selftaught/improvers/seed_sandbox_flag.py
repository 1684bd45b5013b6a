from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Asks the language model for better solutions and returns the one of highest utility.

    The paper's sandbox variant of the seed improver: every utility call asks for the sandbox
    with `use_sandbox=True`.
    """
    expertise = (
        "You are an expert computer science researcher and programmer, especially skilled at "
        "optimizing algorithms."
    )
    message = f"""Improve the following solution:
```python
{initial_solution}
```

You will be evaluated based on this score function:
```python
{utility.str}
```

You must return an improved solution. Be as creative as you can under the constraints.
Your primary improvement must be novel and non-trivial.
First, propose an idea, then implement it."""
    n_messages = min(language_model.max_responses_per_call, utility.budget)
    new_solutions = language_model.batch_prompt(
        expertise, [message] * n_messages, temperature=0.7
    )
    new_solutions = extract_code(new_solutions)
    best_solution, best_utility = initial_solution, 0
    for new_solution in new_solutions:
        utility_val = utility(new_solution, use_sandbox=True)
        if utility_val > best_utility:
            best_solution = new_solution
            best_utility = utility_val
    return best_solution
