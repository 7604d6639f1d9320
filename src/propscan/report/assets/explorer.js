(function () {
  "use strict";
  // The review panel of the corpus article view. Data comes from an inert JSON block and is
  // only ever written with textContent; corrections go to the server with fetch().
  var data = JSON.parse(document.getElementById("explorer-data").textContent);
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
