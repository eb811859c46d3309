/** Escape text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The dashboard's page, rendered on the server: the layout, the login form and empty sections.
 * Machine data needs the API token, which only the browser has (sessionStorage), so the script
 * fills the sections from /api/v1. Nothing here interpolates request data; what is interpolated
 * still goes through escapeHtml so a future field cannot open a hole.
 */
export function renderPage(opts: { version: string; assetVersion: string }): string {
  const v = escapeHtml(opts.version);
  const asset = encodeURIComponent(opts.assetVersion);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>metalboot</title>
<link rel="stylesheet" href="/ui/app.css?v=${asset}">
<script src="/ui/app.js?v=${asset}" defer></script>
</head>
<body>
<header>
  <h1>metalboot</h1>
  <span class="muted" title="version">${v}</span>
  <span id="stream" class="stream" data-status="off" hidden>offline</span>
  <nav>
    <a href="/docs" target="_blank" rel="noopener">API docs</a>
    <a href="/metrics" target="_blank" rel="noopener">Metrics</a>
    <button id="logout" type="button" hidden>Log out</button>
  </nav>
</header>

<section id="login" hidden>
  <h2>Sign in</h2>
  <form id="login-form">
    <label for="token">API token <span class="muted">(in <code>data/api-token</code> on the server)</span></label>
    <input id="token" name="token" type="password" autocomplete="off" required>
    <button class="primary" type="submit">Open dashboard</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
  <p class="muted">The token stays in this tab (sessionStorage) and is sent only to this server's API.</p>
</section>

<main id="app" hidden>
  <div id="lists">
    <p id="server-warnings" class="banner" role="alert" hidden></p>
    <section id="accept-panel" hidden>
      <h2>Accept <span id="accept-mac" class="mono"></span></h2>
      <form id="accept-form" class="inline">
        <label>Cluster <select id="accept-cluster" name="cluster" required></select></label>
        <label>Role <select id="accept-role" name="role"><option value="worker">worker</option><option value="controlplane">controlplane</option></select></label>
        <label>Hostname <input id="accept-hostname" name="hostname" required maxlength="253"></label>
        <button class="primary" type="submit">Accept</button>
        <button id="accept-cancel" type="button">Cancel</button>
      </form>
      <p id="accept-error" class="error" role="alert"></p>
    </section>

    <section id="discovered" hidden>
      <h2>Discovered <span id="discovered-count" class="badge"></span></h2>
      <p class="muted">Machines that network-booted with an unknown MAC. They wait in a retry loop; accept one to install it.</p>
      <table>
        <thead><tr><th>MAC</th><th>Address</th><th>Arch</th><th>Firmware</th><th>UUID</th><th>Serial</th><th>Seen</th><th></th></tr></thead>
        <tbody id="discovered-rows"></tbody>
      </table>
      <p class="more"><button type="button" id="discovered-more" hidden>Show more</button></p>
    </section>

    <section id="machines">
      <h2>Machines <span id="machines-count" class="badge"></span>
        <input id="filter" type="search" placeholder="filter: name, MAC, state, cluster" aria-label="filter machines">
      </h2>
      <table>
        <thead><tr><th>Hostname</th><th>MAC</th><th>State</th><th>Role</th><th>Cluster</th><th>IP</th><th>Last event</th><th>In state</th></tr></thead>
        <tbody id="machine-rows"></tbody>
      </table>
      <p class="more"><button type="button" id="machines-more" hidden>Show more</button></p>
    </section>
  </div>

  <aside id="detail" hidden>
    <h2><span id="detail-title"></span> <span id="detail-state" class="badge"></span>
      <button id="detail-close" type="button" class="push" aria-label="close">Close</button></h2>
    <div class="actions">
      <button id="action-wake" type="button" data-power-action="on" hidden>Wake</button>
      <span id="power-menu"></span>
      <button id="action-reimage" type="button">Reimage…</button>
      <button id="action-cancel-reimage" type="button" hidden>Cancel reimage</button>
    </div>
    <form id="power-confirm" class="inline" hidden>
      <span id="power-confirm-text"></span>
      <button class="danger" type="submit">Confirm</button>
      <button id="power-confirm-cancel" type="button">Cancel</button>
    </form>
    <form id="reimage-form" class="inline" hidden>
      <label>Wipe <select id="reimage-wipe"><option value="system">system (STATE, EPHEMERAL)</option><option value="disk">whole disk</option></select></label>
      <button class="danger" type="submit">Confirm reimage</button>
      <button id="reimage-cancel" type="button">Cancel</button>
    </form>
    <div id="detail-body"></div>
  </aside>
</main>
<div id="toast" role="status" aria-live="polite"></div>
</body>
</html>
`;
}
