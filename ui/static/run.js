// Run page: metric history charts (step or time on x, smoothing, log scale),
// kept in the URL, and live updates while the run is running.
"use strict";

(function () {
  const C = window.mlrunCharts;
  const figs = Array.from(document.querySelectorAll("figure.chart"));
  const xSel = document.getElementById("x-axis"), smooth = document.getElementById("smooth"),
    smoothOut = document.getElementById("smooth-out"), logy = document.getElementById("logy");
  const params = new URLSearchParams(window.location.search);
  if (xSel && params.get("x")) xSel.value = params.get("x");
  if (smooth && params.get("smooth")) smooth.value = params.get("smooth");
  if (logy) logy.checked = params.get("log") === "1";
  const data = new Map(); // key -> points
  const plots = new Map();

  function state() {
    return { x: xSel ? xSel.value : "step", w: smooth ? Number(smooth.value) : 0, log: logy ? logy.checked : false };
  }
  function keepInURL(s) {
    const u = new URL(window.location.href);
    if (s.x !== "step") u.searchParams.set("x", s.x); else u.searchParams.delete("x");
    if (s.w) u.searchParams.set("smooth", String(s.w)); else u.searchParams.delete("smooth");
    if (s.log) u.searchParams.set("log", "1"); else u.searchParams.delete("log");
    history.replaceState(null, "", u.pathname + u.search + u.hash);
  }

  function draw(fig) {
    const key = fig.getAttribute("data-key");
    const h = data.get(key);
    if (!h) return;
    const s = state();
    const n = h.step.length;
    const xs = C.xs(h, s.x);
    let ys = h.value;
    if (s.log) ys = ys.map(function (y) { return y !== null && y > 0 ? y : null; });
    const series = [{ label: s.x === "step" ? "step" : "time" }];
    const cols = [xs];
    if (s.w) {
      series.push({ label: key + " (raw)", stroke: "rgba(7,87,184,0.25)", width: 1, points: { show: false } });
      cols.push(ys);
      series.push({ label: key + " (smoothed)", stroke: C.palette[0], width: 2, points: { show: false } });
      cols.push(C.ema(ys, s.w));
    } else {
      series.push({ label: key, stroke: C.palette[0], width: 2, points: { show: n < 60 } });
      cols.push(ys);
    }
    const el = fig.querySelector(".plot");
    const old = plots.get(key);
    if (old) old.destroy();
    el.textContent = "";
    const start = performance.now();
    const opts = {
      width: C.width(el), height: 220,
      scales: { x: { time: s.x === "time" }, y: { distr: s.log ? 3 : 1 } },
      series: series,
      axes: [{ label: s.x === "step" ? "step" : (s.x === "time" ? "" : "seconds") }, {}],
      legend: { show: true },
      hooks: { draw: [function () { fig.setAttribute("data-drawn-ms", (performance.now() - start).toFixed(1)); fig.setAttribute("data-points", String(n)); }] }
    };
    plots.set(key, new uPlot(opts, cols, el));
  }

  function load(fig) {
    const key = fig.getAttribute("data-key");
    return C.history(fig.getAttribute("data-run"), key).then(function (h) { data.set(key, h); draw(fig); });
  }
  figs.forEach(load);
  function redraw() { const s = state(); if (smoothOut) smoothOut.textContent = String(s.w); keepInURL(s); figs.forEach(draw); }
  [xSel, smooth, logy].forEach(function (el) { if (el) el.addEventListener("input", redraw); });
  if (smoothOut && smooth) smoothOut.textContent = smooth.value;

  // Live: while the run is running, refresh status, duration, metrics and charts.
  const live = document.getElementById("run-live");
  if (live && live.getAttribute("data-live") && window.EventSource) {
    const es = new EventSource("/ui/api/events?run=" + encodeURIComponent(live.getAttribute("data-run")));
    es.addEventListener("run", function (e) {
      const r = JSON.parse(e.data);
      document.querySelectorAll("[data-status]").forEach(function (st) { st.textContent = r.status; st.className = "status s-" + r.status; });
      document.querySelectorAll("[data-duration]").forEach(function (d) { d.textContent = r.duration; });
      Object.keys(r.metrics).forEach(function (k) {
        const td = document.querySelector('td[data-metric="' + CSS.escape(k) + '"]');
        if (td) td.textContent = r.metrics[k];
      });
      figs.forEach(load);
      if (r.status !== "RUNNING") es.close();
    });
    window.addEventListener("pagehide", function () { es.close(); });
  }
})();
