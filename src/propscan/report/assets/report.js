(function () {
  "use strict";
  // Data comes from inert JSON blocks; it is only ever written with textContent, never as HTML.
  var data = JSON.parse(document.getElementById("propscan-data").textContent);
  var tip = document.getElementById("tip");
  var current = null;

  function hidden(span) {
    var classes = document.body.classList;
    return classes.contains("hide-" + span.cls) || (!!span.voice && classes.contains("hide-quoted"));
  }

  function show(frag) {
    var ids = (frag.getAttribute("data-spans") || "").split(" ");
    tip.textContent = "";
    var shown = 0;
    ids.forEach(function (id) {
      var s = data.spans[Number(id)];
      if (!s || hidden(s)) { return; }
      var item = document.createElement("div");
      item.className = "tip-item";
      var name = document.createElement("div");
      name.className = "tip-name";
      name.textContent = s.label + " (" + s.confidence + ")";
      var def = document.createElement("div");
      def.textContent = s.definition;
      item.appendChild(name);
      if (s.voice) {
        var voice = document.createElement("div");
        voice.className = "tip-voice";
        voice.textContent = s.voice;
        item.appendChild(voice);
      }
      item.appendChild(def);
      if (s.reason) {
        var why = document.createElement("div");
        why.className = "tip-reason";
        why.textContent = s.reason;
        item.appendChild(why);
      }
      tip.appendChild(item);
      shown += 1;
    });
    if (!shown) { hide(); return; }
    var r = frag.getBoundingClientRect();
    tip.hidden = false;
    var left = Math.max(4, Math.min(window.scrollX + r.left,
      window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 4));
    tip.style.left = left + "px";
    tip.style.top = (window.scrollY + r.bottom + 6) + "px";
    current = frag;
  }

  function hide() { tip.hidden = true; current = null; }

  function fragOf(el) { return el && el.closest ? el.closest(".frag") : null; }

  document.addEventListener("mouseover", function (e) {
    var f = fragOf(e.target);
    if (f && f !== current) { show(f); } else if (!f && !fragOf(e.relatedTarget)) { hide(); }
  });
  document.addEventListener("focusin", function (e) {
    var f = fragOf(e.target);
    if (f) { show(f); } else { hide(); }
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { hide(); } });

  document.querySelectorAll("ul.legend button[data-cls]").forEach(function (b) {
    b.addEventListener("click", function () {
      var on = b.getAttribute("aria-pressed") !== "true";
      b.setAttribute("aria-pressed", on ? "true" : "false");
      document.body.classList.toggle("hide-" + b.getAttribute("data-cls"), !on);
      hide();
    });
  });

  // The "show quoted findings" checkbox; its state is read once at load too, since a browser
  // may restore a box unticked on going back to the page.
  var showQuoted = document.getElementById("show-quoted");
  if (showQuoted) {
    var applyQuoted = function () {
      document.body.classList.toggle("hide-quoted", !showQuoted.checked);
      hide();
    };
    showQuoted.addEventListener("change", applyQuoted);
    applyQuoted();
  }

  var dl = document.getElementById("download-json");
  if (dl) {
    dl.addEventListener("click", function () {
      var json = document.getElementById("propscan-json").textContent;
      var blob = new Blob([json], { type: "application/json" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = dl.getAttribute("data-filename") || "propscan.json";
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
    });
  }
})();
