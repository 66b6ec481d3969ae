/**
 * The dashboard's browser script (vanilla JS, ES2020), inlined by the page. Its parts are kept in
 * separate modules so each stays readable: this one holds the helpers, the URL state and the
 * refresh loop; views, the job detail and charts are in dashboard-script-views.ts,
 * dashboard-script-detail.ts and dashboard-script-charts.ts.
 * They run in one function scope. No part may contain a backtick, `${` or a closing script tag.
 *
 * Live refresh never fights the operator: a region is only touched when its data changed, rows are
 * patched in place by key (unchanged rows, their selection and their buttons stay as they are), a
 * region holding a text selection waits, and the list and overview pause while a job is open.
 */
import { DASHBOARD_CHARTS } from './dashboard-script-charts.js';
import { DASHBOARD_DETAIL } from './dashboard-script-detail.js';
import { DASHBOARD_VIEWS } from './dashboard-script-views.js';

const CORE = String.raw`
  'use strict';
  var cfg = window.CLUSTERKIT || {};
  var $ = function (id) { return document.getElementById(id); };
  var STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'];
  var LIST_STATES = STATES.concat(['cancelled', 'all']);
  var SIZES = [10, 20, 50, 100, 200];
  var REFRESH_MS = 2000, STATS_MS = 10000;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null) return;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'className') node.className = v;
      else node.setAttribute(k, String(v));
    });
    (children || []).forEach(function (c) { if (c != null) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function json(v) { return v === undefined ? '' : JSON.stringify(v, null, 2); }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  function duration(ms) {
    if (ms == null || !isFinite(ms)) return '';
    ms = Math.max(0, ms);
    if (ms < 1) return '<1 ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s';
    if (ms < 3600000) return Math.round(ms / 60000) + ' min';
    if (ms < 172800000) return (ms / 3600000).toFixed(ms < 36000000 ? 1 : 0) + ' h';
    return Math.round(ms / 86400000) + ' d';
  }
  function ago(at) { return at ? duration(Date.now() - at) + ' ago' : ''; }
  function time(ms) { return ms ? new Date(ms).toLocaleString() : ''; }
  function toast(text, bad) {
    var t = $('toast'); t.textContent = text; t.className = bad ? 'err' : ''; t.style.display = 'block';
    clearTimeout(toast.timer); toast.timer = setTimeout(function () { t.style.display = 'none'; }, 4000);
  }

  function api(path, body) {
    var init = { credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (body !== undefined) { init.method = 'POST'; init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch('api/' + path, init).then(function (res) {
      if (res.status === 401 && cfg.tokenLogin) { location.href = 'login'; throw new Error('not logged in'); }
      return res.json().then(function (data) {
        if (!res.ok) throw new Error((data && data.error && data.error.message) || ('HTTP ' + res.status));
        return data;
      });
    });
  }
  function action(path, body, done, question) {
    if (question && !confirm(question)) return Promise.resolve();
    return api(path, body || {}).then(function (r) { if (done) toast(done(r)); return refresh(true); })
      .catch(function (e) { toast(e.message, true); });
  }

  // ---- URL state: #/<tab>?state=&plugin=&queue=&tenant=&page=&size=&job=&channel=
  var view = parseHash();
  function parseHash() {
    var h = location.hash.replace(/^#\/?/, ''), q = h.indexOf('?');
    var p = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
    var tab = (q < 0 ? h : h.slice(0, q)) || 'overview';
    var int = function (v, d) { var n = parseInt(v || '', 10); return n > 0 ? n : d; };
    var size = int(p.get('size'), 20);
    return {
      tab: ['overview', 'jobs', 'dead', 'schedules'].indexOf(tab) < 0 ? 'overview' : tab,
      state: LIST_STATES.indexOf(p.get('state')) < 0 ? 'failed' : p.get('state'),
      plugin: p.get('plugin') || '', queue: p.get('queue') || '', tenant: p.get('tenant') || '', exact: p.get('exact') === '1',
      page: int(p.get('page'), 1), size: SIZES.indexOf(size) < 0 ? 20 : size,
      job: p.get('job') || null, channel: p.get('channel') || '', q: p.get('q') || ''
    };
  }
  function hashOf(v) {
    var p = new URLSearchParams();
    if (v.tab === 'jobs') {
      p.set('state', v.state);
      ['plugin', 'queue', 'tenant', 'q'].forEach(function (k) { if (v[k]) p.set(k, v[k]); });
      if (v.exact && (v.plugin || v.queue || v.tenant)) p.set('exact', '1');
      if (v.page > 1) p.set('page', String(v.page));
      if (v.size !== 20) p.set('size', String(v.size));
    }
    if (v.tab === 'dead') { if (v.channel) p.set('channel', v.channel); if (v.page > 1) p.set('page', String(v.page)); }
    if (v.job) p.set('job', v.job);
    var s = p.toString();
    return '#/' + v.tab + (s ? '?' + s : '');
  }
  /** Navigates: a new history entry (so Back returns here), then the page follows the hash. */
  function go(changes) {
    var next = Object.assign({}, view, changes);
    var h = hashOf(next);
    if (h === location.hash) applyView(next); else location.hash = h;
  }

  // ---- In-place rendering: regions skip identical data, rows are patched by key.
  var seen = {};
  function selecting(node) {
    var sel = window.getSelection && window.getSelection();
    return !!(sel && !sel.isCollapsed && sel.anchorNode && node.contains(sel.anchorNode));
  }
  /** Calls render(data) unless data is what the region already shows (or the operator is selecting text in it). */
  function region(name, node, data, render) {
    var sig = JSON.stringify(data);
    if (seen[name] === sig || (node && seen[name] !== undefined && selecting(node))) return;
    seen[name] = sig;
    render(data);
  }
  function cellSig(c) { return c == null ? '' : typeof c === 'object' ? (c.sig !== undefined ? c.sig : JSON.stringify([c.text, c.cls, c.title, c.span])) : String(c); }
  function fillCell(td, c) {
    var spec = c != null && typeof c === 'object' ? c : { text: c };
    td.className = spec.cls || ''; if (spec.title) td.title = spec.title; else td.removeAttribute('title');
    if (spec.span) td.colSpan = spec.span;
    if (spec.node) td.replaceChildren(spec.node()); else td.textContent = spec.text == null ? '' : String(spec.text);
  }
  /** Makes tbody show rows [{ key, cls, attrs, cells }], touching only what changed. */
  function patchRows(tbody, rows, empty, cols) {
    if (!rows.length) rows = [{ key: '-empty', cells: [{ text: empty, cls: 'muted', span: cols }] }];
    var old = {};
    Array.prototype.forEach.call(tbody.children, function (tr) { old[tr.dataset.key] = tr; });
    var prev = null;
    rows.forEach(function (row) {
      var tr = old[row.key]; delete old[row.key];
      if (!tr) { tr = document.createElement('tr'); tr.dataset.key = row.key; }
      var rowSig = JSON.stringify([row.cls || '', row.attrs || {}]);
      if (tr.dataset.sig !== rowSig) {
        tr.className = row.cls || '';
        Object.keys(row.attrs || {}).forEach(function (k) { tr.setAttribute(k, row.attrs[k]); });
        tr.dataset.sig = rowSig;
      }
      row.cells.forEach(function (c, i) {
        var td = tr.children[i], sig = cellSig(c);
        if (!td) { td = document.createElement('td'); tr.appendChild(td); }
        if (td.dataset.sig !== sig) { fillCell(td, c); td.dataset.sig = sig; }
      });
      while (tr.children.length > row.cells.length) tr.removeChild(tr.lastChild);
      var want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== tr) tbody.insertBefore(tr, want);
      prev = tr;
    });
    Object.keys(old).forEach(function (k) { old[k].remove(); });
  }
  function badge(text, cls) { return { sig: 'b:' + text + ':' + (cls || text), node: function () { return el('span', { className: 'badge ' + (cls || text), text: text }); } }; }
  function button(text, act, data, cls) {
    return { sig: 'btn:' + text + ':' + act + ':' + JSON.stringify(data), node: function () {
      var attrs = { className: 'act ' + (cls || ''), type: 'button', text: text, 'data-action': act };
      Object.keys(data || {}).forEach(function (k) { attrs['data-' + k] = data[k]; });
      return el('button', attrs);
    } };
  }
`;

const BOOT = String.raw`
  // ---- Refresh loop
  var live = true, busy = false, again = false, lastStats = 0, detailFinal = false;
  function held() { return !live || document.hidden || !!view.job; }
  function showLive() {
    var b = $('live');
    b.className = !live ? '' : view.job ? 'held' : 'on';
    b.textContent = !live ? '❚❚ paused' : view.job ? '● paused while a job is open' : '● live';
  }
  function refresh(force) {
    if (busy) { again = again || !!force; return Promise.resolve(); }
    busy = true;
    var work = [];
    if (force || !held()) {
      work.push(api('overview').then(renderOverview));
      if (view.tab === 'overview' && (force || Date.now() - lastStats > STATS_MS)) { lastStats = Date.now(); work.push(api('stats?minutes=60').then(renderStats)); }
      if (view.tab === 'jobs') work.push(loadJobs());
      if (view.tab === 'dead') work.push(loadDead());
      if (view.tab === 'schedules') work.push(loadSchedules());
    }
    // An open job keeps refreshing while it can still change (so a retry is seen to complete).
    if (view.job && (force || (live && !detailFinal))) work.push(loadDetail());
    showLive();
    return Promise.all(work).catch(function (e) { toast(e.message, true); }).then(function () {
      busy = false;
      if (again) { again = false; return refresh(true); }
    });
  }

  function applyView(v) {
    var opened = v.job !== view.job;
    view = v;
    document.querySelectorAll('#tabs a').forEach(function (a) { a.classList.toggle('on', a.dataset.tab === view.tab); });
    document.querySelectorAll('section.view').forEach(function (s) { s.classList.toggle('on', s.id === 'v-' + view.tab); });
    $('f-plugin').value = view.plugin; $('f-queue').value = view.queue; $('f-tenant').value = view.tenant;
    $('size').value = String(view.size); $('search').value = view.q;
    if (!view.job) { $('detail').classList.remove('on'); detailFinal = false; }
    else if (opened) { detailFinal = false; seen.detail = undefined; }
    if (view.tab === 'overview') lastStats = 0;
    refresh(true);
  }
  window.addEventListener('hashchange', function () { applyView(parseHash()); });
  document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(false); });

  // Delegated clicks: row links and buttons keep working when rows are patched.
  document.addEventListener('click', function (e) {
    var btn = e.target.closest('[data-action]');
    if (btn) { e.stopPropagation(); ACTIONS[btn.dataset.action](btn.dataset); return; }
    var row = e.target.closest('tr[data-href]');
    if (!row || e.target.closest('a,button,input,select,summary,details,pre')) return;
    if (!window.getSelection().isCollapsed) return; // the operator selected text: not a click on the row
    location.hash = row.getAttribute('data-href');
  });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && view.job) go({ job: null }); });
  $('live').addEventListener('click', function () { live = !live; showLive(); if (live) refresh(true); });

  var THEMES = ['system', 'light', 'dark'];
  function setTheme(t) {
    if (t === 'system') document.documentElement.removeAttribute('data-theme'); else document.documentElement.setAttribute('data-theme', t);
    $('theme-name').textContent = t;
    try { localStorage.setItem('clusterkit-theme', t); } catch (err) { /* private mode */ }
  }
  $('theme').addEventListener('click', function () { setTheme(THEMES[(THEMES.indexOf($('theme-name').textContent) + 1) % 3]); });
  try { setTheme(localStorage.getItem('clusterkit-theme') || 'system'); } catch (err) { setTheme('system'); }

  if ($('logout')) $('logout').addEventListener('click', function () {
    fetch('logout', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}' })
      .then(function () { location.href = 'login'; });
  });
  if (cfg.readOnly) document.querySelectorAll('.write').forEach(function (n) { n.style.display = 'none'; });
  bindViews();
  applyView(view);
  setInterval(function () { refresh(false); }, REFRESH_MS);
`;

/** The whole script: one function scope around its parts. */
export const DASHBOARD_SCRIPT = `(function () {${CORE}${DASHBOARD_CHARTS}${DASHBOARD_VIEWS}${DASHBOARD_DETAIL}${BOOT}})();`;
