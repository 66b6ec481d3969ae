/**
 * Dashboard script, the views — overview (totals, logical queues grouped by plugin/queue with one
 * pause/resume each, nodes, dead-letter channels, physical queues), the job list (state tabs, prefix
 * filters, search, paging), dead letters and schedules — and the actions they offer; the job detail
 * is in dashboard-script-detail.ts. Runs in the scope of dashboard-script.ts; see its rules.
 */
export const DASHBOARD_VIEWS = String.raw`
  var info = { nodeId: null };
  var lastTotals = {};

  function renderOverview(o) {
    lastTotals = o.totals;
    $('updated').textContent = 'updated ' + new Date(o.at).toLocaleTimeString();
    region('totals', null, o.totals, function (t) {
      $('totals').replaceChildren.apply($('totals'), STATES.map(function (s) {
        return el('a', { href: '#/jobs?state=' + s, 'data-testid': 'total-' + s, title: 'show ' + s + ' jobs' },
          [el('span', { className: 'badge ' + s, text: s }), ' ', el('b', { text: String(t[s] || 0) })]);
      }));
    });
    region('states', null, [o.totals, view.state], renderStateTabs);
    region('logical', $('logical'), o.queues, function (queues) {
      var groups = [], byKey = {};
      queues.forEach(function (q) {
        var k = q.pluginName + '/' + q.queueName;
        if (!byKey[k]) { byKey[k] = { pluginName: q.pluginName, queueName: q.queueName, paused: q.paused, rows: [], sum: {} }; groups.push(byKey[k]); }
        byKey[k].rows.push(q);
        STATES.forEach(function (s) { byKey[k].sum[s] = (byKey[k].sum[s] || 0) + q[s]; });
      });
      var rows = [];
      groups.forEach(function (g) {
        var ref = { plugin: g.pluginName, queue: g.queueName };
        rows.push({ key: 'g:' + JSON.stringify(ref), cls: 'group', attrs: { 'data-href': hashOf({ tab: 'jobs', state: 'all', plugin: g.pluginName, queue: g.queueName, tenant: '', page: 1, size: view.size, exact: true }), 'data-testid': 'queue-group' },
          cells: [g.pluginName + ' / ' + g.queueName + '  (' + plural(g.rows.length, 'tenant') + ')'].concat(STATES.map(function (s) { return { text: g.sum[s], cls: 'num' }; }),
            [badge(g.paused ? 'paused' : 'running'),
             cfg.readOnly ? '' : button(g.paused ? 'Resume all tenants' : 'Pause all tenants', g.paused ? 'resume' : 'pause', ref)]) });
        g.rows.forEach(function (q) {
          rows.push({ key: 't:' + JSON.stringify([q.pluginName, q.queueName, q.tenantId || null]), cls: 'tenant',
            attrs: { 'data-href': hashOf({ tab: 'jobs', state: 'all', plugin: q.pluginName, queue: q.queueName, tenant: q.tenantId || '', page: 1, size: view.size, exact: true }), 'data-testid': 'queue-row' },
            cells: [q.tenantId || '(no tenant)'].concat(STATES.map(function (s) { return { text: q[s], cls: 'num' }; }), ['', '']) });
        });
      });
      patchRows($('logical'), rows, 'no jobs yet', 8);
      var uniq = function (f) { return Array.from(new Set(queues.map(f).filter(Boolean))).sort(); };
      [['dl-plugins', uniq(function (q) { return q.pluginName; })], ['dl-queues', uniq(function (q) { return q.queueName; })], ['dl-tenants', uniq(function (q) { return q.tenantId; })]]
        .forEach(function (d) { $(d[0]).replaceChildren.apply($(d[0]), d[1].map(function (v) { return el('option', { value: v }); })); });
    });
    // A node is listed while its heartbeat lives; its beat time is left out so a beat alone changes nothing here.
    var nodesShown = o.nodes.map(function (n) { return { nodeId: n.nodeId, worker: n.worker, handlers: n.handlers }; });
    region('nodes', $('nodes'), nodesShown, function (nodes) {
      patchRows($('nodes'), nodes.map(function (n) {
        var runs = n.handlers.map(function (h) { return h.pluginName + '/' + h.queueName + '/' + h.jobName + ' ×' + h.concurrency + (h.running ? ' (' + h.running + ' running)' : ''); });
        return { key: n.nodeId, attrs: { 'data-testid': 'node-row' }, cells: [n.nodeId + (n.nodeId === info.nodeId ? '  (this dashboard)' : ''),
          badge(n.worker ? 'worker' : 'producer only', n.worker ? 'running' : 'waiting'), runs.join(', ') || '—'] };
      }), 'no live node', 3);
    });
    region('physical', $('physical'), o.physical, function (physical) {
      patchRows($('physical'), physical.map(function (p) {
        return { key: p.channel, cells: [p.channel, { text: p.waiting, cls: 'num' }, { text: p.delayed, cls: 'num' }, { text: p.active, cls: 'num' }, { text: p.dead, cls: 'num' }] };
      }), 'no physical queue configured', 5);
      patchRows($('dead-channels'), physical.map(function (p) {
        return { key: p.channel, attrs: { 'data-href': '#/dead?channel=' + encodeURIComponent(p.channel), 'data-testid': 'dead-channel' },
          cells: [p.channel, { text: p.dead, cls: 'num' + (p.dead ? ' err' : '') }] };
      }), 'no dead-letter channel configured', 2);
      var list = $('dl-channels');
      list.replaceChildren.apply(list, physical.map(function (p) { return el('option', { value: p.channel }); }));
    });
  }

  function renderStateTabs(data) {
    var t = data[0], tabs = $('state-tabs');
    tabs.replaceChildren.apply(tabs, LIST_STATES.map(function (s) {
      return el('button', { type: 'button', className: s === view.state ? 'on' : '', 'data-testid': 'state-' + s, 'data-action': 'state', 'data-state': s,
        text: t[s] === undefined ? s : s + ' (' + t[s] + ')' });
    }));
    $('retry-all').hidden = view.state !== 'failed';
    $('promote-all').hidden = view.state !== 'delayed';
  }

  function filterQuery() {
    var q = new URLSearchParams();
    ['plugin', 'queue', 'tenant'].forEach(function (k) { if (view[k]) q.set(k, view[k]); });
    if (view.exact) q.set('exact', '1');
    return q;
  }

  function jobRow(j) {
    var ts = j.timestamps || {};
    var note = j.failedReason ? { text: j.failedReason, cls: 'err' } : j.state === 'delayed' ? 'due ' + time(ts.runAt) : j.state === 'active' && j.owner ? 'on ' + j.owner : '';
    return { key: j.id, cls: j.id === view.job ? 'sel' : '', attrs: { 'data-href': hashOf(Object.assign({}, view, { job: j.id })), 'data-testid': 'job-row', 'data-job-id': j.id },
      cells: [j.id, j.pluginName + ' / ' + j.queueName + ' / ' + j.jobName, j.tenantId || '—', badge(j.state),
        { text: j.attemptsMade + (j.maxAttempts ? ' / ' + j.maxAttempts : ''), cls: 'num wide' }, { text: time(ts.enqueuedAt), cls: 'wide' }, note] };
  }

  function loadJobs() {
    if (view.q) {
      var sq = filterQuery(); sq.set('q', view.q);
      return api('search?' + sq).then(function (r) {
        region('jobs', $('job-rows'), r, function () {
          $('list-note').textContent = plural(r.jobs.length, 'job') + ' with id "' + view.q + '"';
          patchRows($('job-rows'), r.jobs.map(jobRow), 'no job has the id "' + view.q + '"', 7);
          $('pager').hidden = true;
        });
      });
    }
    var q = filterQuery();
    if (view.state !== 'all') q.set('state', view.state);
    q.set('offset', String((view.page - 1) * view.size)); q.set('limit', String(view.size));
    return api('jobs?' + q).then(function (r) {
      var pages = Math.max(1, Math.ceil(r.total / view.size));
      if (view.page > pages) { go({ page: pages }); return; }
      region('jobs', $('job-rows'), [r, view.job], function () {
        $('list-note').textContent = (view.plugin || view.queue || view.tenant ? 'filtered ' + (view.exact ? '(exact names)' : '(prefixes)') + ' · ' : '') + (r.capped ? 'only the newest jobs were searched · ' : '');
        patchRows($('job-rows'), r.jobs.map(jobRow), 'no ' + (view.state === 'all' ? '' : view.state + ' ') + 'jobs', 7);
        var first = r.total ? (view.page - 1) * view.size + 1 : 0, last = Math.min(view.page * view.size, r.total);
        $('pager').hidden = false;
        $('page').textContent = r.total ? first + '–' + last + ' of ' + r.total + ' · page ' + view.page + ' of ' + pages : '';
        $('prev').disabled = view.page <= 1; $('next').disabled = view.page >= pages;
        $('jump').max = String(pages);
      });
    });
  }

  function loadDead() {
    var q = new URLSearchParams({ offset: String((view.page - 1) * view.size), limit: String(view.size) });
    if (view.channel) q.set('channel', view.channel);
    return api('dead-letters?' + q).then(function (r) {
      if (document.activeElement !== $('dl-channel')) $('dl-channel').value = r.channel || '';
      region('dead', $('dl-rows'), r, function () {
        patchRows($('dl-rows'), r.deadLetters.map(function (d) {
          var e = typeof d.error === 'string' ? { message: d.error } : d.error;
          var summary = (e.code ? e.code + ': ' : '') + e.message;
          var ref = { channel: r.channel, id: d.id };
          return { key: d.id, attrs: { 'data-testid': 'dead-row' }, cells: [{ text: d.id, cls: 'wide' }, { text: d.attempt, cls: 'num' }, { text: time(d.failedAt), cls: 'wide' },
            { sig: 'e:' + summary + (e.stack || ''), cls: 'err', node: function () {
              return e.stack ? el('details', { 'data-testid': 'dead-error' }, [el('summary', { text: summary }), el('pre', { className: 'muted', text: e.stack })]) : el('span', { text: summary });
            } },
            { sig: 'm:' + JSON.stringify(d.message), node: function () { return el('pre', { text: JSON.stringify(d.message) }); } },
            cfg.readOnly ? '' : { sig: 'a:' + JSON.stringify(ref), node: function () {
              return el('span', { className: 'row', style: 'margin:0' }, [button('Redrive', 'redrive', ref).node(), button('Delete', 'dl-delete-one', ref, 'danger').node()]);
            } }] };
        }), r.channel ? 'no dead letters' : 'enter a channel', 6);
        var total = r.counts ? r.counts.dead : 0;
        $('dl-page').textContent = total ? ((view.page - 1) * view.size + 1) + '–' + Math.min(view.page * view.size, total) + ' of ' + total : '';
        $('dl-prev').disabled = view.page <= 1; $('dl-next').disabled = view.page * view.size >= total;
      });
    });
  }

  function loadSchedules() {
    return api('schedules').then(function (r) {
      region('schedules', $('sched-rows'), r, function () {
        patchRows($('sched-rows'), r.schedules.map(function (s) {
          var sid = s.scheduleId || s.id;
          return { key: sid, cells: [sid, [s.pluginName, s.queueName, s.jobName].join(' / '), s.cron ? s.cron + (s.tz ? ' ' + s.tz : '') : (s.everyMs ? 'every ' + duration(s.everyMs) : ''),
            s.tenantId || '—', time(s.nextRunAt || s.next), cfg.readOnly ? '' : button('Remove', 'sched-remove', { id: sid }, 'danger')] };
        }), 'no schedules', 6);
      });
    });
  }

  var ACTIONS = {
    state: function (d) { go({ state: d.state, page: 1, q: '' }); },
    pause: function (d) { action('queues/pause', { pluginName: d.plugin, queueName: d.queue }, function (r) { return r.pluginName + '/' + r.queueName + ' paused for every tenant'; },
      'Pause ' + d.plugin + '/' + d.queue + ' for EVERY tenant? Running jobs finish; no new job of this queue starts on any node until you resume it.'); },
    resume: function (d) { action('queues/resume', { pluginName: d.plugin, queueName: d.queue }, function (r) { return r.pluginName + '/' + r.queueName + ' resumed'; }); },
    redrive: function (d) { action('dead-letters/redrive', { channel: d.channel, ids: [d.id] }, function (x) { return 'redrove ' + x.count; }); },
    'dl-delete-one': function (d) { action('dead-letters/delete', { channel: d.channel, ids: [d.id] }, function (x) { return 'deleted ' + x.count; }, 'Delete dead letter ' + d.id + '?'); },
    'sched-remove': function (d) { action('schedules/' + encodeURIComponent(d.id) + '/remove', {}, function () { return 'removed'; }, 'Remove schedule ' + d.id + '?'); }
  };
  var JOB_ACTIONS = {
    retry: ['retry', {}, 'retrying', null], promote: ['promote', {}, 'running now', null], cancel: ['cancel', {}, 'cancelled', null],
    abort: ['cancel', { abortActive: true }, 'abort requested', 'Abort the running job? Its handler is signalled to stop and the job ends cancelled.'],
    remove: ['remove', {}, 'removed', 'Remove this job for good?']
  };

  function bindViews() {
    api('info').then(function (i) { info = i; seen.nodes = undefined; }).catch(function () {});
    $('search-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var text = $('search').value.trim();
      if (!text) { go({ q: '' }); return; }
      var q = filterQuery(); q.set('q', text);
      api('search?' + q).then(function (r) {
        if (r.jobs.length === 1) go({ q: '', job: r.jobs[0].id });
        else if (r.jobs.length === 0) toast('no job has the id "' + text + '"', true);
        else go({ q: text, page: 1 });
      }).catch(function (err) { toast(err.message, true); });
    });
    $('filter-form').addEventListener('submit', function (e) {
      e.preventDefault();
      go({ plugin: $('f-plugin').value.trim(), queue: $('f-queue').value.trim(), tenant: $('f-tenant').value.trim(), exact: false, page: 1, q: '' });
    });
    $('f-clear').addEventListener('click', function () { go({ plugin: '', queue: '', tenant: '', exact: false, page: 1, q: '' }); });
    $('prev').addEventListener('click', function () { go({ page: Math.max(1, view.page - 1) }); });
    $('next').addEventListener('click', function () { go({ page: view.page + 1 }); });
    $('size').addEventListener('change', function () { go({ size: parseInt($('size').value, 10), page: 1 }); });
    var jump = function () { var n = parseInt($('jump').value, 10); if (n > 0) go({ page: n }); };
    $('jump-go').addEventListener('click', jump);
    $('jump').addEventListener('keydown', function (e) { if (e.key === 'Enter') jump(); });
    $('d-close').addEventListener('click', function () { go({ job: null }); });
    document.querySelectorAll('[data-job-action]').forEach(function (b) {
      b.addEventListener('click', function () {
        var a = JOB_ACTIONS[b.dataset.jobAction], id = view.job;
        action('jobs/' + encodeURIComponent(id) + '/' + a[0], a[1], function (r) {
          if (r.success && b.dataset.jobAction === 'remove') go({ job: null });
          detailFinal = false;
          return r.success ? a[2] : 'not done: ' + r.reason;
        }, a[3]);
      });
    });
    var bulk = function () { return { pluginName: view.plugin, queueName: view.queue, tenantId: view.tenant, exact: view.exact }; };
    $('retry-all').addEventListener('click', function () { action('jobs/retry-failed', bulk(), function (r) { return 'retried ' + r.retried; }, 'Retry every failed job that matches the filter?'); });
    $('promote-all').addEventListener('click', function () { action('jobs/promote-delayed', bulk(), function (r) { return 'running ' + r.promoted + ' now'; }, 'Run every delayed job that matches the filter now?'); });
    $('clean-btn').addEventListener('click', function () {
      var state = $('clean-state').value, age = $('clean-age').value.trim();
      action('clean', { state: state, olderThan: age }, function (r) { return 'removed ' + r.removed; }, 'Remove every ' + state + ' job (all queues) that finished more than ' + age + ' ago?');
    });
    $('dl-load').addEventListener('click', function () { go({ channel: $('dl-channel').value.trim(), page: 1 }); });
    $('dl-prev').addEventListener('click', function () { go({ page: Math.max(1, view.page - 1) }); });
    $('dl-next').addEventListener('click', function () { go({ page: view.page + 1 }); });
    $('dl-redrive').addEventListener('click', function () {
      if ($('dl-channel').value) action('dead-letters/redrive', { channel: $('dl-channel').value }, function (r) { return 'redrove ' + r.count; }, 'Redrive every dead letter of ' + $('dl-channel').value + '?');
    });
    $('dl-delete').addEventListener('click', function () {
      if ($('dl-channel').value) action('dead-letters/delete', { channel: $('dl-channel').value }, function (r) { return 'deleted ' + r.count; }, 'Delete every dead letter of ' + $('dl-channel').value + '?');
    });
  }
`;
