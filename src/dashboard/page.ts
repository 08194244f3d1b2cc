/**
 * The dashboard's HTML shell and stylesheet, served as they are: the sections app.ts fills in.
 * No framework and no external resource (the page works offline and under a strict CSP).
 */

export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>swarm-controller</title>
<link rel="stylesheet" href="/dashboard/style.css">
<link rel="icon" href="/dashboard/favicon.svg">
<script type="module" src="/dashboard/app.js"></script>
</head>
<body>
<header class="top">
  <h1>swarm-controller</h1>
  <span id="live" class="badge warn">connecting…</span>
  <form id="token-box" hidden>
    <label>token <input id="token" type="password" autocomplete="off" placeholder="dashboard token"></label>
    <span id="action-result"></span>
  </form>
</header>
<p id="summary" class="summary"></p>
<main>
<section>
  <h2>Apply sets</h2>
  <div id="apps" class="cards"></div>
</section>
<section>
  <h2>Objects <small><span id="objects-shown">0</span> of <span id="objects-count">0</span></small></h2>
  <div class="filters">
    <input id="filter" type="search" placeholder="filter by name or reason">
    <select id="phase">
      <option value="">every phase</option>
      <option value="not-ready">not Ready</option>
      <option>Ready</option><option>Progressing</option><option>Pending</option><option>Failed</option><option>Stalled</option>
    </select>
  </div>
  <div class="scroll">
  <table id="objects">
    <colgroup><col><col><col><col><col><col><col></colgroup>
    <thead><tr><th>set</th><th>kind</th><th>object</th><th>state</th><th>reason</th><th>drift</th><th>plan</th></tr></thead>
    <tbody id="objects-attention"></tbody>
    <tbody id="objects-body"></tbody>
  </table>
  </div>
</section>
<section>
  <h2>Sync history</h2>
  <table id="history">
    <thead><tr><th>set</th><th>started</th><th>trigger</th><th>commit</th><th>message</th><th>took</th><th>result</th></tr></thead>
    <tbody id="history-body"></tbody>
  </table>
</section>
<section>
  <h2>Routes</h2>
  <table id="routes">
    <thead><tr><th>route</th><th>match</th><th>backend</th><th>weight</th><th>servers</th></tr></thead>
    <tbody id="routes-body"></tbody>
  </table>
</section>
<section>
  <h2>Rollouts</h2>
  <table id="rollouts">
    <thead><tr><th>service</th><th>phase</th><th>step</th><th>canary weight</th><th>last judgement</th><th>reason</th></tr></thead>
    <tbody id="rollouts-body"></tbody>
  </table>
</section>
<section>
  <h2>Proxy replicas</h2>
  <table id="replicas">
    <thead><tr><th>task</th><th>address</th><th>generation</th><th>table</th><th>last push</th></tr></thead>
    <tbody id="replicas-body"></tbody>
  </table>
</section>
</main>
</body>
</html>
`;

export const dashboardStyle = `
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --busy: #0969da; --muted: #6e7781; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
.top { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: #24292f; color: #fff; }
.top h1 { font-size: 18px; margin: 0; }
#token-box { margin-left: auto; display: flex; gap: 8px; align-items: center; }
.summary { margin: 8px 20px; color: var(--muted); }
.problem { color: var(--bad); }
main { padding: 0 20px 20px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
h2 { font-size: 15px; margin: 0 0 8px; }
h2 small { color: var(--muted); font-weight: normal; }
h3 { font-size: 15px; margin: 0; display: inline; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px; min-width: 320px; flex: 1; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 8px 0; }
.card dt { color: var(--muted); }
.card dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; gap: 8px; }
button { font: inherit; padding: 3px 10px; border: 1px solid var(--line); border-radius: 6px; background: #f6f8fa; cursor: pointer; }
button:hover { background: #eaeef2; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { position: sticky; top: 0; background: #fff; color: var(--muted); font-weight: 600; }
.scroll { height: 60vh; overflow: auto; contain: strict; }
#objects { table-layout: fixed; }
#objects col:nth-child(1) { width: 6%; } #objects col:nth-child(2) { width: 7%; } #objects col:nth-child(3) { width: 22%; }
#objects col:nth-child(4) { width: 9%; } #objects col:nth-child(5) { width: 24%; } #objects col:nth-child(6) { width: 14%; }
#objects col:nth-child(7) { width: 18%; }
#objects td { overflow: hidden; text-overflow: ellipsis; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
td.mono { white-space: nowrap; }
.num { text-align: right; white-space: nowrap; }
.reason { color: #57606a; }
.muted { color: var(--muted); }
.filters { display: flex; gap: 8px; margin-bottom: 6px; }
.filters input { flex: 1; max-width: 360px; }
input, select { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 6px; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; white-space: nowrap; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); } .badge.warn { background: var(--warn); }
.badge.busy { background: var(--busy); } .badge.muted { background: var(--muted); }
[hidden] { display: none !important; }
`;

/** A small icon, so browsers do not ask for /favicon.ico. */
export const dashboardIcon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#24292f"/><path d="M4 8h8M8 4v8" stroke="#3fb950" stroke-width="2"/></svg>`;
