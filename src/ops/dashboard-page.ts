/**
 * The dashboard page: one self-contained HTML document with inline CSS and vanilla JS (no front-end
 * build step, no CDN). It talks to the JSON API with relative URLs, so it works under any mount path,
 * and renders every server value with `textContent`, never as HTML. Where the operator is (tab,
 * state, filters, page, open job) lives in the URL's `#…`, so Back works and links can be shared.
 */
import { DASHBOARD_SCRIPT } from './dashboard-script.js';
import { DASHBOARD_STYLE as STYLE } from './dashboard-style.js';

/** What the page needs to know at render time. */
export interface DashboardPageOptions {
  title: string;
  readOnly: boolean;
  tokenLogin: boolean;
  /** The response's CSP script nonce. */
  nonce: string;
}

const STATE_COLUMNS = ['waiting', 'active', 'delayed', 'completed', 'failed'];

/** Renders the dashboard page. */
export function renderDashboardPage(options: DashboardPageOptions): string {
  const config = JSON.stringify({ readOnly: options.readOnly, tokenLogin: options.tokenLogin }).replace(
    /</g,
    '\\u003c',
  );
  const counts = STATE_COLUMNS.map((s) => `<th class="num">${s}</th>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(options.title)}</title><style>${STYLE}</style></head>
<body>
<header>
  <h1 data-testid="title">${escapeHtml(options.title)}</h1>
  ${options.readOnly ? '<span class="badge" data-testid="read-only">read-only</span>' : ''}
  <div class="totals" data-testid="totals" id="totals"></div>
  <div class="spacer"></div>
  <button id="live" type="button" class="on" data-testid="live" title="Pause or resume live refresh">● live</button>
  <span class="muted wide" id="updated"></span>
  <button class="act" id="theme" type="button" data-testid="theme" title="Theme: system, light or dark">◐ <span id="theme-name">system</span></button>
  ${options.tokenLogin ? '<button class="act" id="logout" type="button">Log out</button>' : ''}
</header>
<nav id="tabs">
  <a href="#/overview" data-tab="overview">Overview</a>
  <a href="#/jobs" data-tab="jobs">Jobs</a>
  <a href="#/dead" data-tab="dead">Dead letters</a>
  <a href="#/schedules" data-tab="schedules">Schedules</a>
</nav>
<main>
<section id="v-overview" class="view">
  <h2>Throughput, last hour</h2>
  <div class="panel" id="throughput" data-testid="throughput"></div>
  <h2>Logical queues</h2>
  <p class="note">Jobs per plugin/queue and tenant, counted from the job records. Click a row to see its jobs.
  <b>Pause</b> and <b>Resume</b> act on a plugin/queue as a whole: pausing it stops new jobs of
  <em>every tenant</em> from starting on every node (running jobs finish).</p>
  <div class="wrap"><table><thead><tr><th>plugin / queue / tenant</th>${counts}<th>state</th><th></th></tr></thead><tbody id="logical"></tbody></table></div>
  <h2>Wait and run time per queue, last hour</h2>
  <div class="wrap"><table><thead><tr><th>plugin / queue</th><th class="num">completed</th><th class="num">failed</th><th class="num wide">retried</th><th class="num">wait p50 / p95</th><th class="num">run p50 / p95</th><th class="wide">run time per minute (p50, p95)</th></tr></thead><tbody id="perf" data-testid="perf"></tbody></table></div>
  <h2>Nodes</h2>
  <p class="note">The nodes whose heartbeat is alive, and the handlers each runs (×&nbsp;its local concurrency).</p>
  <div class="wrap"><table><thead><tr><th>node</th><th>role</th><th>runs</th></tr></thead><tbody id="nodes" data-testid="nodes"></tbody></table></div>
  <h2>Dead letters by channel</h2>
  <div class="wrap"><table><thead><tr><th>channel</th><th class="num">dead letters</th></tr></thead><tbody id="dead-channels"></tbody></table></div>
  <details id="physical-box"><summary class="muted">Advanced: physical queues</summary>
  <p class="note">Every managed job of every plugin travels on one event-queue channel as a small ticket; the
  job itself lives in its record. These counts are tickets, not jobs: a delayed retry, a job handed back
  to a node that has its handler, or a paused queue's job checking back all show here, while completed and
  failed jobs do not. That is why they differ from the logical counts above.</p>
  <div class="wrap"><table><thead><tr><th>channel</th><th class="num">waiting</th><th class="num">delayed</th><th class="num">active</th><th class="num">dead letters</th></tr></thead><tbody id="physical"></tbody></table></div>
  </details>
  <div class="row write"><h2 style="margin:0">Clean</h2>
    <select id="clean-state" aria-label="state to clean"><option>completed</option><option>failed</option><option>cancelled</option></select>
    <span class="muted">jobs finished more than</span><input id="clean-age" value="7d" size="5" aria-label="age"><span class="muted">ago</span>
    <button class="act danger" id="clean-btn" type="button">Clean</button></div>
</section>
<section id="v-jobs" class="view">
  <form class="row" id="search-form" role="search">
    <input id="search" placeholder="job id (yours or the full one)" size="34" aria-label="job id" data-testid="search">
    <button class="act" type="submit">Open</button>
  </form>
  <div class="row tabs" id="state-tabs"></div>
  <form class="row" id="filter-form">
    <input id="f-plugin" placeholder="plugin…" list="dl-plugins" size="12" aria-label="plugin prefix">
    <input id="f-queue" placeholder="queue…" list="dl-queues" size="12" aria-label="queue prefix">
    <input id="f-tenant" placeholder="tenant…" list="dl-tenants" size="12" aria-label="tenant prefix">
    <button class="act" type="submit">Filter</button><button class="act" type="button" id="f-clear">Clear</button>
    <datalist id="dl-plugins"></datalist><datalist id="dl-queues"></datalist><datalist id="dl-tenants"></datalist>
    <span class="spacer"></span>
    <button class="act write" type="button" id="retry-all" data-testid="retry-all">Retry all failed</button>
    <button class="act write" type="button" id="promote-all" data-testid="promote-all">Run all delayed now</button>
  </form>
  <div class="muted" id="list-note"></div>
  <div class="wrap"><table><thead><tr><th>id</th><th>plugin / queue / job</th><th>tenant</th><th>state</th><th class="num wide">attempts</th><th class="wide">enqueued</th><th>reason / due</th></tr></thead><tbody id="job-rows"></tbody></table></div>
  <div class="row" id="pager">
    <button class="act" type="button" id="prev">‹ Prev</button><span id="page" class="muted"></span><button class="act" type="button" id="next">Next ›</button>
    <span class="muted">page</span><input id="jump" type="number" min="1" style="width:5em" aria-label="page number" data-testid="jump"><button class="act" type="button" id="jump-go">Go</button>
    <span class="muted">per page</span><select id="size" data-testid="page-size"><option>10</option><option>20</option><option>50</option><option>100</option><option>200</option></select>
  </div>
</section>
<section id="v-dead" class="view">
  <div class="row"><span class="muted">channel</span><input id="dl-channel" size="36" list="dl-channels" aria-label="channel"><datalist id="dl-channels"></datalist>
    <button class="act" type="button" id="dl-load">Show</button><span class="spacer"></span>
    <button class="act write" type="button" id="dl-redrive">Redrive all</button><button class="act write danger" type="button" id="dl-delete">Delete all</button></div>
  <div class="wrap"><table><thead><tr><th class="wide">id</th><th class="num">attempts</th><th class="wide">failed at</th><th>error (click for the stack)</th><th>message</th><th></th></tr></thead><tbody id="dl-rows"></tbody></table></div>
  <div class="row"><button class="act" type="button" id="dl-prev">‹ Prev</button><span id="dl-page" class="muted"></span><button class="act" type="button" id="dl-next">Next ›</button></div>
</section>
<section id="v-schedules" class="view">
  <div class="wrap"><table><thead><tr><th>id</th><th>plugin / queue / job</th><th>when</th><th>tenant</th><th>next run</th><th></th></tr></thead><tbody id="sched-rows"></tbody></table></div>
</section>
</main>
<aside id="detail" data-testid="job-detail" aria-label="job detail">
  <div class="row"><h3 id="d-title"></h3><span id="d-state" class="badge" data-testid="job-state"></span><span class="spacer"></span>
    <button class="act" type="button" id="d-close" data-testid="close-detail">Close</button></div>
  <div class="when" id="d-when" data-testid="job-when"></div>
  <div class="row write" id="d-actions">
    <button class="act" type="button" data-job-action="retry" data-testid="retry">Retry</button>
    <button class="act" type="button" data-job-action="promote" data-testid="promote">Run now</button>
    <button class="act" type="button" data-job-action="cancel" data-testid="cancel">Cancel</button>
    <button class="act danger" type="button" data-job-action="abort" data-testid="abort">Abort running</button>
    <button class="act danger" type="button" data-job-action="remove" data-testid="remove">Remove</button>
  </div>
  <dl class="kv" id="d-kv" data-testid="job-facts"></dl>
  <div id="d-attempts-box" data-testid="job-attempts"><h2>Attempts</h2><div class="wrap"><table><thead><tr><th class="num">#</th><th>outcome</th><th>node</th><th class="wide">started</th><th class="num">took</th><th title="click an error to see its stack">error</th></tr></thead><tbody id="d-attempts"></tbody></table></div><div id="d-attempts-note" class="muted"></div></div>
  <div id="d-logs-box"><h2 id="d-logs-title">Log</h2><pre id="d-logs" data-testid="job-logs"></pre></div>
  <h2>Payload</h2><pre id="d-payload"></pre>
  <div id="d-fail"><h2 id="d-fail-title">Failure</h2><pre id="d-reason" class="err"></pre><pre id="d-stack" class="muted" data-testid="job-stack"></pre></div>
  <div id="d-ret"><h2>Return value</h2><pre id="d-return"></pre></div>
</aside>
<div id="toast" role="status"></div>
<script nonce="${options.nonce}">window.CLUSTERKIT=${config};</script>
<script nonce="${options.nonce}">${DASHBOARD_SCRIPT}</script>
</body></html>`;
}

/**
 * Renders the token login form (also the body of a 401 for a page request), or, given a login
 * `link`, the page that spends it with one click (a POST, so link previews cannot spend it).
 */
export function renderLoginPage(title: string, options: { error?: string; link?: string } = {}): string {
  const { error, link } = options;
  const fields = link
    ? `<p class="muted">Open a dashboard session with this one-time login link.</p>
<input type="hidden" name="link" value="${escapeHtml(link)}">
<button class="act" type="submit" data-testid="use-link">Continue to the dashboard</button>`
    : `<label for="token" class="muted">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
${error ? `<p class="err" data-testid="login-error">${escapeHtml(error)}</p>` : ''}
<button class="act" type="submit">Log in</button>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · log in</title><style>${STYLE}</style></head>
<body><form class="login" method="post" action="login">
<h1 style="font-size:18px;margin:0 0 12px">${escapeHtml(title)}</h1>
${fields}
</form></body></html>`;
}

/** Escapes text for HTML element and attribute content. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
