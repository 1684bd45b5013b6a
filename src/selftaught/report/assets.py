"""The page's inline style sheet and its one script (a table pager); no external resources."""

CSS = """
:root { --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #ffffff; --soft: #f9fafb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; max-width: 1280px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 18px; margin: 28px 0 8px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; }
header .path { color: var(--muted); margin: 0 0 6px; }
nav a { margin-right: 14px; color: #2563eb; text-decoration: none; }
code, pre { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
.badge { display: inline-block; font-size: 11px; padding: 1px 7px; border-radius: 9px;
  background: #e5e7eb; color: #374151; vertical-align: middle; font-weight: 600; }
.badge.finished, .badge.adopted { background: #dcfce7; color: #166534; }
.badge.partial, .badge.unscored { background: #fef3c7; color: #92400e; }
.badge.invalid { background: #fee2e2; color: #991b1b; }
.badge.initial { background: #dbeafe; color: #1e40af; }
.partial { background: #fffbeb; border: 1px solid #fcd34d; padding: 8px 12px;
  border-radius: 6px; margin: 10px 0; } .partial ul { margin: 4px 0 0; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 110px;
  background: var(--soft); } .card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 16px; font-weight: 600; overflow-wrap: anywhere; }
.note { color: var(--muted); font-size: 12.5px; margin: 4px 0; } .bad { color: #b91c1c; }
.yes { color: #166534; font-weight: 600; } .ci { color: var(--muted); font-size: 12px; }
table.data { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 3px 10px;
  text-align: left; vertical-align: top; }
table.data th { background: var(--soft); font-weight: 600; }
.pager { margin: 2px 0 10px; font-size: 12.5px; color: var(--muted); }
.pager button { font: inherit; margin-right: 6px; padding: 1px 8px; cursor: pointer; }
.figure { margin: 8px 0; max-width: 760px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 8px; }
svg.plot { width: 100%; height: auto; font-size: 11px; fill: #374151; }
svg.plot .frame { fill: #fff; stroke: #d1d5db; } svg.plot .grid { stroke: #f0f0f0; }
svg.plot .axis { stroke: #9ca3af; } svg.plot .label { fill: #4b5563; font-size: 12px; }
svg.plot .note { fill: #9ca3af; font-size: 13px; } svg.plot .err { stroke-width: 2;
  opacity: .55; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 22px; }
ul.tree { padding-left: 0; }
ul.tree ul li { position: relative; }
ul.tree ul li::before { content: ""; position: absolute; left: -14px; top: 0; bottom: 0;
  border-left: 1px solid #cbd5e1; }
ul.tree ul li:last-child::before { bottom: auto; height: 18px; }
ul.tree ul li::after { content: ""; position: absolute; left: -14px; top: 18px; width: 12px;
  border-top: 1px solid #cbd5e1; }
.node { border: 1px solid var(--line); border-left: 4px solid #9ca3af; border-radius: 6px;
  padding: 6px 10px; margin: 6px 0; background: #fff; max-width: 1100px; }
.node.adopted { border-left-color: #16a34a; } .node.initial { border-left-color: #2563eb; }
.node.invalid { border-left-color: #dc2626; } .node.unscored { border-left-color: #d97706; }
.node .strategy { color: #374151; font-size: 13px; }
pre.code { background: var(--soft); border: 1px solid var(--line); padding: 6px 8px;
  overflow-x: auto; max-height: 480px; margin: 6px 0; }
pre.code .ln, table.diff td.ln { color: #9ca3af; user-select: none; text-align: right;
  display: inline-block; min-width: 3em; padding-right: 1em; }
table.diff { border-collapse: collapse; width: 100%; table-layout: fixed; margin: 6px 0;
  font-size: 12.5px; }
table.diff th { background: var(--soft); text-align: left; padding: 4px 8px; font-weight: 600; }
table.diff td { padding: 0 6px; vertical-align: top; white-space: pre-wrap;
  overflow-wrap: anywhere; }
table.diff td.ln { display: table-cell; min-width: 0; padding-right: 6px; }
table.diff col.lnc { width: 3.5em; }
table.diff td.del { background: #fee2e2; } table.diff td.add { background: #dcfce7; }
table.diff td.empty { background: #f3f4f6; }
table.diff tr.fold td { background: #eff6ff; color: #1e40af; text-align: center; }
details > summary { cursor: pointer; color: #1d4ed8; margin: 4px 0; }
.diffbox { margin: 10px 0; }
pre.command { background: #111827; color: #f9fafb; padding: 8px 12px; border-radius: 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
pre.toml { background: var(--soft); border: 1px solid var(--line); padding: 8px 12px;
  border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.json { background: var(--soft); border: 1px solid var(--line); padding: 8px;
  max-height: 400px; overflow: auto; }
code.offending { background: #fee2e2; padding: 0 4px; white-space: pre-wrap; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
"""

# Pages every table marked `paged` (25 rows a page). Without script all rows stay visible.
PAGER_JS = """
document.querySelectorAll("table.paged").forEach(function (table) {
  var rows = Array.prototype.slice.call(table.tBodies[0].rows), size = 25, page = 0;
  var pages = Math.ceil(rows.length / size), bar = document.createElement("div");
  bar.className = "pager";
  var prev = document.createElement("button"), next = document.createElement("button");
  var label = document.createElement("span");
  prev.textContent = "previous"; next.textContent = "next";
  bar.appendChild(prev); bar.appendChild(next); bar.appendChild(label);
  function show() {
    rows.forEach(function (row, i) {
      row.style.display = Math.floor(i / size) === page ? "" : "none";
    });
    label.textContent = "page " + (page + 1) + " of " + pages + " (" + rows.length + " rows)";
    prev.disabled = page === 0; next.disabled = page === pages - 1;
  }
  prev.onclick = function () { if (page > 0) { page--; show(); } };
  next.onclick = function () { if (page < pages - 1) { page++; show(); } };
  table.parentNode.insertBefore(bar, table.nextSibling);
  show();
});
"""
