/**
 * The dashboard page: one self-contained HTML document with inline CSS and vanilla JS (no front-end
 * build step, no CDN). It talks to the JSON API with relative URLs, so it works under any mount path,
 * and renders every server value with `textContent`, never as HTML.
 */
import { DASHBOARD_SCRIPT } from './dashboard-script.js';

const STYLE = `
:root{--bg:#0f172a;--panel:#111c33;--line:#24324f;--text:#e2e8f0;--mute:#94a3b8;--accent:#38bdf8;--bad:#f87171;--ok:#4ade80;--warn:#fbbf24}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--text)}
header{display:flex;align-items:center;gap:16px;padding:12px 20px;border-bottom:1px solid var(--line);background:var(--panel)}
header h1{font-size:16px;margin:0;font-weight:600}header .spacer{flex:1}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;background:var(--line);color:var(--text)}
.badge.failed,.badge.dead{background:#7f1d1d}.badge.completed{background:#14532d}.badge.active{background:#1e3a8a}.badge.delayed{background:#78350f}.badge.waiting{background:#334155}
.totals{display:flex;gap:10px}.totals span b{font-variant-numeric:tabular-nums}
nav{display:flex;gap:4px;padding:8px 20px;border-bottom:1px solid var(--line)}
nav button,.tabs button{background:none;border:1px solid transparent;color:var(--mute);padding:6px 12px;border-radius:6px;cursor:pointer;font:inherit}
nav button.on,.tabs button.on{color:var(--text);border-color:var(--line);background:var(--panel)}
main{padding:16px 20px}section{display:none}section.on{display:block}
h2{font-size:14px;color:var(--mute);font-weight:600;margin:18px 0 8px;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%;background:var(--panel);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}th{color:var(--mute);font-weight:500;font-size:12px}
td.num{font-variant-numeric:tabular-nums;text-align:right}th.num{text-align:right}tr.click{cursor:pointer}tr.click:hover{background:#16233f}
button.act{background:var(--line);color:var(--text);border:0;border-radius:6px;padding:5px 10px;cursor:pointer;font:inherit}
button.act:hover{background:#2f4168}button.act.danger{background:#7f1d1d}button.act:disabled{opacity:.4;cursor:default}
input,select{background:var(--bg);color:var(--text);border:1px solid var(--line);border-radius:6px;padding:5px 8px;font:inherit}
.row{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin:8px 0}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;max-height:320px;margin:4px 0 12px;white-space:pre-wrap;word-break:break-all}
.detail{margin-top:14px;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:12px 16px;display:none}.detail.on{display:block}
.kv{display:grid;grid-template-columns:160px 1fr;gap:4px 12px}.kv dt{color:var(--mute)}.kv dd{margin:0}
.err{color:var(--bad)}.muted{color:var(--mute)}#toast{position:fixed;right:16px;bottom:16px;background:var(--panel);border:1px solid var(--line);padding:10px 14px;border-radius:8px;display:none}
.login{max-width:360px;margin:12vh auto;background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:24px}
.login input{width:100%;margin:8px 0 14px}
`;

/** What the page needs to know at render time. */
export interface DashboardPageOptions {
  title: string;
  readOnly: boolean;
  tokenLogin: boolean;
}

/** Renders the dashboard page. */
export function renderDashboardPage(options: DashboardPageOptions): string {
  const config = JSON.stringify({ readOnly: options.readOnly, tokenLogin: options.tokenLogin }).replace(
    /</g,
    '\\u003c',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(options.title)}</title><style>${STYLE}</style></head>
<body>
<header>
  <h1 data-testid="title">${escapeHtml(options.title)}</h1>
  ${options.readOnly ? '<span class="badge" data-testid="read-only">read-only</span>' : ''}
  <div class="totals" data-testid="totals"></div>
  <div class="spacer"></div>
  <span class="muted" id="updated"></span>
  ${options.tokenLogin ? '<form method="post" action="logout"><button class="act" type="submit">Log out</button></form>' : ''}
</header>
<nav>
  <button data-tab="queues" class="on">Queues</button>
  <button data-tab="jobs">Jobs</button>
  <button data-tab="dead">Dead letters</button>
  <button data-tab="schedules">Schedules</button>
</nav>
<main>
<section id="queues" class="on">
  <h2>Physical queues</h2>
  <table><thead><tr><th>channel</th><th class="num">waiting</th><th class="num">delayed</th><th class="num">active</th><th class="num">dead letters</th></tr></thead><tbody id="physical"></tbody></table>
  <h2>Logical queues (per plugin and tenant)</h2>
  <table><thead><tr><th>plugin</th><th>queue</th><th>tenant</th><th class="num">waiting</th><th class="num">active</th><th class="num">delayed</th><th class="num">completed</th><th class="num">failed</th><th>state</th><th></th></tr></thead><tbody id="logical"></tbody></table>
  <div class="row write">
    <h2 style="margin:0">Clean</h2>
    <select id="clean-state"><option>completed</option><option>failed</option><option>cancelled</option></select>
    <span class="muted">older than</span><input id="clean-age" value="7d" size="6">
    <button class="act danger" id="clean-btn">Clean</button>
  </div>
</section>
<section id="jobs">
  <div class="row tabs" id="state-tabs"></div>
  <div class="row">
    <input id="f-plugin" placeholder="plugin"><input id="f-queue" placeholder="queue"><input id="f-tenant" placeholder="tenant">
    <button class="act" id="f-apply">Filter</button>
    <span class="spacer"></span>
    <button class="act write" id="retry-all" data-testid="retry-all">Retry all failed</button>
  </div>
  <table><thead><tr><th>id</th><th>plugin / queue / job</th><th>tenant</th><th>state</th><th class="num">attempts</th><th>enqueued</th><th>reason</th></tr></thead><tbody id="job-rows"></tbody></table>
  <div class="row"><button class="act" id="prev">‹ Prev</button><span id="page" class="muted"></span><button class="act" id="next">Next ›</button></div>
  <div class="detail" id="detail" data-testid="job-detail">
    <div class="row"><h2 style="margin:0" id="d-title"></h2><span id="d-state" class="badge" data-testid="job-state"></span><span class="spacer"></span>
      <button class="act write" id="d-retry" data-testid="retry">Retry</button>
      <button class="act write" id="d-cancel">Cancel</button>
      <button class="act write danger" id="d-abort">Abort running</button>
      <button class="act" id="d-close">Close</button></div>
    <dl class="kv" id="d-kv"></dl>
    <h2>Payload</h2><pre id="d-payload"></pre>
    <div id="d-fail"><h2>Failure</h2><pre id="d-reason" class="err"></pre><pre id="d-stack" class="muted"></pre></div>
    <div id="d-ret"><h2>Return value</h2><pre id="d-return"></pre></div>
  </div>
</section>
<section id="dead">
  <div class="row"><span class="muted">channel</span><input id="dl-channel" size="40" list="dl-channels"><datalist id="dl-channels"></datalist>
    <button class="act" id="dl-load">Show</button><span class="spacer"></span>
    <button class="act write" id="dl-redrive">Redrive all</button><button class="act write danger" id="dl-delete">Delete all</button></div>
  <table><thead><tr><th>id</th><th class="num">attempts</th><th>failed at</th><th>error</th><th>message</th><th></th></tr></thead><tbody id="dl-rows"></tbody></table>
  <div class="row"><button class="act" id="dl-prev">‹ Prev</button><span id="dl-page" class="muted"></span><button class="act" id="dl-next">Next ›</button></div>
</section>
<section id="schedules">
  <table><thead><tr><th>id</th><th>plugin / queue / job</th><th>when</th><th>tenant</th><th>next run</th><th></th></tr></thead><tbody id="sched-rows"></tbody></table>
</section>
</main>
<div id="toast" role="status"></div>
<script>window.CLUSTERKIT=${config};</script>
<script>${DASHBOARD_SCRIPT}</script>
</body></html>`;
}

/** Renders the token login form (also the body of a 401 for a page request). */
export function renderLoginPage(title: string, error?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · log in</title><style>${STYLE}</style></head>
<body><form class="login" method="post" action="login">
<h1 style="font-size:18px;margin:0 0 12px">${escapeHtml(title)}</h1>
<label for="token" class="muted">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
${error ? `<p class="err" data-testid="login-error">${escapeHtml(error)}</p>` : ''}
<button class="act" type="submit">Log in</button>
</form></body></html>`;
}

/** Escapes text for HTML element and attribute content. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
