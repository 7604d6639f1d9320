(function () {
  "use strict";
  // The adapt panel of the corpus list: the job from GET /api/v1/corpus/adapt, polled while
  // it runs, written with textContent only. It stays hidden where that answers no job.
  var panel = document.getElementById("adapt");
  if (!panel) { return; }
  var endpoint = "/api/v1/corpus/adapt";
  var summary = document.getElementById("adapt-summary");
  var start = document.getElementById("adapt-start");
  var status = document.getElementById("adapt-status");
  var bar = document.getElementById("adapt-progress");
  var table = document.getElementById("adapt-figures");
  var switchButton = document.getElementById("adapt-switch");

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  function fixed(x) { return typeof x === "number" ? x.toFixed(3) : ""; }

  function figures(job) {
    var body = table.querySelector("tbody");
    while (body.firstChild) { body.removeChild(body.firstChild); }
    [["served " + job.base_version, job.base], ["adapted " + job.version, job.adapted]]
      .forEach(function (side) {
        var row = document.createElement("tr");
        var f = side[1];
        [side[0], fixed(f.si_precision), fixed(f.si_recall), fixed(f.si_f1),
         fixed(f.tc_micro_f1), fixed(f.ece)].forEach(function (value, i) {
          var cell = document.createElement(i ? "td" : "th");
          cell.textContent = value;
          if (i) { cell.className = "num"; }
          row.appendChild(cell);
        });
        body.appendChild(row);
      });
    table.hidden = false;
  }

  function show(job) {
    var running = job.state === "running";
    var enough = job.reviewed >= job.floor;
    panel.hidden = false;
    bar.hidden = !running;
    table.hidden = true;
    switchButton.hidden = true;
    start.hidden = running || Boolean(job.unavailable);
    start.disabled = !enough;
    start.textContent = "Adapt the model on " + job.reviewed + " reviewed article" +
      (job.reviewed === 1 ? "" : "s");
    summary.textContent = job.unavailable ? "Adapting is not available: " + job.unavailable + "." :
      (job.serving ? "Model " + job.serving.version + " serves now. " : "") +
      (enough ? "" : job.reviewed + " reviewed so far. " + job.floor_note);
    if (running) {
      say("Adapting: " + job.stage + (job.fold ? " (fold " + job.fold + " of " + job.folds + ")" : ""), false);
      if (job.fold) { bar.max = job.folds + 1; bar.value = job.fold; } else { bar.removeAttribute("value"); }
      window.setTimeout(refresh, 1500);
    } else if (job.state === "done") {
      var serving = job.serving && job.serving.version === job.version;
      say("Done on " + job.articles + " reviewed articles (" + job.findings + " gold findings): model " +
          job.version + " written to " + job.model_dir + (serving ? "; it serves now. " : ". ") +
          (job.parts || ""), false);
      figures(job);
      switchButton.hidden = Boolean(serving);
    } else if (job.state === "refused") {
      say("Not adapted: " + job.reason, true);
      if (job.base) { figures(job); }
    } else if (job.state === "failed") {
      say("Adapting failed: " + job.error, true);
    } else {
      say("", false);
    }
  }

  function refresh() {
    fetch(endpoint, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { return null; }  // read-only server: no adapting, the panel stays hidden
      return r.json();
    }).then(function (job) { if (job) { show(job); } })
      .catch(function (err) { say("Cannot read the adaptation's state: " + err, true); });
  }

  function post(url, done) {
    fetch(url, { method: "POST", credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    }).then(function (res) {
      if (!res.ok) {
        start.disabled = switchButton.disabled = false;
        say("Refused: " + (res.body.error || "error"), true);
        return;
      }
      done(res.body);
    }).catch(function (err) {
      start.disabled = switchButton.disabled = false;
      say("Not sent: " + err, true);
    });
  }

  start.addEventListener("click", function () {
    start.disabled = true;
    post(endpoint, refresh);
  });
  switchButton.addEventListener("click", function () {
    switchButton.disabled = true;
    say("Loading the adapted model...", false);
    // once it serves, the refreshed panel says so and hides this button
    post(endpoint + "/switch", function () { switchButton.disabled = false; refresh(); });
  });
  refresh();
})();

(function () {
  "use strict";
  // The review panel of the corpus article view. Data comes from an inert JSON block and is
  // only ever written with textContent; corrections go to the server with fetch().
  var block = document.getElementById("explorer-data");
  if (!block) { return; }
  var data = JSON.parse(block.textContent);
  var panel = document.getElementById("review");
  if (!panel || data.read_only) { return; }
  var status = document.getElementById("review-status");
  var reviewer = document.getElementById("reviewer");
  var list = document.getElementById("corrections");
  var KEY = "propscan.reviewer";
  try { reviewer.value = window.localStorage.getItem(KEY) || ""; } catch (e) { /* private mode */ }
  reviewer.addEventListener("change", function () {
    try { window.localStorage.setItem(KEY, reviewer.value.trim()); } catch (e) { /* ignore */ }
  });

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  function send(body, done) {
    var name = reviewer.value.trim();
    if (!name) { say("Type your name first (it is kept in this browser).", true); reviewer.focus(); return; }
    try { window.localStorage.setItem(KEY, name); } catch (e) { /* ignore */ }
    body.reviewer = name;
    fetch(data.corrections_url, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    }).then(function (res) {
      if (!res.ok) { say("Not saved: " + (res.body.error || "error"), true); return; }
      var c = res.body.correction || body;
      var item = document.createElement("li");
      item.textContent = (c.created || "").slice(0, 19) + " · " + c.reviewer + ": " + c.action +
        (c.technique ? " " + c.technique : "") + (c.new_technique ? " → " + c.new_technique : "") +
        (c.start !== null && c.start !== undefined ? " [" + c.start + ", " + c.end + ")" : "");
      if (list) { list.appendChild(item); }
      say("Saved: " + c.action + ".", false);
      if (done) { done(c); }
    }).catch(function (err) { say("Not saved: " + err, true); });
  }

  panel.querySelectorAll("button[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var row = button.closest("tr");
      var action = button.getAttribute("data-action");
      var body = {
        action: action, start: Number(row.getAttribute("data-start")),
        end: Number(row.getAttribute("data-end")), technique: row.getAttribute("data-technique")
      };
      if (action === "relabel") { body.new_technique = row.querySelector("select").value; }
      send(body, function () { row.className = "done-" + action; });
    });
  });

  // A missed fragment: the selection's offsets in the article text. The .body element holds
  // exactly text[body_start:body_end], so the text before the selection gives its offset.
  var textBox = document.querySelector(".body");
  function offsetOf(node, offset) {
    var range = document.createRange();
    range.setStart(textBox, 0);
    range.setEnd(node, offset);
    return data.body_start + range.toString().length;
  }
  var add = document.getElementById("add-fragment");
  if (add && textBox) {
    add.addEventListener("click", function () {
      var sel = window.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) {
        say("Select the missed fragment in the text first.", true); return;
      }
      var r = sel.getRangeAt(0);
      if (!textBox.contains(r.startContainer) || !textBox.contains(r.endContainer)) {
        say("Select text inside the article text.", true); return;
      }
      var start = offsetOf(r.startContainer, r.startOffset);
      var end = offsetOf(r.endContainer, r.endOffset);
      send({ action: "add", start: start, end: end,
             technique: document.getElementById("add-technique").value });
    });
  }
  var reviewed = document.getElementById("mark-reviewed");
  if (reviewed) {
    reviewed.addEventListener("click", function () { send({ action: "reviewed" }); });
  }
})();
