"""The control panel's single page (HTML, CSS and script inline: served by the hall process only,
no build step, no outside resources). Chinese labels with English subtitles, large buttons."""

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>模拟大厅控制台 · Hall control panel</title>
<style>
  body { font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; margin: 0; background: #f3f5f8;
         color: #1a1a1a; font-size: 20px; }
  header { background: #0b4f8a; color: #fff; padding: 14px 24px; }
  header h1 { margin: 0; font-size: 28px; }
  header a { color: #fff; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; padding: 16px; }
  section { background: #fff; border-radius: 10px; padding: 14px 18px; box-shadow: 0 1px 3px #0002; }
  h2 { margin: 0 0 10px; font-size: 24px; }
  small, .en { color: #555; font-size: 15px; }
  button { min-height: 64px; min-width: 120px; margin: 4px; padding: 8px 14px; font-size: 20px;
           border: 2px solid #0b4f8a; border-radius: 8px; background: #e8f0fa; color: #0b2e52; cursor: pointer; }
  button .en { display: block; font-size: 14px; color: #334; }
  button.warn { border-color: #a23b00; background: #fdeee4; }
  button:active { background: #c9dcf2; }
  input[type=text] { font-size: 20px; padding: 10px; width: 100%; box-sizing: border-box; min-height: 56px; }
  table { border-collapse: collapse; width: 100%; font-size: 17px; }
  td, th { border-bottom: 1px solid #ddd; padding: 6px; text-align: left; }
  #msg { position: sticky; top: 0; background: #fffbe6; padding: 8px 24px; min-height: 24px; font-size: 18px; }
  .state { font-weight: bold; }
  .bad { color: #a00; } .good { color: #065; }
</style>
</head>
<body>
<header>
  <h1>模拟大厅控制台 <small style="color:#dde">Hall control panel</small></h1>
  <div>终端界面 Terminal: <a id="terminal" href="#" target="_blank">…</a></div>
  <div>终端看到的设备 What the terminal sees: <span id="tstatus">…</span></div>
</header>
<div id="msg" role="status"></div>
<main>
  <section><h2>身份证读卡器 <span class="en">ID-card reader</span></h2>
    <div><small>代办员：放卡 2，工号 0031，密码 123456 · Agent: card 2, AG-0031, PIN 123456</small></div>
    <div id="cards"></div>
    <button data-act="idcard remove" class="warn">取走卡片<span class="en">remove card</span></button>
  </section>
  <section><h2>扫码器 <span class="en">QR scanner</span></h2>
    <input type="text" id="scantext" placeholder="查询码或受理通知书网址 / query code or notice URL">
    <button id="scanbtn">扫描<span class="en">scan this text</span></button>
    <div><small>已受理案件的二维码 · QR codes of the cases central holds:</small></div>
    <div id="casecodes"></div>
  </section>
  <section><h2>打印机 <span class="en">Printer</span></h2>
    <button data-act="printer paper ok">纸张正常<span class="en">paper ok</span></button>
    <button data-act="printer paper near_end">纸将用完<span class="en">paper near end</span></button>
    <button data-act="printer paper out" class="warn">缺纸<span class="en">paper out</span></button>
    <button data-act="printer cover open" class="warn">打开机盖<span class="en">cover open</span></button>
    <button data-act="printer cover closed">合上机盖<span class="en">cover closed</span></button>
  </section>
  <section><h2>机箱与传感器 <span class="en">IO board</span></h2>
    <button data-act="ioboard tamper open" class="warn">机箱被打开<span class="en">tamper open</span></button>
    <button data-act="ioboard tamper closed">机箱已关好<span class="en">tamper closed</span></button>
    <button data-act="ioboard presence on">有人走近<span class="en">presence on</span></button>
    <button data-act="ioboard presence off">无人<span class="en">presence off</span></button>
    <button data-act="ioboard press help">按求助按钮<span class="en">press help</span></button>
  </section>
  <section><h2>网络（消息服务器） <span class="en">Network (MQTT broker)</span></h2>
    <div>状态 State: <span id="broker" class="state">…</span></div>
    <button data-act="broker stop" class="warn">断网<span class="en">stop broker (outage)</span></button>
    <button data-act="broker start">恢复网络<span class="en">start broker</span></button>
  </section>
  <section><h2>终端服务 <span class="en">Terminal service</span></h2>
    <button data-act="terminal restart" class="warn">重启终端服务<span class="en">restart the terminal
      (the page reconnects by itself)</span></button>
  </section>
  <section><h2>已打印的小票 <span class="en">Printed receipts</span></h2>
    <div id="receipts"><small>还没有 · none yet</small></div>
  </section>
  <section style="grid-column: 1 / -1"><h2>平台收到的案件 <span class="en">Cases at central</span></h2>
    <table><thead><tr><th>受理编号 Case no.</th><th>事项 Item</th><th>状态 Status</th>
      <th>查询码 Query code</th></tr></thead>
    <tbody id="cases"></tbody></table>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}
function button(zh, en, act, value) {
  const b = el("button", {"data-act": act}, zh, el("span", {class: "en"}, en));
  if (value !== undefined) b.dataset.value = value;
  return b;
}
async function act(spec, value) {
  const [device, action, ...rest] = spec.split(" ");
  const body = {device, action, value: value !== undefined ? value : rest.join(" ")};
  const r = await fetch("/api/act", {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify(body)});
  const data = await r.json();
  $("msg").textContent = data.error ? "✗ " + data.error : "✓ " + data.done;
  refresh();
}
document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-act]");
  if (b) act(b.dataset.act, b.dataset.value);
});
$("scanbtn").addEventListener("click", () => act("scanner scan", $("scantext").value));
const shown = {};
// Replace a part of the page only when its data changed, so that a button is not swapped under a finger.
function update(part, data, draw) {
  const key = JSON.stringify(data);
  if (shown[part] === key) return;
  shown[part] = key;
  draw(data);
}
async function refresh() {
  let s;
  try { s = await (await fetch("/api/state")).json(); }
  catch (e) { $("msg").textContent = "控制台已停止 · hall stopped"; return; }
  update("terminal", s.terminal, (url) => {
    const t = $("terminal"); t.textContent = url || "（未启动 not running）"; t.href = url || "#";
  });
  update("tstatus", s.terminal_status, (ts) => {
    $("tstatus").textContent = !ts ? "（无应答 not answering）" :
      `平台 ${ts.online ? "在线 online" : "离线 offline"}` +
      ` ｜ 读卡器 reader ${ts.idcard} ｜ 扫码器 scanner ${ts.scanner}` +
      ` ｜ 打印机 printer ${ts.printer && ts.printer.installed ? ts.printer.paper + "/" + ts.printer.cover : "—"}` +
      ` ｜ 灯 light ${ts.light || "—"}${ts.locked ? " ｜ 已锁定 locked" : ""}`;
  });
  update("broker", s.broker, (b) => {
    $("broker").textContent = b.running ? "在线 running" : "已断开 stopped";
    $("broker").className = "state " + (b.running ? "good" : "bad");
  });
  update("cards", s.identities, (ids) => $("cards").replaceChildren(...ids.map((i) =>
    button(`放卡 ${i.index + 1} · ${i.name}`, `present card ${i.index + 1} · ${i.kind}`,
           "idcard present", String(i.index)))));
  update("cases", s.cases, (cases) => {
    $("casecodes").replaceChildren(...cases.map((c) =>
      button(`扫 ${c.case_no}`, `scan notice QR · ${c.item_code}`, "scanner scan", c.url)));
    $("cases").replaceChildren(...cases.map((c) =>
      el("tr", {}, el("td", {}, c.case_no), el("td", {}, c.item_code), el("td", {}, c.status), el("td", {}, c.code))));
  });
  update("receipts", s.receipts, (receipts) => {
    if (!receipts.length) return;
    $("receipts").replaceChildren(...receipts.slice().reverse().map((r) =>
      el("div", {}, el("a", {href: "/receipts/" + r.png, target: "_blank"}, `#${r.n} ${r.title}`),
         ...r.qr.map((q) => button("扫这张小票", "scan this receipt's QR", "scanner scan", q)))));
  });
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""
