/**
 * The dashboard's stylesheet: light and dark themes (following the system unless the operator
 * picks one), and a layout that folds down to a phone's width (tables scroll sideways, secondary
 * columns hide, the job detail takes the whole screen).
 */
export const DASHBOARD_STYLE = `
:root{color-scheme:dark;--bg:#0f172a;--panel:#111c33;--line:#24324f;--text:#e2e8f0;--mute:#94a3b8;--accent:#38bdf8;--bad:#f87171;--ok:#4ade80;--warn:#fbbf24;--hover:#16233f;--btn:#24324f;--btnh:#2f4168;--danger:#7f1d1d;--b-failed:#7f1d1d;--b-completed:#14532d;--b-active:#1e3a8a;--b-delayed:#78350f;--b-waiting:#334155;--b-cancelled:#3f3f46;--shadow:0 10px 40px rgba(0,0,0,.5)}
:root[data-theme=light]{color-scheme:light;--bg:#f8fafc;--panel:#ffffff;--line:#dbe3ee;--text:#0f172a;--mute:#55657a;--accent:#0369a1;--bad:#b91c1c;--ok:#15803d;--warn:#b45309;--hover:#eef4fb;--btn:#e2e8f0;--btnh:#cbd5e1;--danger:#fecaca;--b-failed:#fecaca;--b-completed:#bbf7d0;--b-active:#bfdbfe;--b-delayed:#fde68a;--b-waiting:#e2e8f0;--b-cancelled:#e4e4e7;--shadow:0 10px 40px rgba(15,23,42,.18)}
@media (prefers-color-scheme:light){:root:not([data-theme=dark]){color-scheme:light;--bg:#f8fafc;--panel:#ffffff;--line:#dbe3ee;--text:#0f172a;--mute:#55657a;--accent:#0369a1;--bad:#b91c1c;--ok:#15803d;--warn:#b45309;--hover:#eef4fb;--btn:#e2e8f0;--btnh:#cbd5e1;--danger:#fecaca;--b-failed:#fecaca;--b-completed:#bbf7d0;--b-active:#bfdbfe;--b-delayed:#fde68a;--b-waiting:#e2e8f0;--b-cancelled:#e4e4e7;--shadow:0 10px 40px rgba(15,23,42,.18)}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--text)}
a{color:var(--accent)}
header{display:flex;align-items:center;gap:12px;flex-wrap:wrap;padding:10px 20px;border-bottom:1px solid var(--line);background:var(--panel)}
header h1{font-size:16px;margin:0;font-weight:600}.spacer{flex:1}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;background:var(--b-waiting);color:var(--text);white-space:nowrap}
.badge.failed,.badge.dead{background:var(--b-failed)}.badge.completed,.badge.running{background:var(--b-completed)}.badge.active{background:var(--b-active)}.badge.delayed,.badge.paused{background:var(--b-delayed)}.badge.cancelled{background:var(--b-cancelled)}.badge.lost{background:var(--b-delayed)}
.totals{display:flex;gap:8px;flex-wrap:wrap}.totals a{text-decoration:none;color:inherit;cursor:pointer}.totals b{font-variant-numeric:tabular-nums}
#live{cursor:pointer;border:1px solid var(--line);background:none;color:var(--mute);border-radius:999px;padding:2px 10px;font:inherit;font-size:12px}#live.on{color:var(--ok)}#live.held{color:var(--warn)}
nav{display:flex;gap:4px;padding:8px 20px;border-bottom:1px solid var(--line);overflow-x:auto}
nav a,.tabs button{background:none;border:1px solid transparent;color:var(--mute);padding:6px 12px;border-radius:6px;cursor:pointer;font:inherit;text-decoration:none;white-space:nowrap}
nav a.on,.tabs button.on{color:var(--text);border-color:var(--line);background:var(--panel)}
main{padding:12px 20px 40px;max-width:1400px}section.view{display:none}section.view.on{display:block}
h2{font-size:13px;color:var(--mute);font-weight:600;margin:20px 0 8px;text-transform:uppercase;letter-spacing:.04em}
.wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}tr:last-child td{border-bottom:0}th{color:var(--mute);font-weight:500;font-size:12px;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}tr[data-href]{cursor:pointer}tr[data-href]:hover,tr.sel{background:var(--hover)}
tr.group td{font-weight:600;background:color-mix(in srgb,var(--panel) 85%,var(--line))}tr.tenant td:first-child{padding-left:26px}
button.act{background:var(--btn);color:var(--text);border:0;border-radius:6px;padding:5px 10px;cursor:pointer;font:inherit;white-space:nowrap}
button.act:hover{background:var(--btnh)}button.act.danger{background:var(--danger)}button.act:disabled{opacity:.4;cursor:default}
input,select{background:var(--bg);color:var(--text);border:1px solid var(--line);border-radius:6px;padding:5px 8px;font:inherit;min-width:0}
.row{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin:8px 0}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;max-height:320px;margin:4px 0 12px;white-space:pre-wrap;word-break:break-word}
td pre{max-height:120px;margin:0}#d-attempts td pre{max-height:260px;font-size:12px}#d-attempts-box th{white-space:normal}td svg{vertical-align:middle}details summary{cursor:pointer}
.kv{display:grid;grid-template-columns:150px 1fr;gap:4px 12px;margin:0}.kv dt{color:var(--mute)}.kv dd{margin:0;word-break:break-word}
.err{color:var(--bad)}.muted{color:var(--mute)}.ok{color:var(--ok)}.warn{color:var(--warn)}
.note{color:var(--mute);font-size:13px;max-width:900px}
#toast{position:fixed;right:16px;bottom:16px;background:var(--panel);border:1px solid var(--line);padding:10px 14px;border-radius:8px;display:none;box-shadow:var(--shadow);z-index:30}
#detail{position:fixed;top:0;right:0;bottom:0;width:min(640px,100%);background:var(--panel);border-left:1px solid var(--line);box-shadow:var(--shadow);overflow-y:auto;padding:14px 18px;display:none;z-index:20}#detail.on{display:block}
#detail h3{margin:0;font-size:15px;word-break:break-word}.when{font-size:15px;margin:6px 0 10px}
.chart{display:block;max-width:100%}.chart text{fill:var(--mute);font-size:10px}.chart .grid{stroke:var(--line)}
.c-completed{fill:var(--ok)}.c-failed{fill:var(--bad)}.c-retried{fill:var(--warn)}.l-p95{stroke:var(--accent);fill:none;stroke-width:1.5}.l-p50{stroke:var(--ok);fill:none;stroke-width:1.5}
.legend{display:flex;gap:14px;font-size:12px;color:var(--mute);flex-wrap:wrap}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.panel{border:1px solid var(--line);border-radius:8px;background:var(--panel);padding:10px 14px}
.login{max-width:360px;margin:12vh auto;background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:24px}.login input{width:100%;margin:8px 0 14px}
@media (max-width:720px){
header{padding:8px 12px;gap:8px}main{padding:10px 12px 40px}nav{padding:6px 12px}
.wide{display:none}.kv{grid-template-columns:1fr}.kv dt{margin-top:6px}
.row input{flex:1 1 120px}#detail{padding:12px}
}
`;
