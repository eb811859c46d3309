/**
 * The dashboard's stylesheet, as a string module: tsc does not copy non-TS files and the package
 * ships only dist/ and templates/, so a .css file next to this one would be missing at runtime.
 */
export const STYLE = `
:root {
  --bg: #f6f7f9; --panel: #fff; --text: #1d2330; --muted: #667085; --line: #e3e6eb; --accent: #2f6fed;
  --gray: #6b7280; --blue: #2563eb; --violet: #7c3aed; --teal: #0d9488; --green: #15803d; --red: #dc2626; --orange: #c2410c;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #101828; color: #fff; }
header h1 { font-size: 17px; margin: 0; letter-spacing: .3px; }
header nav { margin-left: auto; display: flex; gap: 14px; align-items: center; }
header a { color: #cdd5df; text-decoration: none; }
header a:hover { color: #fff; }
.stream { font-size: 12px; color: #cdd5df; display: flex; align-items: center; gap: 6px; }
.stream::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--gray); }
.stream[data-status="live"]::before { background: #22c55e; }
.stream[data-status="reconnecting"]::before { background: #f59e0b; }
main { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; padding: 16px 20px; }
main.with-detail { grid-template-columns: minmax(0, 1fr) minmax(360px, 36%); }
#lists { min-width: 0; display: flex; flex-direction: column; gap: 16px; }
section, aside { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
section { overflow-x: auto; }
aside { align-self: start; position: sticky; top: 16px; max-height: calc(100vh - 32px); overflow: auto; }
h2 { font-size: 15px; margin: 0 0 10px; display: flex; align-items: center; gap: 10px; }
h3 { font-size: 13px; margin: 16px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .4px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.wrap { white-space: normal; word-break: break-word; }
tbody tr.machine { cursor: pointer; }
tbody tr.machine:hover { background: #f2f5fb; }
tbody tr.selected { background: #e8effd; }
tbody tr.stalled { background: #fff4e5; box-shadow: inset 3px 0 0 var(--orange); }
tbody tr.failed { background: #fdecec; box-shadow: inset 3px 0 0 var(--red); }
.mono, code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 10px 8px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--gray); }
.badge.boot { background: var(--blue); }
.badge.install { background: var(--violet); }
.badge.run { background: var(--teal); }
.badge.ok { background: var(--green); }
.badge.bad { background: var(--red); }
.badge.warn { background: var(--orange); }
button { font: inherit; padding: 4px 12px; border-radius: 6px; border: 1px solid #c9ced6; background: #fff; cursor: pointer; }
button:hover { background: #f2f4f7; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: var(--red); border-color: var(--red); color: #fff; }
button:disabled { opacity: .5; cursor: default; }
p.more { text-align: center; margin: 8px 0 0; }
input, select { font: inherit; padding: 4px 8px; border-radius: 6px; border: 1px solid #c9ced6; }
form.inline { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; }
form.inline label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
.error { color: var(--red); }
#login { max-width: 420px; margin: 80px auto; }
#login form { display: flex; flex-direction: column; gap: 10px; }
#accept-panel { border-color: var(--accent); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-word; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; margin: 8px 0; }
#power-menu { display: contents; }
#power-confirm { align-items: center; margin: 8px 0; }
.power-state { font-weight: 600; }
.power-state.on { color: var(--green); }
.power-state.off { color: var(--gray); }
ol.timeline { list-style: none; margin: 0; padding: 0; max-height: 340px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
ol.timeline li { padding: 5px 8px; border-bottom: 1px solid var(--line); display: grid; grid-template-columns: 74px 1fr; gap: 2px 8px; }
ol.timeline li:last-child { border-bottom: 0; }
ol.timeline .kind { font-weight: 600; }
ol.timeline .detail { grid-column: 2; color: var(--muted); word-break: break-word; }
ol.timeline li.critical { background: #fef2f2; border-left: 4px solid var(--red); }
ol.timeline li.critical .kind, ol.timeline li.critical .detail { color: var(--red); }
.banner { margin: 0; padding: 10px 14px; border-radius: 8px; background: var(--red); color: #fff; font-weight: 600; }
ul.unmet { margin: 0; padding-left: 18px; }
ul.unmet li { margin: 2px 0; }
pre.kmsg { background: #0b1020; color: #d7e0f0; padding: 8px; border-radius: 6px; max-height: 260px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
#toast { position: fixed; right: 16px; bottom: 16px; display: flex; flex-direction: column; gap: 6px; }
#toast div { background: #101828; color: #fff; padding: 8px 12px; border-radius: 6px; max-width: 420px; }
#toast div.error { background: var(--red); color: #fff; }
.push { margin-left: auto; }
[hidden] { display: none !important; }
`;
