// mlrun UI: behaviour shared by every page. No inline scripts (the CSP forbids
// them); pages work without JavaScript except for charts and live updates.
"use strict";

(function () {
  // Copy buttons: data-copy holds the text.
  document.addEventListener("click", function (ev) {
    const b = ev.target.closest("button.copy");
    if (!b) return;
    const text = b.getAttribute("data-copy");
    const done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(b); });
    } else {
      selectText(b);
    }
  });
  function selectText(b) {
    const code = b.parentElement.querySelector("code");
    if (!code) return;
    const r = document.createRange();
    r.selectNodeContents(code);
    const s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
    b.textContent = "Selected: press Ctrl+C";
  }

  // Runs page: the experiment's run counts, asked for once the table is
  // painted (counting a large store takes longer than a page of it).
  const stats = document.getElementById("exp-stats");
  if (stats) {
    fetch("/ui/api/experiment-stats?experiment=" + encodeURIComponent(stats.getAttribute("data-experiment")), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        let t = " · " + s.runs + " runs" + (s.deleted ? ", " + s.deleted + " deleted" : "");
        stats.textContent = t;
        if (s.running) {
          stats.appendChild(document.createTextNode(" · "));
          const b = document.createElement("strong");
          b.textContent = s.running + " running";
          stats.appendChild(b);
        }
      }, function () {});
  }

  // Runs table: select all, count the selection, keep it in the URL.
  const form = document.getElementById("runs-form");
  if (form) {
    const boxes = function () { return Array.from(form.querySelectorAll('input[name="run"]')); };
    const all = document.getElementById("select-all");
    const count = document.getElementById("selection-count");
    const update = function () {
      const sel = boxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      count.textContent = sel.length ? sel.length + " selected" : "";
      const u = new URL(window.location.href);
      u.searchParams.delete("run");
      sel.forEach(function (id) { u.searchParams.append("run", id); });
      history.replaceState(null, "", u.pathname + u.search + u.hash);
      form.querySelector('input[name="back"]').value = u.pathname + u.search;
    };
    if (all) all.addEventListener("change", function () { boxes().forEach(function (b) { b.checked = all.checked; }); update(); });
    form.addEventListener("change", function (ev) { if (ev.target.name === "run") update(); });
    form.addEventListener("submit", function (ev) {
      const sel = boxes().filter(function (b) { return b.checked; });
      const compare = ev.submitter && ev.submitter.id === "compare-btn";
      if (compare && sel.length < 2) { ev.preventDefault(); count.textContent = "Select at least two runs to compare"; return; }
      if (!compare && sel.length === 0) { ev.preventDefault(); count.textContent = "Select runs first"; return; }
      if (compare) { // only the selection goes to the compare page
        form.querySelector('input[name="back"]').disabled = true;
      }
    });
    if (boxes().some(function (b) { return b.checked; })) update();
    liveTable(form);
  }

  // Live updates of the runs table through Server-Sent Events: running
  // runs change in place; when a run starts (a new run or a sweep's next
  // trial) the table body is fetched again and swapped in, keeping the
  // selection.
  function liveTable(form) {
    const exp = form.getAttribute("data-live-experiment");
    if (!window.EventSource || !exp) return;
    const note = document.getElementById("live-note");
    let es = null;
    function connect() {
      if (es) es.close();
      const running = document.getElementById("live-runs");
      const q = new URLSearchParams();
      const ids = running ? running.getAttribute("data-runs") : "";
      if (ids) q.set("run", ids);
      q.set("experiment", exp);
      es = new EventSource("/ui/api/events?" + q.toString());
      es.addEventListener("run", function (e) { updateRow(JSON.parse(e.data)); });
      es.addEventListener("newrun", refresh);
    }
    function updateRow(r) {
      const tr = form.querySelector('tr[data-run="' + CSS.escape(r.id) + '"]');
      if (!tr) return;
      const st = tr.querySelector("[data-status]");
      if (st) { st.textContent = r.status; st.className = "status s-" + r.status; }
      const du = tr.querySelector("[data-duration]");
      if (du) du.textContent = r.duration;
      tr.querySelectorAll("[data-cell]").forEach(function (td) {
        const c = td.getAttribute("data-cell");
        if (c.indexOf("metrics.") === 0 && r.metrics[c.slice(8)] !== undefined) td.textContent = r.metrics[c.slice(8)];
      });
    }
    function refresh() {
      fetch(window.location.href, { headers: { "Accept": "text/html" } }).then(function (resp) {
        if (!resp.ok) throw new Error("refresh: HTTP " + resp.status);
        return resp.text();
      }).then(function (html) {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const body = doc.querySelector("#runs tbody");
        if (!body) return;
        const selected = new Set(Array.from(form.querySelectorAll('input[name="run"]:checked')).map(function (b) { return b.value; }));
        body.querySelectorAll('input[name="run"]').forEach(function (b) { b.checked = selected.has(b.value); });
        document.querySelector("#runs tbody").replaceWith(document.importNode(body, true));
        const fresh = doc.getElementById("live-runs");
        const old = document.getElementById("live-runs");
        if (old) old.remove();
        if (fresh) document.body.appendChild(document.importNode(fresh, true));
        note.hidden = false;
        note.textContent = "Updated " + new Date().toLocaleTimeString();
        connect();
      }).catch(function (err) { note.hidden = false; note.textContent = "Live updates paused: " + err.message; });
    }
    connect();
    window.addEventListener("pagehide", function () { if (es) es.close(); });
  }
})();

// mlrunCharts: small helpers over uPlot shared by the run and compare pages.
window.mlrunCharts = {
  palette: ["#0757b8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#1d4ed8"],
  // ema smooths ys with TensorBoard's debiased exponential moving average.
  ema: function (ys, w) {
    if (!w) return ys;
    const out = new Array(ys.length);
    let last = 0, n = 0;
    for (let i = 0; i < ys.length; i++) {
      const y = ys[i];
      if (y === null || !isFinite(y)) { out[i] = y; continue; }
      last = last * w + (1 - w) * y;
      n++;
      out[i] = last / (1 - Math.pow(w, n));
    }
    return out;
  },
  // history fetches a metric's points as columns: {step: [], timestamp: [], value: []}.
  history: function (run, key) {
    return fetch("/ui/api/metric-history?format=columns&run_id=" + encodeURIComponent(run) + "&metric_key=" + encodeURIComponent(key))
      .then(function (r) { if (!r.ok) throw new Error("metric history: HTTP " + r.status); return r.json(); });
  },
  // xs maps a history to x values for an axis mode: step, time (s) or relative (s).
  xs: function (h, mode) {
    const t0 = h.timestamp.length ? h.timestamp[0] : 0;
    if (mode === "time") return h.timestamp.map(function (t) { return t / 1000; });
    if (mode === "relative") return h.timestamp.map(function (t) { return (t - t0) / 1000; });
    return h.step;
  },
  width: function (el) { return Math.max(260, Math.floor(el.getBoundingClientRect().width) || 320); }
};
