/* The treemap page of `reachcheck graph --html` (tools/assets/treemap.html):
 * retained bytes per root, and per allocation site inside each root, as a
 * squarified treemap. Click a root to zoom in (Escape, Backspace or "all
 * roots" zooms out; page.html#root=N opens zoomed), a site for its stack.
 * The data is the JSON of the "rc-data" element: {title, sub, roots: [{label,
 * kind, value, blocks, children: [{label, value, blocks, stack: [..]}]}]}.
 * When done, body's data-rendered attribute holds the number of cells drawn
 * (the test in tests/retain reads it). */
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("rc-data").textContent);
  document.getElementById("title").textContent = data.title;
  document.getElementById("sub").textContent = data.sub;

  var colors = {
    global: "#7aa6d6",
    tls: "#f2a65a",
    stack: "#7cc173",
    register: "#ea7f83",
    other: "#86c9c2",
    shared: "#c9c1b9"
  };
  var map = document.getElementById("map");
  var crumbs = document.getElementById("crumbs");
  var detail = document.getElementById("detail");
  var focus = null;   /* index of the zoomed root, or null */

  function fmt(n) {
    if (n >= 1073741824) return (n / 1073741824).toFixed(1) + " GiB";
    if (n >= 1048576) return (n / 1048576).toFixed(1) + " MiB";
    if (n >= 1024) return (n / 1024).toFixed(1) + " KiB";
    return n + " B";
  }

  /* The worst aspect ratio of a row of areas laid along a side. */
  function worst(row, side, sum) {
    var mx = 0, mn = Infinity;
    for (var i = 0; i < row.length; i++) {
      mx = Math.max(mx, row[i].a);
      mn = Math.min(mn, row[i].a);
    }
    var s2 = sum * sum, w2 = side * side;
    return Math.max(w2 * mx / s2, s2 / (w2 * mn));
  }

  /* Squarified treemap (Bruls, Huizing, van Wijk) of items (by .value,
   * biggest first) in the rectangle x, y, w, h: [{item, x, y, w, h}]. */
  function squarify(items, x, y, w, h) {
    var total = 0, out = [], i;
    for (i = 0; i < items.length; i++) total += items[i].value;
    if (total <= 0 || w <= 0 || h <= 0) return out;
    var scale = w * h / total, rest = [];
    for (i = 0; i < items.length; i++) {
      if (items[i].value > 0) rest.push({item: items[i], a: items[i].value * scale});
    }
    while (rest.length) {
      var side = Math.min(w, h), row = [rest[0]], sum = rest[0].a, k = 1;
      while (k < rest.length) {
        var cand = row.concat([rest[k]]);
        if (worst(cand, side, sum + rest[k].a) <= worst(row, side, sum)) {
          row = cand;
          sum += rest[k].a;
          k++;
        } else {
          break;
        }
      }
      rest = rest.slice(k);
      var thick = sum / side, off = 0;
      for (var j = 0; j < row.length; j++) {
        var len = row[j].a / thick;
        if (w >= h) out.push({item: row[j].item, x: x, y: y + off, w: thick, h: len});
        else out.push({item: row[j].item, x: x + off, y: y, w: len, h: thick});
        off += len;
      }
      if (w >= h) {
        x += thick;
        w -= thick;
      } else {
        y += thick;
        h -= thick;
      }
    }
    return out;
  }

  function cell(parent, r, cls, color, label, title) {
    var d = document.createElement("div");
    d.className = "cell " + cls;
    d.style.left = r.x + "px";
    d.style.top = r.y + "px";
    d.style.width = Math.max(0, r.w) + "px";
    d.style.height = Math.max(0, r.h) + "px";
    if (color) d.style.background = color;
    d.title = title;
    var l = document.createElement("div");
    l.className = "lbl";
    l.textContent = label;
    d.appendChild(l);
    parent.appendChild(d);
    return d;
  }

  function describe(root, site) {
    var t = root.label + "\nretains " + fmt(root.value) + " in " + root.blocks + " blocks";
    if (site) {
      t += "\n\n" + site.label + ": " + fmt(site.value) + " in " + site.blocks + " blocks";
      if (site.stack && site.stack.length) t += "\n  " + site.stack.join("\n  ");
    }
    return t;
  }

  /* The sites of root as cells inside its box (rect, in map coordinates),
   * below a label strip of height top. Returns the number of cells. */
  function showSites(box, root, rect, top) {
    var n = 0;
    var rs = squarify(root.children, rect.x, rect.y + top, rect.w, rect.h - top);
    for (var i = 0; i < rs.length; i++) {
      (function (s, r) {
        var c = cell(box, {x: r.x - rect.x, y: r.y - rect.y, w: r.w, h: r.h}, "site", null,
                     s.label + " " + fmt(s.value), describe(root, s));
        c.addEventListener("click", function (ev) {
          ev.stopPropagation();
          detail.textContent = describe(root, s);
        });
      })(rs[i].item, rs[i]);
      n++;
    }
    return n;
  }

  function render() {
    map.textContent = "";
    var W = map.clientWidth, H = map.clientHeight, n = 0;
    crumbs.textContent = "";
    var all = document.createElement("a");
    all.textContent = "all roots";
    all.addEventListener("click", function () {
      focus = null;
      render();
    });
    crumbs.appendChild(all);
    if (focus === null) {
      crumbs.appendChild(document.createTextNode(" \u2014 click a root to zoom in, a site for its stack"));
      var rs = squarify(data.roots, 0, 0, W, H);
      for (var i = 0; i < rs.length; i++) {
        (function (root, r, idx) {
          var box = cell(map, r, "root", colors[root.kind] || colors.other,
                         root.label + " \u2014 " + fmt(root.value), describe(root, null));
          box.addEventListener("click", function () {
            focus = idx;
            render();
          });
          n++;
          if (r.w > 40 && r.h > 40) n += showSites(box, root, {x: r.x, y: r.y, w: r.w, h: r.h}, 16);
        })(rs[i].item, rs[i], data.roots.indexOf(rs[i].item));
      }
    } else {
      var root = data.roots[focus];
      crumbs.appendChild(document.createTextNode(" \u203a " + root.label));
      var box = cell(map, {x: 0, y: 0, w: W, h: H}, "root", colors[root.kind] || colors.other,
                     root.label + " \u2014 " + fmt(root.value), describe(root, null));
      box.addEventListener("click", function () {
        focus = null;
        render();
      });
      n++;
      n += showSites(box, root, {x: 0, y: 0, w: W, h: H}, 18);
      detail.textContent = describe(root, null);
    }
    document.body.setAttribute("data-rendered", String(n));
  }

  /* The table of roots below the map. */
  function table() {
    var t = document.getElementById("roots");
    for (var i = 0; i < data.roots.length; i++) {
      var r = data.roots[i], tr = document.createElement("tr");
      var cells = [String(i + 1), r.growing ? "\u25b2 " + r.label + " (growing)" : r.label, r.kind, fmt(r.value), String(r.blocks)];
      if (r.growing) tr.className = "growing";
      for (var k = 0; k < cells.length; k++) {
        var td = document.createElement("td");
        td.textContent = cells[k];
        if (k === 0 || k > 2) td.className = "n";
        tr.appendChild(td);
      }
      t.appendChild(tr);
    }
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" || e.key === "Backspace") {
      focus = null;
      render();
    }
  });
  window.addEventListener("resize", render);
  var hm = /^#root=([0-9]+)$/.exec(location.hash);
  if (hm && +hm[1] < data.roots.length) focus = +hm[1];
  table();
  render();
})();
