// Compare page: metric histories overlaid, a scatter of any two columns,
// parallel coordinates of everything that varies.
"use strict";

(function () {
  const C = window.mlrunCharts;
  const el = document.getElementById("chart-data");
  if (!el) return;
  const d = JSON.parse(el.textContent);
  const color = function (i) { return C.palette[i % C.palette.length]; };

  // Overlays: one chart per metric, one series per run, aligned on step.
  const box = document.getElementById("overlays");
  d.metrics.forEach(function (key) {
    const fig = document.createElement("figure");
    fig.className = "chart";
    fig.setAttribute("data-key", key);
    const cap = document.createElement("figcaption");
    cap.textContent = key;
    const plot = document.createElement("div");
    plot.className = "plot";
    plot.setAttribute("role", "img");
    plot.setAttribute("aria-label", "History of " + key + " for every compared run");
    fig.appendChild(cap);
    fig.appendChild(plot);
    box.appendChild(fig);
    Promise.all(d.runs.map(function (r) { return C.history(r.id, key); })).then(function (all) {
      const tables = all.map(function (h) {
        const byStep = new Map();
        h.step.forEach(function (st, i) { byStep.set(st, h.value[i]); });
        const xs = Array.from(byStep.keys()).sort(function (a, b) { return a - b; });
        return [xs, xs.map(function (x) { return byStep.get(x); })];
      });
      const data = uPlot.join(tables);
      const series = [{ label: "step" }].concat(d.runs.map(function (r, i) {
        return { label: r.name || r.id.slice(0, 8), stroke: color(i), width: 2, spanGaps: true, points: { show: data[0].length < 40 } };
      }));
      new uPlot({ width: C.width(plot), height: 220, scales: { x: { time: false } }, series: series }, data, plot);
    });
  });

  // Scatter: x and y from the selects, one point per run; kept in the URL.
  const sx = document.getElementById("sx"), sy = document.getElementById("sy"), sc = document.getElementById("scatter");
  let scatter = null;
  function drawScatter() {
    if (!sx || !sx.value || !sy.value) return;
    const xv = d.values[sx.value] || [], yv = d.values[sy.value] || [];
    const pts = [];
    d.runs.forEach(function (r, i) { if (xv[i] !== null && yv[i] !== null && xv[i] !== undefined && yv[i] !== undefined) pts.push([xv[i], yv[i], i]); });
    pts.sort(function (a, b) { return a[0] - b[0]; });
    // one series per run, so each point has its run's colour and legend entry
    const xs = pts.map(function (p) { return p[0]; });
    const cols = [xs];
    const series = [{ label: sx.value }];
    pts.forEach(function (p, k) {
      cols.push(pts.map(function (_, j) { return j === k ? p[1] : null; }));
      series.push({ label: d.runs[p[2]].name || d.runs[p[2]].id.slice(0, 8), stroke: color(p[2]), fill: color(p[2]), paths: function () { return null; }, points: { show: true, size: 10, fill: color(p[2]) } });
    });
    if (scatter) scatter.destroy();
    sc.textContent = "";
    if (!pts.length) { sc.textContent = "No run has both values."; return; }
    scatter = new uPlot({ width: C.width(sc), height: 260, scales: { x: { time: false } }, series: series, axes: [{ label: sx.value }, { label: sy.value }], cursor: { points: { show: false } } }, cols, sc);
    const u = new URL(window.location.href);
    u.searchParams.set("x", sx.value);
    u.searchParams.set("y", sy.value);
    history.replaceState(null, "", u.pathname + u.search);
  }
  if (sx) { sx.addEventListener("change", drawScatter); sy.addEventListener("change", drawScatter); drawScatter(); }

  // Parallel coordinates (SVG): one vertical axis per varying column.
  const pc = document.getElementById("parallel");
  const axes = d.varying.filter(function (k) { return d.values[k]; });
  if (pc && axes.length >= 2) {
    const ns = "http://www.w3.org/2000/svg";
    const W = Math.max(360, axes.length * 110), H = 260, top = 24, bottom = 30, left = 40, right = 40;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    const step = (W - left - right) / (axes.length - 1);
    const scale = axes.map(function (k) {
      const vs = d.values[k].filter(function (v) { return v !== null; });
      let lo = Math.min.apply(null, vs), hi = Math.max.apply(null, vs);
      if (lo === hi) { lo -= 1; hi += 1; }
      return function (v) { return top + (H - top - bottom) * (1 - (v - lo) / (hi - lo)); };
    });
    const text = function (x, y, s, anchor) {
      const t = document.createElementNS(ns, "text");
      t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("text-anchor", anchor || "middle");
      t.textContent = s;
      svg.appendChild(t);
    };
    axes.forEach(function (k, i) {
      const g = document.createElementNS(ns, "g");
      g.setAttribute("class", "axis");
      const l = document.createElementNS(ns, "line");
      const x = left + i * step;
      l.setAttribute("x1", x); l.setAttribute("x2", x); l.setAttribute("y1", top); l.setAttribute("y2", H - bottom);
      g.appendChild(l);
      svg.appendChild(g);
      text(x, H - 10, k.replace(/^(params|metrics)\./, ""));
      const vs = d.values[k].filter(function (v) { return v !== null; });
      text(x + 3, top - 8, String(+Math.max.apply(null, vs).toPrecision(4)), "start");
      text(x + 3, H - bottom + 12, String(+Math.min.apply(null, vs).toPrecision(4)), "start");
    });
    d.runs.forEach(function (r, ri) {
      let dd = "";
      axes.forEach(function (k, i) {
        const v = d.values[k][ri];
        if (v === null) return;
        dd += (dd ? " L " : "M ") + (left + i * step).toFixed(1) + " " + scale[i](v).toFixed(1);
      });
      if (!dd) return;
      const p = document.createElementNS(ns, "path");
      p.setAttribute("d", dd);
      p.setAttribute("stroke", color(ri));
      const t = document.createElementNS(ns, "title");
      t.textContent = r.name || r.id;
      p.appendChild(t);
      svg.appendChild(p);
    });
    pc.appendChild(svg);
  } else if (pc) {
    pc.textContent = "Nothing varies across these runs, or only one column does.";
  }
})();
