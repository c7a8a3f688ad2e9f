/* The timeline of the page of `reachcheck graph --html` (tools/assets/
 * treemap.html), next to the treemap: live bytes over time as a stacked
 * area chart, one area per allocation site with the most live bytes at any
 * point, the rest as "other", the peak marked, and the sites of growing
 * roots highlighted. Drawn as inline SVG (nothing external). The data is
 * Points are joined by straight lines, as heaptrack draws them (the heap
 * between two points is not known). The data is
 * the "timeline" member of the page's JSON: {t_ms: [..], bytes: [..],
 * series: [{label, bytes: [..], growing}], peak: {time_ms, bytes},
 * growth: [{root, site, bytes_per_sec, blocks_per_sec, samples}]}, absent
 * when the input has no timeline. When done, body's data-series attribute
 * holds the number of site areas drawn (the test in tests/overtime reads
 * it) and data-peak the peak's bytes. */
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("rc-data").textContent);
  var box = document.getElementById("timeline");
  var tl = data.timeline;
  if (!tl || !tl.t_ms || tl.t_ms.length < 1) {
    box.textContent = "No timeline in this file (a snapshot or report of a runtime without one).";
    document.body.setAttribute("data-series", "0");
    return;
  }
  var probe = document.createElement("div");
  probe.innerHTML = "<svg></svg>";
  var NS = probe.firstChild.namespaceURI;   /* SVG's, without a URL in the page */
  var palette = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac"];
  var OTHER = "#d0d0d0", GROW = "#d62728";

  function fmt(n) {
    if (n >= 1073741824) return (n / 1073741824).toFixed(1) + " GiB";
    if (n >= 1048576) return (n / 1048576).toFixed(1) + " MiB";
    if (n >= 1024) return (n / 1024).toFixed(1) + " KiB";
    return Math.round(n) + " B";
  }
  function secs(ms) {
    ms = Math.max(0, ms);
    return ms >= 10000 ? (ms / 1000).toFixed(0) + " s" : (ms / 1000).toFixed(2) + " s";
  }
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  var n = tl.t_ms.length, series = tl.series || [];
  /* layers bottom-up: the sites, then "other" (total minus the sites) */
  var layers = [];
  for (var s = 0; s < series.length; s++) layers.push({label: series[s].label, v: series[s].bytes, growing: series[s].growing, color: palette[s % palette.length]});
  var other = [];
  for (var i = 0; i < n; i++) {
    var sum = 0;
    for (s = 0; s < series.length; s++) sum += series[s].bytes[i];
    other.push(Math.max(0, tl.bytes[i] - sum));
  }
  layers.push({label: "other sites", v: other, growing: false, color: OTHER});

  var W = Math.max(320, box.clientWidth || 480), H = 300, L = 64, R = 12, T = 14, B = 30;
  var t0 = tl.t_ms[0], t1 = Math.max(tl.t_ms[n - 1], t0 + 1);
  var ymax = Math.max(1, tl.peak ? tl.peak.bytes : 0);
  for (i = 0; i < n; i++) ymax = Math.max(ymax, tl.bytes[i]);
  function X(t) { return L + (W - L - R) * (t - t0) / (t1 - t0); }
  function Y(b) { return T + (H - T - B) * (1 - b / ymax); }

  var svg = el("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "live bytes over time"}, box);
  for (var k = 0; k <= 4; k++) {   /* axes and grid */
    var yv = ymax * k / 4;
    el("line", {x1: L, x2: W - R, y1: Y(yv), y2: Y(yv), stroke: "#e4e4e4"}, svg);
    el("text", {x: L - 4, y: Y(yv) + 4, "text-anchor": "end", "font-size": 10}, svg).textContent = fmt(yv);
    var tv = t0 + (t1 - t0) * k / 4;
    el("text", {x: X(tv), y: H - 10, "text-anchor": k === 4 ? "end" : k ? "middle" : "start", "font-size": 10}, svg).textContent = secs(tv);
  }
  var base = [];
  for (i = 0; i < n; i++) base.push(0);
  var drawn = 0;
  for (var li = 0; li < layers.length; li++) {
    var ly = layers[li], top = [], d = "";
    for (i = 0; i < n; i++) top.push(base[i] + ly.v[i]);
    for (i = 0; i < n; i++) d += (i ? "L" : "M") + X(tl.t_ms[i]).toFixed(1) + "," + Y(top[i]).toFixed(1);
    for (i = n - 1; i >= 0; i--) d += "L" + X(tl.t_ms[i]).toFixed(1) + "," + Y(base[i]).toFixed(1);
    var area = el("path", {d: d + "Z", fill: ly.color, "fill-opacity": ly.growing ? 0.95 : 0.8,
                           stroke: ly.growing ? GROW : "none", "stroke-width": ly.growing ? 2 : 0,
                           "class": li < series.length ? "series" + (ly.growing ? " growing" : "") : "other"}, svg);
    el("title", {}, area).textContent = ly.label + (ly.growing ? " (growing)" : "");
    if (li < series.length) drawn++;
    base = top;
  }
  if (tl.peak && tl.peak.bytes > 0) {   /* the peak */
    var px = X(Math.min(Math.max(tl.peak.time_ms, t0), t1)), py = Y(tl.peak.bytes);
    el("line", {x1: px, x2: px, y1: T, y2: H - B, stroke: "#222", "stroke-dasharray": "4 3", "class": "peak"}, svg);
    el("circle", {cx: px, cy: py, r: 4, fill: "#222"}, svg);
    var lbl = el("text", {x: Math.min(px + 6, W - 150), y: Math.max(py - 6, T + 10), "font-size": 11, "font-weight": "bold"}, svg);
    lbl.textContent = "peak " + fmt(tl.peak.bytes) + " at " + secs(tl.peak.time_ms);
  }
  var legend = document.createElement("ul");
  legend.className = "legend";
  for (li = 0; li < layers.length; li++) {
    var item = document.createElement("li"), sw = document.createElement("span");
    sw.className = "sw";
    sw.style.background = layers[li].color;
    item.appendChild(sw);
    item.appendChild(document.createTextNode(layers[li].label));
    if (layers[li].growing) {
      item.className = "growing";
      item.appendChild(document.createTextNode(" \u25b2 growing"));
    }
    legend.appendChild(item);
  }
  box.appendChild(legend);
  var growth = tl.growth || [];
  if (growth.length) {
    var g = document.createElement("div");
    g.className = "growth";
    g.appendChild(document.createTextNode("Growing roots:"));
    for (i = 0; i < growth.length; i++) {
      var p = document.createElement("div");
      p.textContent = "\u25b2 " + growth[i].root + ": " + (growth[i].bytes_per_sec >= 0 ? "+" : "") + fmt(growth[i].bytes_per_sec) +
        "/s over " + growth[i].samples + " snapshots, added by " + growth[i].site;
      g.appendChild(p);
    }
    box.appendChild(g);
  }
  document.body.setAttribute("data-series", String(drawn));
  document.body.setAttribute("data-peak", String(tl.peak ? tl.peak.bytes : 0));
})();
