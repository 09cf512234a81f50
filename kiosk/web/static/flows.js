// Identified flows: agent login and village cases, queue tickets, pickup check, evaluation, maintenance,
// and the locked screen. The submission wizard is in submit.js.
import { h, button, api, toast, keypad, actions, DIGITS, formatAge } from './ui.js';
import { App, go, render, endSession, applySession, openHelp } from './app.js';
import { title, errorBox, waitForCard, codeEntry } from './screens.js';
import { greenChannel } from './agent.js';
import { sayForScreen } from './voice.js';
import { submitFlows } from './submit.js';
import { evaluate, evaluateOffers } from './evaluate.js';

async function post(path, body) {
  const res = await api('POST', path, body);
  if (!res.ok) toast(res.data.message || '操作没有成功，请再试一次。');
  return res;
}


// --- agent --------------------------------------------------------------------------------------
async function agent() {
  const s = App.session;
  if (s && s.role === 'agent') {
    return h('div', {}, title('代办员工作台', `${s.agent.name}（${s.agent.agent_id}）${s.agent.offline ? ' ｜ 离线模式' : ''}`),
      h('div', { class: 'tiles' },
        h('button', { type: 'button', class: 'tile action', onclick: () => go('home') }, h('span', { class: 't' }, '为群众申报'),
          h('span', { class: 'd' }, '先找到事项，再点“为群众代办申报”')),
        h('button', { type: 'button', class: 'tile action', onclick: () => go('agentcases') }, h('span', { class: 't' }, '本村办件'),
          h('span', { class: 'd' }, '查看代办件的进度')),
        h('button', { type: 'button', class: 'tile action', onclick: () => go('queue') }, h('span', { class: 't' }, '取号排队'),
          h('span', { class: 'd' }, '登记的代办员可走绿色通道')),
        h('button', { type: 'button', class: 'tile', onclick: () => endSession() }, h('span', { class: 't' }, '退出登录'))));
  }
  if (!s || !s.card) return h('div', {}, title('代办员登录'), waitForCard('第一步：请代办员把本人身份证放在读卡区。'));
  let agentId = '';
  let pin = '';
  const idPad = keypad({ keys: DIGITS, maxLength: 8, label: '工号', onchange: (v) => { agentId = v; } });
  const pinPad = keypad({ keys: DIGITS, maxLength: 6, mask: true, label: '密码', onchange: (v) => { pin = v; } });
  return h('div', {}, title('代办员登录', `已读身份证：${s.card.name}`),
    h('h2', {}, '第二步：输入工号（如 0031）'), idPad.el, h('h2', {}, '第三步：输入 6 位密码'), pinPad.el,
    actions(button('登录', async () => {
      const res = await post('/api/agent/login', { agent_id: agentId, pin });
      if (!res.ok) return;
      // Take the session from the server now: the agent.login event on the stream may come later,
      // and rendering before it would draw the login form again.
      const state = await api('GET', '/api/session');
      if (state.ok) applySession(state.data);
      render();
    }, 'primary big')));
}

// --- queue ticket -------------------------------------------------------------------------------
async function queue() {
  const st = App.state.queue || (App.state.queue = { green: false, cases: 1 });
  if (st.ticket) {
    const t = st.ticket;
    return h('div', {}, title('取号成功'), h('div', { class: 'card' },
      h('p', { class: 'big-number' }, t.number), h('p', { class: 'message' }, `${t.category_name}（${t.floor} 楼）${t.green ? ` ｜ 绿色通道 ｜ 办理 ${t.cases} 件` : ''}`),
      t.waiting !== null && t.waiting !== undefined ? h('p', { class: 'message' }, `前面还有 ${t.waiting} 人在等候`) : null,
      t.window_hint ? h('p', {}, `请留意 ${String(t.window_hint).includes('窗口') ? t.window_hint : t.window_hint + ' 号窗口'} 叫号`) : null,
      h('p', {}, st.printed ? '✔ 号票已打印，请取走。' : (st.printMessage || ''))),
      evaluateOffers([st.evaluation]), button('完成', () => endSession(), 'primary big'));
  }
  const home = await api('GET', '/api/home');
  if (!home.ok) return errorBox(home);
  const take = async (code) => {
    const res = await post('/api/queue', { category: code, green: st.green, cases: st.green ? st.cases : 1 });
    if (res.ok) { st.ticket = res.data.ticket; st.printed = res.data.printed; st.printMessage = res.data.print_message; st.evaluation = res.data.evaluation; render(); }
  };
  const green = await greenChannel(st);
  return h('div', {}, title('取号排队', '请选择要去的窗口类别'), green,
    h('div', { class: 'tiles' }, home.data.categories.map((c) => h('button', { type: 'button', class: 'tile action', onclick: () => take(c.code) },
      h('span', { class: 't' }, c.name), h('span', { class: 'd' }, `${c.floor} 楼`)))));
}

// --- pickup check -------------------------------------------------------------------------------
async function pickup() {
  const st = App.state.pickup || (App.state.pickup = {});
  if (st.result) return h('div', {}, title('取件核验'), h('div', { class: 'card' }, h('p', { class: 'message' }, st.result.result === 'ok' ? '✔ ' : '⚠ ', st.result.message)),
    evaluateOffers([st.result.evaluation]), button('完成', () => endSession(), 'primary big'));
  const verify = async (code) => {
    const res = await post('/api/pickup', { code });
    if (res.ok) { st.result = res.data; render(); }
  };
  App.scanHandler = verify;
  const cardState = App.session && App.session.card ? h('p', { class: 'message' }, `✔ 已读身份证：${App.session.card.name}`) : waitForCard('请把领取人的身份证放在读卡区。');
  return h('div', { id: 'pickup' }, title('取件核验', '扫描受理通知书二维码，并刷申请人身份证'), cardState,
    h('div', { class: 'card' }, h('p', { class: 'message' }, '请扫描受理通知书上的二维码。')), codeEntry(verify, '核验'));
}

// --- help ---------------------------------------------------------------------------
// An old link to the help screen: help is a dialog over the screen the person came from.
async function help() {
  openHelp();
  return h('div', {}, title('呼叫工作人员'));
}

// --- maintenance, locked --------------------------------------------------------------------------
async function maint() {
  const res = await api('GET', '/api/maint/status');
  if (!res.ok) {
    let pin = '';
    const pad = keypad({ keys: DIGITS, maxLength: 12, mask: true, label: '维护密码', onchange: (v) => { pin = v; } });
    return h('div', {}, title('终端维护', '仅限技术人员'), pad.el,
      button('进入', async () => { const r = await post('/api/maint/login', { pin }); if (r.ok) render(); }, 'primary big'));
  }
  const d = res.data;
  const act = (path, okText) => async () => { const r = await post(path, {}); if (r.ok) { toast(okText, 'info'); render(); } };
  const p = d.devices.printer;
  return h('div', {}, title('终端维护', `${d.device_id} ｜ ${d.site_id}`),
    h('table', {}, h('tbody', {},
      h('tr', {}, h('th', {}, '打印机'), h('td', {}, p.installed ? `${p.online ? '在线' : '离线'} ｜ 纸：${p.paper} ｜ 盖：${p.cover}${p.error ? ' ｜ ' + p.error : ''}` : '未安装')),
      h('tr', {}, h('th', {}, '读卡器'), h('td', {}, d.devices.idcard)),
      h('tr', {}, h('th', {}, '扫码器'), h('td', {}, d.devices.scanner)),
      h('tr', {}, h('th', {}, '高拍仪'), h('td', {}, d.devices.camera)),
      h('tr', {}, h('th', {}, '平台连接'), h('td', {}, d.devices.online === null ? '正在连接' : d.devices.online ? '在线' : '离线')),
      h('tr', {}, h('th', {}, '待上报'), h('td', {}, outboxText(d.sync))),
      h('tr', {}, h('th', {}, '事项目录版本'), h('td', {}, `${d.catalog.version}（${d.catalog.items} 项）`)),
      h('tr', {}, h('th', {}, '时钟'), h('td', {}, d.clock_ok === false ? '未校准' : '正常')),
      h('tr', {}, h('th', {}, '磁盘剩余'), h('td', {}, `${d.disk_free_mb} MB`)),
      h('tr', {}, h('th', {}, '状态'), h('td', {}, d.devices.locked ? `已锁定（${d.devices.locked}）` : '正常服务')))),
    h('div', { class: 'row gap-top' },
      button('打印测试页', act('/api/maint/print-test', '测试页已打印')),
      d.devices.locked ? button('解除锁定', act('/api/maint/unlock', '已解除锁定'), 'primary')
        : button('锁定终端', act('/api/maint/lock', '已锁定'), 'primary'),
      button('退出维护', () => endSession())));
}

function outboxText(sync) {
  if (!sync || sync.error) return sync && sync.error ? `无法读取：${sync.error}` : '未连接同步服务';
  const depth = typeof sync.outbox === 'object' && sync.outbox ? sync.outbox.depth : sync.outbox_total;
  const oldest = sync.oldest_pending_s;
  return `${depth ?? '?'} 条${oldest ? `（最早 ${formatAge(oldest)}）` : ''}${sync.last_ack ? ` ｜ 最近确认 ${sync.last_ack}` : ''}`;
}

function locked() {
  sayForScreen('locked');
  return h('div', { class: 'locked' }, h('h1', {}, '⚠ 本机暂停服务'),
    h('p', { class: 'message' }, '请到人工窗口办理，或使用其他自助终端。给您带来不便，敬请谅解。'),
    h('p', { class: 'muted' }, (App.status && App.status.locked) || ''),
    h('p', { class: 'message' }, '需要帮助，请点下方“呼叫工作人员”。'));
}

export const flows = { ...submitFlows, agent, queue, pickup, evaluate, help, maint, locked };
