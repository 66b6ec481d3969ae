/**
 * Dashboard script, part 3 of 3: the pictures, drawn as inline SVG from `api/stats` — throughput
 * per minute (completed, failed, retried) over the last hour, and per logical queue the wait- and
 * run-time percentiles with a sparkline of run time per minute. Colours come from the theme's CSS
 * variables. Runs in the scope of dashboard-script.ts; see its rules.
 */
export const DASHBOARD_CHARTS = String.raw`
  var SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === 'text') node.textContent = attrs[k]; else node.setAttribute(k, String(attrs[k])); });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function niceMax(v) {
    if (v <= 5) return 5;
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    return (m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function clock(ms) { return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); }

  /** Stacked bars per minute: completed, failed, retried. */
  function throughputChart(r, width) {
    // Drawn at the panel's own width, so text keeps its size from a phone to a wide screen.
    var W = Math.max(280, Math.round(width)), H = 150, L = 34, B = 18, T = 8, n = r.minutes.length;
    var series = [['completed', r.totals.completed], ['failed', r.totals.failed], ['retried', r.totals.retried]];
    var top = niceMax(Math.max.apply(null, r.minutes.map(function (_, i) { return r.totals.completed[i] + r.totals.failed[i] + r.totals.retried[i]; })));
    var bw = (W - L) / n, y = function (v) { return T + (H - T - B) * (1 - v / top); };
    var nodes = [];
    [0, top / 2, top].forEach(function (v) {
      nodes.push(svg('line', { x1: L, x2: W, y1: y(v), y2: y(v), class: 'grid' }));
      nodes.push(svg('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end', text: String(v) }));
    });
    r.minutes.forEach(function (m, i) {
      var base = 0, x = L + i * bw + 1, tip = clock(m) + ': ';
      series.forEach(function (s) {
        var v = s[1][i];
        tip += v + ' ' + s[0] + ' ';
        if (!v) return;
        nodes.push(svg('rect', { x: x, width: Math.max(1, bw - 2), y: y(base + v), height: y(base) - y(base + v), class: 'c-' + s[0] }));
        base += v;
      });
      nodes.push(svg('rect', { x: x - 1, width: bw, y: T, height: H - T - B, fill: 'transparent' }, [svg('title', { text: tip.trim() })]));
    });
    var ticks = W < 500 ? [0, n - 1] : [0, Math.floor(n / 4), Math.floor(n / 2), Math.floor(3 * n / 4), n - 1];
    ticks.forEach(function (i) {
      nodes.push(svg('text', { x: L + i * bw + bw / 2, y: H - 4, 'text-anchor': i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle', text: i === n - 1 ? 'now' : clock(r.minutes[i]) }));
    });
    return svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, class: 'chart', role: 'img', 'aria-label': 'jobs completed, failed and retried per minute' }, nodes);
  }

  /** A small line chart of per-minute values (null = no data that minute), one path per series. */
  function sparkline(lines, title) {
    var W = 160, H = 34, n = lines[0][1].length;
    var all = [];
    lines.forEach(function (l) { l[1].forEach(function (v) { if (v != null) all.push(v); }); });
    var top = Math.max.apply(null, all.concat([1]));
    var nodes = [svg('title', { text: title })];
    lines.forEach(function (l) {
      var d = '', pen = false;
      l[1].forEach(function (v, i) {
        if (v == null) { pen = false; return; }
        d += (pen ? 'L' : 'M') + (i * (W - 4) / Math.max(1, n - 1) + 2).toFixed(1) + ' ' + (H - 3 - (H - 6) * v / top).toFixed(1);
        pen = true;
      });
      if (d) nodes.push(svg('path', { d: d, class: l[0] }));
      l[1].forEach(function (v, i) { if (v != null && (i === 0 || l[1][i - 1] == null) && (i === n - 1 || l[1][i + 1] == null)) nodes.push(svg('circle', { cx: i * (W - 4) / Math.max(1, n - 1) + 2, cy: H - 3 - (H - 6) * v / top, r: 1.5, class: l[0] })); });
    });
    return svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, class: 'chart' }, nodes);
  }

  function pair(p, a, b) { return p ? duration(p[a]) + ' / ' + duration(p[b]) : '—'; }

  var lastReport = null;
  window.addEventListener('resize', function () {
    clearTimeout(renderStats.timer);
    renderStats.timer = setTimeout(function () { if (lastReport) { seen.throughput = undefined; renderStats(lastReport); } }, 200);
  });
  function renderStats(r) {
    lastReport = r;
    var box = $('throughput'), width = box.clientWidth - 28;
    region('throughput', box, [r, width], function () {
      var sum = function (a) { return a.reduce(function (x, y) { return x + y; }, 0); };
      var c = sum(r.totals.completed), f = sum(r.totals.failed), t = sum(r.totals.retried);
      if (!r.available || (c + f + t === 0 && r.queues.length === 0)) {
        box.replaceChildren(el('p', { className: 'note', 'data-testid': 'no-stats', text: r.available
          ? 'No job finished in the last hour on a node that records statistics. Worker nodes record them with createJobStatsRecorder(app) (clusterkit worker and a dashboard running jobs in its own process do it for you).'
          : 'This app has no store to keep statistics in.' }));
      } else {
        box.replaceChildren(
          el('div', { className: 'legend' }, [
            el('span', {}, [el('i', { style: 'background:var(--ok)' }), c + ' completed']),
            el('span', {}, [el('i', { style: 'background:var(--bad)' }), f + ' failed']),
            el('span', {}, [el('i', { style: 'background:var(--warn)' }), t + ' retried']),
            el('span', { text: 'per minute, from ' + plural(r.nodes.length, 'node') })]),
          throughputChart(r, width));
      }
      patchRows($('perf'), r.queues.map(function (q) {
        var key = q.pluginName + '/' + q.queueName;
        return { key: key, attrs: { 'data-href': hashOf({ tab: 'jobs', state: 'all', plugin: q.pluginName, queue: q.queueName, tenant: '', page: 1, size: view.size, exact: true }), 'data-testid': 'perf-row' },
          cells: [q.pluginName + ' / ' + q.queueName, { text: q.completed, cls: 'num' }, { text: q.failed, cls: 'num' + (q.failed ? ' err' : '') }, { text: q.retried, cls: 'num wide' },
            { text: pair(q.wait, 'p50', 'p95'), cls: 'num', title: q.wait ? 'p90 ' + duration(q.wait.p90) + ', p99 ' + duration(q.wait.p99) + ', ' + q.wait.count + ' starts' : '' },
            { text: pair(q.run, 'p50', 'p95'), cls: 'num', title: q.run ? 'p90 ' + duration(q.run.p90) + ', p99 ' + duration(q.run.p99) + ', ' + q.run.count + ' attempts' : '' },
            { cls: 'wide', sig: 's:' + JSON.stringify([q.series.runP50, q.series.runP95]), node: function () {
              return sparkline([['l-p50', q.series.runP50], ['l-p95', q.series.runP95]], 'run time per minute: p50 (green) and p95 (blue), ' + key);
            } }] };
      }), 'no statistics yet', 7);
    });
  }
`;
