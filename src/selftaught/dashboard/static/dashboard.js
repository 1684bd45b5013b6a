// selftaught serve: the live layer of the dashboard's pages.
// It listens to the server's events (server-sent events) and changes the page in place:
// rows of the runs list and of the streams are built with textContent only (model output is
// text, never markup); panels the server rendered (escaped, like the static report) replace
// their old copies. No other origin is contacted; every request carries the page's token.
(function () {
  "use strict";
  var token = new URLSearchParams(location.search).get("token") || "";
  var q = "?token=" + encodeURIComponent(token);
  var badge = document.getElementById("connection");
  var MAX_STREAM_ROWS = 200;

  function status(text, cls) {
    if (badge) { badge.textContent = text; badge.className = "badge " + cls; }
  }
  function shown(v) { return v === null || v === undefined ? "–" : String(v); }
  function num(v, digits) {
    if (typeof v !== "number") return "–";
    return Number.isInteger(v) ? String(v) : v.toFixed(digits === undefined ? 3 : digits);
  }
  function when(ts) {
    return typeof ts === "number" ? new Date(ts * 1000).toLocaleTimeString() : "–";
  }
  function cell(tr, value, cls) {
    var td = document.createElement("td");
    td.textContent = value;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function listen(url, handlers) {
    var source = new EventSource(url);
    source.onopen = function () { status("live", "finished"); };
    source.onerror = function () { status("reconnecting", "partial"); };
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (event) { handlers[name](JSON.parse(event.data)); });
    });
    return source;
  }

  // ---------------------------------------------------------------- a run's page
  var STREAMS = {
    evaluations: function (r) {
      return [when(r.created), shown(r.program).slice(0, 12), shown(r.task), shown(r.split),
        num(r.score), num(r.seconds, 2), shown(r.node), r.failure ? String(r.failure) : ""];
    },
    lm_calls: function (r) {
      return [when(r.created), shown(r.level), shown(r.scope), num(r.n), num(r.cached),
        num(r.tokens), num(r.seconds, 2)];
    },
    invocations: function (r) {
      return [when(r.created), shown(r.level), shown(r.t), shown(r.task), shown(r.repetition),
        shown(r.status), r.error ? String(r.error) : ""];
    }
  };

  function appendRows(rows) {
    clearProblem();
    Object.keys(STREAMS).forEach(function (table) {
      var body = document.querySelector("#stream-" + table + " tbody");
      if (!body || !rows[table]) return;
      rows[table].forEach(function (r) {
        var tr = document.createElement("tr");
        tr.dataset.id = String(r.id);
        STREAMS[table](r).forEach(function (v, i, all) {
          cell(tr, v, i === all.length - 1 && v ? "bad" : "");
        });
        body.insertBefore(tr, body.firstChild);
      });
      while (body.rows.length > MAX_STREAM_ROWS) body.deleteRow(body.rows.length - 1);
    });
  }

  function detailsKey(d) {
    var node = d.closest("[data-sha]");
    var summary = d.querySelector("summary");
    return (node ? node.dataset.sha : "") + "|" + (summary ? summary.textContent : "");
  }

  function replacePanels(panels) {
    var parser = new DOMParser();
    Object.keys(panels).forEach(function (id) {
      var old = document.getElementById(id);
      var parsed = parser.parseFromString(panels[id], "text/html").getElementById(id);
      if (!old || !parsed) return;
      // Keep what the reader opened or closed open or closed across a re-render: a
      // <details> is known by its improver (data-sha) and its summary's text.
      var open = new Map();
      old.querySelectorAll("details").forEach(function (d) { open.set(detailsKey(d), d.open); });
      var fresh = document.importNode(parsed, true);
      fresh.querySelectorAll("details").forEach(function (d) {
        var key = detailsKey(d);
        if (open.has(key)) d.open = open.get(key);
      });
      old.replaceWith(fresh);
    });
  }

  function clearProblem() {
    var note = document.getElementById("problem");
    if (note) note.remove();
  }

  function problem(info) {
    var note = document.getElementById("problem");
    if (!note) {
      note = document.createElement("p");
      note.id = "problem";
      note.className = "partial";
      document.body.insertBefore(note, document.body.children[1] || null);
    }
    note.textContent = "cannot read the run now: " + shown(info.error);
  }

  // ---------------------------------------------------------------- the runs list
  var selected = new Set();

  function runRow(r) {
    var tr = document.createElement("tr");
    tr.dataset.key = r.key;
    tr.className = "run " + r.status;
    var pick = document.createElement("input");
    pick.type = "checkbox";
    pick.checked = selected.has(r.key);
    pick.disabled = r.status === "unreadable";
    pick.addEventListener("change", function () {
      if (pick.checked) selected.add(r.key); else selected.delete(r.key);
      drawOverlay();
    });
    var first = document.createElement("td");
    first.appendChild(pick);
    tr.appendChild(first);
    var name = document.createElement("td");
    var link = document.createElement("a");
    link.href = "/run/" + encodeURIComponent(r.key) + q;
    link.textContent = r.key;
    name.appendChild(link);
    tr.appendChild(name);
    var state = cell(tr, "");
    var label = document.createElement("span");
    label.className = "badge status " + r.status;
    label.textContent = r.status + (r.resumable ? " (resumable)" : "");
    state.appendChild(label);
    var done = r.kind && r.kind !== "stop" ? r.kind
      : (r.iterations_done === null ? "–" : r.iterations_done) + " / " + shown(r.iterations_planned);
    cell(tr, shown(r.task));
    cell(tr, shown(r.model));
    cell(tr, done);
    cell(tr, num(r.best_val));
    cell(tr, num(r.best_test));
    cell(tr, num(r.lm_calls_paid));
    cell(tr, typeof r.dollars === "number" ? "$" + r.dollars.toFixed(4) : "–");
    cell(tr, age(r.last_activity), "age").dataset.ts = String(r.last_activity);
    cell(tr, r.error ? String(r.error) : "", r.error ? "bad reason" : "reason");
    return tr;
  }

  function age(ts) {
    if (typeof ts !== "number" || ts <= 0) return "–";
    var s = Math.max(0, Date.now() / 1000 - ts);
    if (s < 90) return Math.round(s) + " s ago";
    if (s < 5400) return Math.round(s / 60) + " min ago";
    if (s < 172800) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " days ago";
  }

  function showRuns(rows) {
    clearProblem();
    var body = document.querySelector("#runs tbody");
    var fresh = document.createElement("tbody");
    rows.forEach(function (r) { fresh.appendChild(runRow(r)); });
    if (!rows.length) {
      var tr = document.createElement("tr");
      cell(tr, "no run directory here yet; a run started under these paths appears by itself")
        .colSpan = 12;
      fresh.appendChild(tr);
    }
    body.replaceWith(fresh);
  }

  function drawOverlay() {
    var box = document.getElementById("overlay");
    if (selected.size < 2) { box.replaceChildren(); return; }
    var url = "/overlay" + q;
    selected.forEach(function (key) { url += "&runs=" + encodeURIComponent(key); });
    fetch(url).then(function (response) { return response.text(); }).then(function (svg) {
      var parsed = new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
      box.replaceChildren(document.importNode(parsed, true));
    });
  }

  var page = document.body.dataset.page;
  if (page === "run") {
    listen("/events/" + encodeURIComponent(document.body.dataset.run) + q, {
      rows: appendRows, panels: replacePanels, problem: problem
    });
  } else if (page === "runs") {
    listen("/events" + q, { runs: showRuns, problem: problem });
    // Ages move on between the server's events.
    setInterval(function () {
      document.querySelectorAll("#runs td.age").forEach(function (td) {
        td.textContent = age(Number(td.dataset.ts));
      });
    }, 5000);
  }
})();
