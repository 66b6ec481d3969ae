/**
 * Dashboard script, the job detail: when the job runs (or ran), its options, every attempt the
 * record keeps (number, outcome, node, start, duration, error with its stack — kept after a retry
 * succeeds), the handler's log lines, payload, failure and return value. Read from `getJob`
 * (`history`, `logs`, `options`, `owner`). Runs in the scope of dashboard-script.ts; see its rules.
 */
export const DASHBOARD_DETAIL = String.raw`
  var TERMINAL = ['completed', 'failed', 'cancelled'];
  var PRIORITY = ['urgent', 'high', 'normal', 'low'];
  function whenText(j) {
    var ts = j.timestamps || {}, now = Date.now();
    if (j.state === 'delayed') return 'runs in ' + duration(ts.runAt - now) + ' (at ' + time(ts.runAt) + ')';
    if (j.state === 'waiting') return 'waiting for a worker since ' + duration(now - (ts.runAt || ts.enqueuedAt));
    if (j.state === 'active') return 'running for ' + duration(now - ts.startedAt) + (j.owner ? ' on ' + j.owner : '');
    var took = ts.startedAt && ts.finishedAt ? ' in ' + duration(ts.finishedAt - ts.startedAt) : '';
    var tries = j.attemptsMade > 1 ? ' (attempt ' + j.attemptsMade + ' of ' + j.maxAttempts + ')' : '';
    return j.state + took + ', ' + ago(ts.finishedAt) + tries;
  }
  function retention(v, fallback) { return v === true ? 'removed at once' : typeof v === 'number' ? 'kept ' + duration(v) : fallback; }
  function backoffText(b) {
    if (!b) return '';
    if (!b.delay) return 'none: a retry starts at once';
    return (b.type === 'fixed' ? 'fixed ' + duration(b.delay) : 'exponential from ' + duration(b.delay) + ', at most ' + duration(b.maxDelay)) + (b.jitter ? ', jitter ' + Math.round(b.jitter * 100) + ' %' : '');
  }
  function attemptsText(j) {
    var open = (j.attemptsStarted || 0) - j.attemptsMade, history = j.history || [];
    // A retry() gives a fresh budget; the history numbers every attempt of the job.
    var all = history.length ? history[history.length - 1].attempt : 0;
    return j.attemptsMade + ' of ' + j.maxAttempts + ' used' + (open > 0 ? ' (' + open + ' more started, not finished)' : '') +
      (all > (j.attemptsStarted || 0) ? ' since the last retry, ' + all + ' in all' : '');
  }

  function loadDetail() {
    var id = view.job;
    return api('jobs/' + encodeURIComponent(id)).then(function (j) {
      if (id !== view.job) return;
      detailFinal = TERMINAL.indexOf(j.state) >= 0;
      $('detail').classList.add('on');
      region('detail', $('detail'), j, renderDetail);
    }, function (e) {
      if (id !== view.job) return;
      toast(e.message, true); go({ job: null });
    });
  }

  function errorCell(e) {
    if (!e) return '';
    var summary = (e.code ? e.code + ': ' : '') + e.message;
    return { sig: 'e:' + summary + (e.stack || ''), cls: 'err', node: function () {
      return e.stack ? el('details', { 'data-testid': 'attempt-error' }, [el('summary', { text: summary }), el('pre', { className: 'muted', text: e.stack })])
        : el('span', { 'data-testid': 'attempt-error', text: summary });
    } };
  }
  /** '<app>#<uuid>' as '<app>#<first 8 of the uuid>' (the full id is the cell's title). */
  function shortNode(node) { var i = node.lastIndexOf('#'); return i < 0 ? node : node.slice(0, i + 9); }
  function renderAttempts(j) {
    var history = Array.isArray(j.history) ? j.history : [];
    $('d-attempts-box').hidden = history.length === 0;
    $('d-attempts-note').textContent = history.length && history[0].attempt > 1 ? 'attempts before ' + history[0].attempt + ' are no longer kept' : '';
    patchRows($('d-attempts'), history.map(function (a) {
      var outcome = a.outcome || (a.finishedAt ? 'finished' : 'running');
      return { key: String(a.attempt), attrs: { 'data-testid': 'attempt-row', 'data-attempt': a.attempt },
        cells: [{ text: a.attempt, cls: 'num' }, badge(outcome, outcome === 'running' ? 'active' : outcome === 'lost' ? 'delayed' : outcome),
          { text: shortNode(a.node) + (a.node === info.nodeId ? ' (this dashboard)' : ''), title: a.node },
          { text: new Date(a.startedAt).toLocaleTimeString(), title: time(a.startedAt), cls: 'wide' },
          { text: a.finishedAt ? duration(a.finishedAt - a.startedAt) : '', cls: 'num' }, errorCell(a.error)] };
    }), '', 6);
  }
  function renderFailure(j) {
    // A completed job's earlier failures are in its attempts; the box is for a job that failed, or will retry.
    var show = !!j.failedReason && j.state !== 'completed';
    $('d-fail').hidden = !show;
    if (!show) return;
    $('d-fail-title').textContent = j.state === 'failed' || j.state === 'cancelled' ? 'Failure' : 'Last failure (it will be retried)';
    $('d-reason').textContent = (j.failedCode ? j.failedCode + ': ' : '') + j.failedReason;
    var failed = (j.history || []).filter(function (a) { return a.error && a.error.stack; });
    var stacks = Array.isArray(j.stacktrace) ? j.stacktrace : j.stacktrace ? [j.stacktrace] : [];
    var stack = failed.length ? failed[failed.length - 1].error.stack : stacks[stacks.length - 1];
    $('d-stack').textContent = stack || '';
    $('d-stack').hidden = !stack;
  }

  function renderDetail(j) {
    var ts = j.timestamps || {}, o = j.options || {};
    $('d-title').textContent = j.pluginName + ' / ' + j.queueName + ' / ' + j.jobName;
    $('d-state').textContent = j.state; $('d-state').className = 'badge ' + j.state;
    $('d-when').textContent = whenText(j);
    var enable = { retry: j.state === 'failed' || j.state === 'cancelled', promote: j.state === 'delayed', cancel: j.state === 'waiting' || j.state === 'delayed', abort: j.state === 'active', remove: j.state !== 'active' };
    document.querySelectorAll('[data-job-action]').forEach(function (b) { b.disabled = !enable[b.dataset.jobAction]; });
    var facts = [['id', j.id], ['tenant', j.tenantId], ['organization', j.organizationId], ['scope', j.scopeKey], ['user', j.userId],
      ['attempts', attemptsText(j)], ['backoff', backoffText(o.backoff)],
      ['priority', j.priority + (PRIORITY[j.priority] ? ' (' + PRIORITY[j.priority] + ')' : '')],
      ['delay', o.delayMs ? duration(o.delayMs) + ' at enqueue' : ''],
      ['progress', j.progress === undefined ? '' : JSON.stringify(j.progress)],
      ['enqueued', time(ts.enqueuedAt)], ['due', ts.runAt && ts.runAt - ts.enqueuedAt > 0 ? time(ts.runAt) + ' (' + duration(ts.runAt - ts.enqueuedAt) + ' after enqueue)' : ''],
      ['started', time(ts.startedAt)], ['finished', time(ts.finishedAt)],
      ['duration', ts.startedAt && ts.finishedAt ? duration(ts.finishedAt - ts.startedAt) : ''],
      ['node', j.owner], ['when completed', retention(o.removeOnComplete, 'kept for the retention period')], ['when failed', retention(o.removeOnFail, 'kept for the retention period')]];
    var kv = $('d-kv');
    kv.replaceChildren.apply(kv, facts.filter(function (f) { return f[1] !== undefined && f[1] !== null && f[1] !== ''; }).reduce(function (acc, f) {
      acc.push(el('dt', { text: f[0] })); acc.push(el('dd', { text: String(f[1]), 'data-fact': f[0] })); return acc;
    }, []));
    renderAttempts(j);
    var logs = Array.isArray(j.logs) ? j.logs : [];
    $('d-logs-box').hidden = logs.length === 0;
    $('d-logs-title').textContent = 'Log (' + plural(logs.length, 'line') + ')';
    $('d-logs').textContent = logs.join('\n');
    $('d-payload').textContent = json(j.payload);
    renderFailure(j);
    $('d-ret').hidden = j.returnValue === undefined;
    $('d-return').textContent = json(j.returnValue);
  }
`;
