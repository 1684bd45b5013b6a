from selftaught.sandbox.helpers import extract_code

NESTED = '''Idea: a better prompt.
```python
def improve_algorithm(initial_solution, utility, language_model):
    message = f"""Improve:
```python
{initial_solution}
```
"""
    return message
```
Some closing words.
```python
x = 1
```
'''


def test_nested_fences_keep_the_outer_block_whole():
    code = extract_code(NESTED)
    assert code.startswith("def improve_algorithm")
    assert "```python\n{initial_solution}\n```" in code
    assert code.rstrip().endswith("return message")


def test_largest_block_wins_and_lists_map():
    short = "```python\na = 1\n```\n```python\nb = 2\nc = 3\n```"
    assert extract_code(short) == "b = 2\nc = 3"
    assert extract_code([short, "no code here", None]) == ["b = 2\nc = 3", None, None]


def test_bare_fences_are_a_fallback_only():
    assert extract_code("```\nz = 9\n```") == "z = 9"
    assert extract_code("```python\ny = 1\n```\n```\nlonger = 'block'\nmore = 1\n```") == "y = 1"
