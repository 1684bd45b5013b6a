"""The sections of the report page, one module each; `report.html.render` puts them in order.

- `header`: the title, the "partial" banner, the navigation and the summary cards;
- `meta_utility`: the meta-utility plot and table per iteration;
- `lineage`: the tree of improvers and the diffs of adopted improvers against their parents;
- `solutions`: evaluation totals, the best solution per task, solutions by score, failures;
- `lm_usage`: language-model calls, tokens and latency, per level and per iteration;
- `safety`: safety events per kind, per iteration and one by one;
- `config`: the command line and the config file that reproduce the run, and the raw config.

Each function returns an HTML fragment and escapes every value that came from the run.
"""
