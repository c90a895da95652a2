/**
 * The dashboard: one self-contained HTML page (inline CSS, JS and SVG; no
 * CDN, no network but its own server's JSON API), in the spirit of Spark's
 * Streaming tab. It polls `api/status` and draws the input rate, scheduling
 * delay and processing time over time, the batch table (where each batch ran:
 * in the coordinator, or fanned out to workers; a run of empty batches in one
 * row, as `sparkless status` prints it), and the DAG of the app's DStream
 * graph from `api/graph`.
 *
 * The script below avoids backticks and "${" so it can live in this template.
 */
export function dashboardHtml(options: { title?: string; refreshMs?: number } = {}): string {
  const title = escapeHtml(options.title ?? "Sparkless");
  const refresh = options.refreshMs ?? 1000;
  return String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Streaming</title>
<style>
  :root { --fg:#1d2330; --muted:#6b7280; --line:#e5e7eb; --bg:#f7f8fa; --card:#fff; --blue:#2563eb; --orange:#ea580c; --green:#16a34a; --red:#dc2626; --purple:#7c3aed; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:#111827; color:#fff; }
  header h1 { font-size:18px; margin:0; font-weight:600; }
  header .sub { color:#9ca3af; font-size:13px; }
  header .live { margin-left:auto; font-size:12px; color:#9ca3af; }
  header .dot { display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--green); margin-right:6px; }
  header .dot.stale { background:var(--red); }
  main { padding:18px 24px; max-width:1280px; margin:0 auto; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(160px, 1fr)); gap:12px; margin-bottom:16px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
  .card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  .card .v { font-size:20px; font-weight:600; margin-top:2px; font-variant-numeric:tabular-nums; }
  .charts { display:grid; grid-template-columns:repeat(auto-fit, minmax(360px, 1fr)); gap:12px; margin-bottom:16px; }
  section.panel { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; margin-bottom:16px; }
  section.panel h2 { font-size:14px; margin:0 0 8px; font-weight:600; }
  section.panel h2 .avg { color:var(--muted); font-weight:400; margin-left:8px; }
  svg.chart { width:100%; height:180px; display:block; }
  svg.chart text { font-size:10px; fill:var(--muted); }
  svg.chart .grid { stroke:var(--line); }
  svg.chart .line { fill:none; stroke-width:2; }
  svg.chart .area { opacity:.12; }
  svg.chart .avgline { stroke-dasharray:4 3; stroke-width:1; }
  svg.chart .empty { font-size:12px; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th, td { text-align:right; padding:5px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { color:var(--muted); font-weight:500; font-size:12px; }
  th:first-child, td:first-child, th:last-child, td:last-child { text-align:left; }
  .status { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; }
  .status.completed { background:#dcfce7; color:#166534; }
  .status.running { background:#dbeafe; color:#1e40af; }
  .status.failed { background:#fee2e2; color:#991b1b; }
  td.err { color:var(--red); white-space:normal; text-align:left; font-size:12px; }
  th.mode { text-align:left; }
  td.mode { text-align:left; color:var(--muted); }
  td.mode.fan-out { color:var(--purple); }
  tr.emptyrun td { color:var(--muted); }
  tr.emptyrun .runnote { margin-left:6px; font-size:12px; }
  #dag { width:100%; overflow-x:auto; text-align:center; }
  #dag svg text { font-size:12px; fill:var(--fg); }
  #dag svg text.kind { font-weight:600; }
  #dag svg text.meta { fill:var(--muted); font-size:11px; }
  #dag rect.node { fill:#eef2ff; stroke:#818cf8; }
  #dag rect.node.input { fill:#ecfeff; stroke:#06b6d4; }
  #dag rect.node.output { fill:#fff7ed; stroke:var(--orange); }
  #dag path.edge { fill:none; stroke:#9ca3af; stroke-width:1.5; }
  .muted { color:var(--muted); }
  .error-banner { background:#fee2e2; color:#991b1b; padding:8px 12px; border-radius:6px; margin-bottom:12px; display:none; }
</style>
</head>
<body>
<header>
  <h1>${title}</h1>
  <span class="sub" id="subtitle">Streaming</span>
  <span class="live"><span class="dot" id="livedot"></span><span id="updated">connecting…</span></span>
</header>
<main>
  <div class="error-banner" id="error"></div>
  <div class="cards">
    <div class="card"><div class="k">Batches</div><div class="v" id="c-batches">-</div></div>
    <div class="card"><div class="k">Input records</div><div class="v" id="c-input">-</div></div>
    <div class="card"><div class="k">Avg scheduling delay</div><div class="v" id="c-sched">-</div></div>
    <div class="card"><div class="k">Avg processing time</div><div class="v" id="c-proc">-</div></div>
    <div class="card"><div class="k">Quarantined</div><div class="v" id="c-quar">-</div></div>
    <div class="card"><div class="k">Lag</div><div class="v" id="c-lag">-</div></div>
    <div class="card"><div class="k">Requests per batch</div><div class="v" id="c-requests" title="counted by the coordinator, by service">-</div></div>
    <div class="card"><div class="k">Est. $/month</div><div class="v" id="c-cost" title="requests at this rate, priced as npm run bench; Kinesis and CloudWatch apart">-</div></div>
  </div>
  <div class="charts">
    <section class="panel"><h2>Input rate <span class="avg" id="avg-rate"></span></h2><svg class="chart" id="chart-rate" data-metric="inputRate" viewBox="0 0 480 180" preserveAspectRatio="none"></svg></section>
    <section class="panel"><h2>Scheduling delay <span class="avg" id="avg-sched"></span></h2><svg class="chart" id="chart-sched" data-metric="schedulingDelay" viewBox="0 0 480 180" preserveAspectRatio="none"></svg></section>
    <section class="panel"><h2>Processing time <span class="avg" id="avg-proc"></span></h2><svg class="chart" id="chart-proc" data-metric="processingTime" viewBox="0 0 480 180" preserveAspectRatio="none"></svg></section>
  </div>
  <section class="panel">
    <h2>DStream graph</h2>
    <div id="dag"><span class="muted">loading…</span></div>
  </section>
  <section class="panel">
    <h2>Batches <span class="avg" id="batches-note"></span></h2>
    <table id="batches">
      <thead><tr><th>Batch time</th><th>Input records</th><th>Input rate</th><th>Scheduling delay</th><th>Processing time</th><th>Total delay</th><th>Quarantined</th><th class="mode">Mode</th><th>Status</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<script>
(function () {
  "use strict";
  var REFRESH = ${refresh};
  var SVGNS = "http://www.w3.org/2000/svg";
  function $(id) { return document.getElementById(id); }
  function el(name, attrs, parent) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }
  function p2(n) { return (n < 10 ? "0" : "") + n; }
  function clock(t) {
    var d = new Date(t), ms = d.getMilliseconds();
    return p2(d.getHours()) + ":" + p2(d.getMinutes()) + ":" + p2(d.getSeconds()) + (ms ? "." + ("00" + ms).slice(-3) : "");
  }
  function fmtMs(ms) {
    if (ms === undefined || ms === null || !isFinite(ms)) return "-";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    var s = Math.round(ms / 1000);
    return Math.floor(s / 60) + "m " + p2(s % 60) + "s";
  }
  function fmtInt(n) { return n === undefined || n === null ? "-" : Math.round(n).toLocaleString("en-US"); }
  function fmtRate(n) { return n === undefined || n === null ? "-" : (n < 10 ? n.toFixed(1) : fmtInt(n)) + " rec/s"; }
  function fmtMode(m) { return m === "fan-out" ? "fanned out" : "in process"; }
  var COLUMNS = 9;

  // The table's rows, newest first: a run of two or more consecutive empty batches is one row
  // (batchRows in lib/ui/batches.ts, which sparkless status prints, groups them the same way).
  function tableRows(batches) {
    var rows = [], run = [];
    function endRun() {
      if (run.length === 1) rows.push({ batches: run });
      else if (run.length > 1) rows.push({ batches: run, emptyRun: true });
      run = [];
    }
    batches.slice().reverse().forEach(function (b) {
      if (b.empty) { run.push(b); return; }
      endRun();
      rows.push({ batches: [b] });
    });
    endRun();
    return rows;
  }
  function cell(tr, text, cls) {
    var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td;
  }
  function statusCell(tr, status, note) {
    var st = document.createElement("td"), span = document.createElement("span");
    span.className = "status " + status; span.textContent = status; st.appendChild(span);
    if (note) { var n = document.createElement("span"); n.className = "runnote"; n.textContent = note; st.appendChild(n); }
    tr.appendChild(st);
  }

  // ---- charts: a timeline of one figure per batch ----
  function chart(svg, batches, metric, color, fmt) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var W = 480, H = 180, L = 52, R = 10, T = 10, B = 24;
    var pts = batches.filter(function (b) { return b[metric] !== undefined && b[metric] !== null; })
      .map(function (b) { return { x: b.time, y: b[metric] }; });
    svg.setAttribute("data-points", String(pts.length));
    if (pts.length === 0) {
      el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", "class": "empty" }, svg).textContent = "no batches yet";
      return undefined;
    }
    var x0 = pts[0].x, x1 = pts[pts.length - 1].x;
    if (x1 === x0) { x0 -= 1000; x1 += 1000; }
    var ymax = 0, sum = 0;
    pts.forEach(function (p) { if (p.y > ymax) ymax = p.y; sum += p.y; });
    ymax = ymax > 0 ? ymax * 1.15 : 1;
    function sx(x) { return L + (x - x0) / (x1 - x0) * (W - L - R); }
    function sy(y) { return T + (1 - y / ymax) * (H - T - B); }
    for (var i = 0; i <= 4; i++) {
      var gy = ymax * i / 4;
      el("line", { x1: L, x2: W - R, y1: sy(gy), y2: sy(gy), "class": "grid" }, svg);
      el("text", { x: L - 4, y: sy(gy) + 3, "text-anchor": "end" }, svg).textContent = fmt(gy);
    }
    [x0, (x0 + x1) / 2, x1].forEach(function (t, i) {
      el("text", { x: sx(t), y: H - 6, "text-anchor": i === 0 ? "start" : i === 2 ? "end" : "middle" }, svg).textContent = clock(Math.round(t));
    });
    var d = pts.map(function (p, i) { return (i ? "L" : "M") + sx(p.x).toFixed(1) + "," + sy(p.y).toFixed(1); }).join(" ");
    el("path", { d: d + " L" + sx(pts[pts.length - 1].x).toFixed(1) + "," + sy(0) + " L" + sx(pts[0].x).toFixed(1) + "," + sy(0) + " Z", "class": "area", fill: color }, svg);
    el("path", { d: d, "class": "line", stroke: color }, svg);
    var avg = sum / pts.length;
    el("line", { x1: L, x2: W - R, y1: sy(avg), y2: sy(avg), "class": "avgline", stroke: color }, svg);
    pts.slice(-120).forEach(function (p) {
      var c = el("circle", { cx: sx(p.x), cy: sy(p.y), r: 2.5, fill: color, "class": "point" }, svg);
      el("title", {}, c).textContent = clock(p.x) + ": " + fmt(p.y);
    });
    return avg;
  }

  // ---- the DAG: layers from the inputs down ----
  function drawDag(graph) {
    var box = $("dag");
    box.innerHTML = "";
    if (!graph || !graph.nodes || graph.nodes.length === 0) {
      box.innerHTML = "<span class='muted'>No graph: start the dashboard with the app module (sparkless ui app.ts) to draw it.</span>";
      return;
    }
    var byId = {}, depth = {}, layers = [];
    graph.nodes.forEach(function (n) { byId[n.id] = n; });
    graph.nodes.forEach(function (n) {
      var d = 0;
      n.parents.forEach(function (p) { if (depth[p] !== undefined && depth[p] + 1 > d) d = depth[p] + 1; });
      depth[n.id] = d;
      (layers[d] = layers[d] || []).push(n);
    });
    var NW = 168, NH = 46, GX = 26, GY = 40, PAD = 12;
    var maxPer = 0;
    layers.forEach(function (l) { if (l.length > maxPer) maxPer = l.length; });
    var W = PAD * 2 + maxPer * NW + (maxPer - 1) * GX, H = PAD * 2 + layers.length * NH + (layers.length - 1) * GY;
    var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, id: "dag-svg" });
    var defs = el("defs", {}, svg);
    var m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#9ca3af" }, m);
    var pos = {};
    layers.forEach(function (l, d) {
      var rowW = l.length * NW + (l.length - 1) * GX, left = (W - rowW) / 2;
      l.forEach(function (n, i) { pos[n.id] = { x: left + i * (NW + GX), y: PAD + d * (NH + GY) }; });
    });
    graph.nodes.forEach(function (n) {
      n.parents.forEach(function (p) {
        if (!pos[p]) return;
        var a = pos[p], b = pos[n.id];
        var x1 = a.x + NW / 2, y1 = a.y + NH, x2 = b.x + NW / 2, y2 = b.y - 2, my = (y1 + y2) / 2;
        el("path", { d: "M" + x1 + "," + y1 + " C" + x1 + "," + my + " " + x2 + "," + my + " " + x2 + "," + y2, "class": "edge", "marker-end": "url(#arrow)", "data-from": p, "data-to": n.id }, svg);
      });
    });
    graph.nodes.forEach(function (n) {
      var p = pos[n.id];
      var g = el("g", { "class": "dag-node", "data-id": n.id, transform: "translate(" + p.x + "," + p.y + ")" }, svg);
      el("rect", { width: NW, height: NH, rx: 6, "class": "node" + (n.input ? " input" : "") + (n.output ? " output" : "") }, g);
      el("text", { x: NW / 2, y: 19, "text-anchor": "middle", "class": "kind" }, g).textContent = n.kind;
      var meta = n.source ? "stream " + n.source : (n.name || n.id);
      if (n.slideMs !== graph.batchIntervalMs) meta += " · every " + fmtMs(n.slideMs);
      el("text", { x: NW / 2, y: 36, "text-anchor": "middle", "class": "meta" }, g).textContent = meta;
      el("title", {}, g).textContent = n.id + (n.parents.length ? " ← " + n.parents.join(", ") : "");
    });
    box.appendChild(svg);
  }

  function render(s) {
    var batches = s.batches || [];
    $("subtitle").textContent = "app " + s.app + (s.batchIntervalMs ? " · batch interval " + fmtMs(s.batchIntervalMs) : "");
    document.title = s.app + " · Streaming";
    var t = s.totals;
    $("c-batches").textContent = fmtInt(t.batches) + (t.failed ? " (" + t.failed + " failed)" : "");
    $("c-input").textContent = fmtInt(t.inputRecords);
    $("c-sched").textContent = fmtMs(t.avgSchedulingDelay);
    $("c-proc").textContent = fmtMs(t.avgProcessingTime);
    $("c-quar").textContent = fmtInt(t.quarantinedRecords);
    var c = s.cost;
    $("c-requests").textContent = c ? Object.keys(c.perBatch).sort().map(function (k) { var n = c.perBatch[k]; return k + " " + (n < 10 ? n.toFixed(1) : fmtInt(n)); }).join(" · ") : "-";
    $("c-cost").textContent = c ? "$" + (c.usdPerMonth < 10 ? c.usdPerMonth.toFixed(2) : fmtInt(c.usdPerMonth)) : "-";
    $("c-lag").textContent = s.lag.lagMs !== undefined ? fmtMs(s.lag.lagMs) + (s.lag.waiting ? " · " + s.lag.waiting + " waiting" : "") : (s.lag.waiting ? s.lag.waiting + " waiting" : "-");
    var a = chart($("chart-rate"), batches, "inputRate", "#2563eb", function (v) { return v < 10 ? v.toFixed(1) : fmtInt(v); });
    $("avg-rate").textContent = a === undefined ? "" : "avg " + fmtRate(a);
    a = chart($("chart-sched"), batches, "schedulingDelay", "#ea580c", fmtMs);
    $("avg-sched").textContent = a === undefined ? "" : "avg " + fmtMs(a);
    a = chart($("chart-proc"), batches, "processingTime", "#7c3aed", fmtMs);
    $("avg-proc").textContent = a === undefined ? "" : "avg " + fmtMs(a);
    var tbody = $("batches").tBodies[0];
    var rows = tableRows(batches).slice(0, 100), shownBatches = 0;
    tbody.innerHTML = "";
    rows.forEach(function (row) {
      var tr = document.createElement("tr"), b = row.batches[0];
      shownBatches += row.batches.length;
      tr.setAttribute("data-time", String(b.time));
      tr.setAttribute("data-status", b.status);
      tr.setAttribute("data-mode", b.mode);
      if (row.emptyRun) {
        // newest first: the run's first batch is its last entry
        var first = row.batches[row.batches.length - 1];
        tr.className = "emptyrun";
        tr.setAttribute("data-empty", String(row.batches.length));
        [clock(first.time) + " – " + clock(b.time), "0", fmtRate(b.inputRate), "-", "-", "-", "0"].forEach(function (v) { cell(tr, v); });
        cell(tr, fmtMode("in-process"), "mode");
        statusCell(tr, "completed", row.batches.length + " empty batches");
        tbody.appendChild(tr);
        return;
      }
      [clock(b.time), fmtInt(b.inputRecords), fmtRate(b.inputRate), fmtMs(b.schedulingDelay), fmtMs(b.processingTime), fmtMs(b.totalDelay), fmtInt(b.quarantinedRecords)].forEach(function (v) { cell(tr, v); });
      cell(tr, fmtMode(b.mode), "mode " + b.mode);
      statusCell(tr, b.status);
      tbody.appendChild(tr);
      if (b.error) {
        var er = document.createElement("tr"), td = document.createElement("td");
        td.colSpan = COLUMNS; td.className = "err"; td.textContent = b.error; er.appendChild(td); tbody.appendChild(er);
      }
    });
    if (rows.length === 0) {
      var tr0 = document.createElement("tr"), td0 = document.createElement("td");
      td0.colSpan = COLUMNS; td0.className = "muted"; td0.textContent = "No batches yet: one appears every batch interval once the coordinator runs.";
      tr0.appendChild(td0); tbody.appendChild(tr0);
    }
    $("batches-note").textContent = s.totalBatches > shownBatches ? "newest " + fmtInt(shownBatches) + " of " + fmtInt(s.totalBatches) + " batches" : "";
  }

  var graphLoaded = false;
  function poll() {
    fetch("api/status?limit=300", { cache: "no-store" }).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(e.error || r.statusText); });
      return r.json();
    }).then(function (s) {
      render(s);
      $("error").style.display = "none";
      $("livedot").className = "dot";
      $("updated").textContent = "updated " + clock(Date.now() - (Date.now() % 1000));
      document.body.setAttribute("data-updates", String(Number(document.body.getAttribute("data-updates") || "0") + 1));
    }).catch(function (e) {
      $("error").textContent = "Cannot read the batch log: " + e.message;
      $("error").style.display = "block";
      $("livedot").className = "dot stale";
    }).then(function () { setTimeout(poll, REFRESH); });
    if (!graphLoaded) {
      fetch("api/graph", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (g) { graphLoaded = true; drawDag(g); }).catch(function () {});
    }
  }
  poll();
})();
</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
