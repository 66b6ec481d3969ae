/**
 * The dashboard's browser script (vanilla JS, ES2020), inlined by the page. Kept in its own module
 * so the page markup stays readable. It must contain no backticks, no `${` and no closing script tag.
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var cfg = window.CLUSTERKIT || {};
  var $ = function (id) { return document.getElementById(id); };
  var STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'];
  var LIST_STATES = STATES.concat(['cancelled']);
  var view = { tab: 'queues', state: 'failed', offset: 0, limit: 20, filter: {}, jobId: null, dlOffset: 0, channel: null };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'onclick') node.addEventListener('click', attrs[k]);
      else if (k === 'className') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c != null) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function td(text, cls) { return el('td', { text: text == null ? '' : String(text), className: cls || '' }); }
  function fill(tbody, rows, empty, cols) {
    tbody.replaceChildren.apply(tbody, rows.length ? rows : [el('tr', {}, [el('td', { text: empty, className: 'muted', colspan: String(cols) })])]);
  }
  function time(ms) { return ms ? new Date(ms).toLocaleString() : ''; }
  function json(v) { return v === undefined ? '' : JSON.stringify(v, null, 2); }
  function toast(text, bad) {
    var t = $('toast'); t.textContent = text; t.className = bad ? 'err' : ''; t.style.display = 'block';
    clearTimeout(toast.timer); toast.timer = setTimeout(function () { t.style.display = 'none'; }, 3500);
  }

  function api(path, body) {
    var init = { credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (body !== undefined) { init.method = 'POST'; init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch('api/' + path, init).then(function (res) {
      if (res.status === 401) { location.href = cfg.tokenLogin ? 'login' : location.href; throw new Error('not logged in'); }
      return res.json().then(function (data) {
        if (!res.ok) throw new Error((data && data.error && data.error.message) || ('HTTP ' + res.status));
        return data;
      });
    });
  }
  function action(path, body, done) {
    return api(path, body || {}).then(function (r) { if (done) toast(done(r)); return refresh(); })
      .catch(function (e) { toast(e.message, true); });
  }

  function showTab(tab) {
    view.tab = tab;
    document.querySelectorAll('nav button').forEach(function (b) { b.classList.toggle('on', b.dataset.tab === tab); });
    document.querySelectorAll('main section').forEach(function (s) { s.classList.toggle('on', s.id === tab); });
    return refresh();
  }

  function renderOverview(o) {
    var totals = $('totals') || document.querySelector('[data-testid=totals]');
    totals.replaceChildren.apply(totals, STATES.map(function (s) {
      return el('span', { 'data-testid': 'total-' + s }, [el('span', { className: 'badge ' + s, text: s }), ' ', el('b', { text: String(o.totals[s] || 0) })]);
    }));
    fill($('physical'), o.physical.map(function (p) {
      return el('tr', {}, [td(p.channel), td(p.waiting, 'num'), td(p.delayed, 'num'), td(p.active, 'num'), td(p.dead, 'num')]);
    }), 'no physical queue configured', 5);
    fill($('logical'), o.queues.map(function (q) {
      var ref = { pluginName: q.pluginName, queueName: q.queueName };
      var btn = cfg.readOnly ? null : el('button', { className: 'act', text: q.paused ? 'Resume' : 'Pause', onclick: function () {
        action('queues/' + (q.paused ? 'resume' : 'pause'), ref, function (r) { return r.pluginName + '/' + r.queueName + (r.paused ? ' paused' : ' resumed'); });
      } });
      return el('tr', { className: 'click', 'data-testid': 'queue-row' }, [td(q.pluginName), td(q.queueName), td(q.tenantId || '-'), td(q.waiting, 'num'), td(q.active, 'num'),
        td(q.delayed, 'num'), td(q.completed, 'num'), td(q.failed, 'num'), el('td', {}, [el('span', { className: 'badge', text: q.paused ? 'paused' : 'running' })]), el('td', {}, [btn])]);
    }), 'no jobs yet', 10);
    var tabs = $('state-tabs');
    tabs.replaceChildren.apply(tabs, LIST_STATES.map(function (s) {
      return el('button', { className: s === view.state ? 'on' : '', 'data-testid': 'state-' + s, text: o.totals[s] === undefined ? s : s + ' (' + o.totals[s] + ')', onclick: function () {
        view.state = s; view.offset = 0; refresh();
      } });
    }));
    $('updated').textContent = 'updated ' + new Date(o.at).toLocaleTimeString();
  }

  function loadJobs() {
    var q = new URLSearchParams({ state: view.state, offset: String(view.offset), limit: String(view.limit) });
    Object.keys(view.filter).forEach(function (k) { if (view.filter[k]) q.set(k, view.filter[k]); });
    return api('jobs?' + q).then(function (r) {
      fill($('job-rows'), r.jobs.map(function (j) {
        return el('tr', { className: 'click', 'data-testid': 'job-row', 'data-job-id': j.id, onclick: function () { view.jobId = j.id; loadDetail(); } }, [
          td(j.id), td(j.pluginName + ' / ' + j.queueName + ' / ' + j.jobName), td(j.tenantId || '-'),
          el('td', {}, [el('span', { className: 'badge ' + j.state, text: j.state })]),
          td(j.attemptsMade + (j.maxAttempts ? ' / ' + j.maxAttempts : ''), 'num'), td(time(j.timestamps && j.timestamps.enqueuedAt)),
          td(j.failedReason || '', 'err')]);
      }), 'no ' + view.state + ' jobs', 7);
      var last = Math.min(view.offset + view.limit, r.total);
      $('page').textContent = r.total ? (view.offset + 1) + '–' + last + ' of ' + r.total : '';
      $('prev').disabled = view.offset === 0; $('next').disabled = last >= r.total;
    });
  }

  function loadDetail() {
    if (!view.jobId) { $('detail').classList.remove('on'); return Promise.resolve(); }
    return api('jobs/' + encodeURIComponent(view.jobId)).then(function (j) {
      $('detail').classList.add('on');
      $('d-title').textContent = j.pluginName + ' / ' + j.queueName + ' / ' + j.jobName;
      $('d-state').textContent = j.state; $('d-state').className = 'badge ' + j.state;
      var ts = j.timestamps || {};
      var facts = [['id', j.id], ['tenant', j.tenantId], ['organization', j.organizationId], ['scope', j.scopeKey], ['user', j.userId],
        ['attempts', j.attemptsMade + (j.maxAttempts ? ' of ' + j.maxAttempts : '')], ['progress', j.progress === undefined ? '' : JSON.stringify(j.progress)],
        ['priority', j.priority], ['enqueued', time(ts.enqueuedAt)], ['started', time(ts.startedAt)], ['finished', time(ts.finishedAt)]];
      var kv = $('d-kv');
      kv.replaceChildren.apply(kv, facts.filter(function (f) { return f[1] !== undefined && f[1] !== ''; }).reduce(function (acc, f) {
        acc.push(el('dt', { text: f[0] })); acc.push(el('dd', { text: String(f[1]) })); return acc;
      }, []));
      $('d-payload').textContent = json(j.payload);
      $('d-fail').style.display = j.failedReason ? '' : 'none';
      $('d-reason').textContent = j.failedReason || '';
      $('d-stack').textContent = Array.isArray(j.stacktrace) ? j.stacktrace.join('\n') : (j.stacktrace || '');
      $('d-ret').style.display = j.returnValue === undefined ? 'none' : '';
      $('d-return').textContent = json(j.returnValue);
      if (!cfg.readOnly) {
        $('d-retry').disabled = j.state !== 'failed';
        $('d-cancel').disabled = j.state !== 'waiting' && j.state !== 'delayed';
        $('d-abort').disabled = j.state !== 'active';
      }
    }).catch(function (e) { toast(e.message, true); view.jobId = null; $('detail').classList.remove('on'); });
  }

  function loadDead() {
    var q = new URLSearchParams({ offset: String(view.dlOffset), limit: String(view.limit) });
    if (view.channel) q.set('channel', view.channel);
    return api('dead-letters?' + q).then(function (r) {
      view.channel = r.channel;
      if (document.activeElement !== $('dl-channel')) $('dl-channel').value = r.channel || '';
      fill($('dl-rows'), r.deadLetters.map(function (d) {
        var err = typeof d.error === 'string' ? d.error : ((d.error.code ? d.error.code + ': ' : '') + d.error.message);
        var btn = cfg.readOnly ? null : el('button', { className: 'act', text: 'Redrive', onclick: function () {
          action('dead-letters/redrive', { channel: r.channel, ids: [d.id] }, function (x) { return 'redrove ' + x.count; });
        } });
        return el('tr', { 'data-testid': 'dead-row' }, [td(d.id), td(d.attempt, 'num'), td(time(d.failedAt)), td(err, 'err'),
          el('td', {}, [el('pre', { text: json(d.message) })]), el('td', {}, [btn])]);
      }), r.channel ? 'no dead letters' : 'enter a channel', 6);
      var total = r.counts ? r.counts.dead : 0;
      $('dl-page').textContent = total ? (view.dlOffset + 1) + '–' + Math.min(view.dlOffset + view.limit, total) + ' of ' + total : '';
      $('dl-prev').disabled = view.dlOffset === 0; $('dl-next').disabled = view.dlOffset + view.limit >= total;
    });
  }

  function loadSchedules() {
    return api('schedules').then(function (r) {
      fill($('sched-rows'), r.schedules.map(function (s) {
        var sid = s.scheduleId || s.id;
        var btn = cfg.readOnly ? null : el('button', { className: 'act danger', text: 'Remove', onclick: function () {
          if (confirm('Remove schedule ' + sid + '?')) action('schedules/' + encodeURIComponent(sid) + '/remove', {}, function () { return 'removed'; });
        } });
        return el('tr', {}, [td(sid), td([s.pluginName, s.queueName, s.jobName].join(' / ')), td(s.cron ? s.cron + (s.tz ? ' ' + s.tz : '') : (s.everyMs ? 'every ' + s.everyMs + ' ms' : '')),
          td(s.tenantId || '-'), td(time(s.nextRunAt || s.next)), el('td', {}, [btn])]);
      }), 'no schedules', 6);
    });
  }

  var busy = false;
  function refresh() {
    if (busy) return Promise.resolve();
    busy = true;
    var work = [api('overview').then(renderOverview)];
    if (view.tab === 'jobs') work.push(loadJobs(), loadDetail());
    if (view.tab === 'dead') work.push(loadDead());
    if (view.tab === 'schedules') work.push(loadSchedules());
    return Promise.all(work).catch(function (e) { toast(e.message, true); }).then(function () { busy = false; });
  }

  document.querySelectorAll('nav button').forEach(function (b) { b.addEventListener('click', function () { showTab(b.dataset.tab); }); });
  if (cfg.readOnly) document.querySelectorAll('.write').forEach(function (n) { n.style.display = 'none'; });
  $('f-apply').addEventListener('click', function () {
    view.filter = { plugin: $('f-plugin').value.trim(), queue: $('f-queue').value.trim(), tenant: $('f-tenant').value.trim() };
    view.offset = 0; refresh();
  });
  $('prev').addEventListener('click', function () { view.offset = Math.max(0, view.offset - view.limit); refresh(); });
  $('next').addEventListener('click', function () { view.offset += view.limit; refresh(); });
  $('d-close').addEventListener('click', function () { view.jobId = null; $('detail').classList.remove('on'); });
  $('d-retry').addEventListener('click', function () {
    action('jobs/' + encodeURIComponent(view.jobId) + '/retry', {}, function (r) { return r.success ? 'retrying' : 'not retried: ' + r.reason; });
  });
  $('d-cancel').addEventListener('click', function () {
    action('jobs/' + encodeURIComponent(view.jobId) + '/cancel', {}, function (r) { return r.success ? 'cancelled' : 'not cancelled: ' + r.reason; });
  });
  $('d-abort').addEventListener('click', function () {
    action('jobs/' + encodeURIComponent(view.jobId) + '/cancel', { abortActive: true }, function (r) { return r.success ? 'aborted' : 'not aborted: ' + r.reason; });
  });
  $('retry-all').addEventListener('click', function () {
    action('jobs/retry-failed', { pluginName: view.filter.plugin, queueName: view.filter.queue, tenantId: view.filter.tenant }, function (r) { return 'retried ' + r.retried; });
  });
  $('clean-btn').addEventListener('click', function () {
    var state = $('clean-state').value, age = $('clean-age').value.trim();
    if (confirm('Remove ' + state + ' jobs older than ' + age + '?')) action('clean', { state: state, olderThan: age }, function (r) { return 'removed ' + r.removed; });
  });
  $('dl-load').addEventListener('click', function () { view.channel = $('dl-channel').value.trim() || null; view.dlOffset = 0; refresh(); });
  $('dl-prev').addEventListener('click', function () { view.dlOffset = Math.max(0, view.dlOffset - view.limit); refresh(); });
  $('dl-next').addEventListener('click', function () { view.dlOffset += view.limit; refresh(); });
  $('dl-redrive').addEventListener('click', function () {
    if (view.channel && confirm('Redrive every dead letter of ' + view.channel + '?')) action('dead-letters/redrive', { channel: view.channel }, function (r) { return 'redrove ' + r.count; });
  });
  $('dl-delete').addEventListener('click', function () {
    if (view.channel && confirm('Delete every dead letter of ' + view.channel + '?')) action('dead-letters/delete', { channel: view.channel }, function (r) { return 'deleted ' + r.count; });
  });
  api('info').then(function (info) {
    var list = $('dl-channels');
    list.replaceChildren.apply(list, info.deadLetterChannels.map(function (c) { return el('option', { value: c }); }));
  }).catch(function () {});
  var start = new URLSearchParams(location.hash.slice(1));
  if (start.get('state')) view.state = start.get('state');
  showTab(start.get('tab') || 'queues');
  setInterval(refresh, 2000);
})();
`;
