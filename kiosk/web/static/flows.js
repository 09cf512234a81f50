// Identified flows: submission (self-service and agent), agent login and village cases, queue tickets,
// pickup check, evaluation, help, maintenance, and the locked screen.
import { h, button, api, toast, hideToast, keypad, DIGITS, formatAge } from './ui.js';
import { App, go, render, endSession, applySession } from './app.js';
import { title, errorBox, waitForCard, codeEntry, caseCard } from './screens.js';

const STEPS = ['选择情形', '准备材料', '联系电话', '领取方式', '告知同意', '确认提交'];

function stepsBar(index) {
  return h('div', { class: 'steps-bar', 'aria-label': '办理步骤' },
    STEPS.map((s, i) => h('span', { class: i === index ? 'now' : '' }, `${i + 1}. ${s}${i < index ? ' ✔' : ''}`)));
}

async function post(path, body) {
  const res = await api('POST', path, body);
  if (!res.ok) toast(res.data.message || '操作没有成功，请再试一次。');
  return res;
}

// --- submission ---------------------------------------------------------------------------------
async function submit() {
  const st = App.state.submit;
  if (!st) { go('home'); return h('div'); }
  const head = title(App.session && App.session.role === 'agent' ? '代办申报' : '网上申报');
  if (st.result) return h('div', {}, head, submitResult(st.result));
  if (!App.session || !App.session.card) {
    const who = App.session && App.session.role === 'agent' ? '请群众把本人身份证放在读卡区（证明本人到场）。' : '请把申请人的身份证放在读卡区，读卡完成前不要拿开。';
    return h('div', {}, head, waitForCard(who));
  }
  if (!st.situation) {
    const res = await api('GET', `/api/items/${encodeURIComponent(st.item)}`);
    if (!res.ok) return errorBox(res);
    return h('div', {}, head, stepsBar(0), h('h2', {}, res.data.name), h('p', { class: 'message' }, '请选择符合您的情形：'),
      h('ul', { class: 'list' }, res.data.situations.map((s) => h('li', {},
        button([h('span', {}, s.name), h('span', { class: 'meta' }, s.conditions)], () => { st.situation = s.code; render(); }, 'item-link')))));
  }
  if (!st.started) {
    const res = await post('/api/submit/start', { item: st.item, situation: st.situation });
    if (!res.ok) return h('div', {}, head, errorBox(res));
    st.started = true;
    st.step = 1;
    st.draft = res.data;
  }
  const views = { 1: materialsStep, 2: phoneStep, 3: pickupStep, 4: consentStep, 5: confirmStep };
  return h('div', {}, head, stepsBar(st.step), h('p', {}, h('b', {}, st.draft.item.name), ` ｜ ${st.draft.situation.name} ｜ 申请人：${st.draft.applicant}`),
    await views[st.step](st));
}

function nav(st, { next = true, nextLabel = '下一步', onNext } = {}) {
  return h('div', { class: 'row gap-top' },
    button('上一步', () => { if (st.step > 1) { st.step -= 1; render(); } else { App.state.submit = null; api('POST', '/api/submit/cancel', {}); go('home'); } }, 'big'),
    next ? button(nextLabel, onNext || (() => { st.step += 1; render(); }), 'primary big') : null);
}

async function materialsStep(st) {
  const d = st.draft;
  const choose = async (m, choice) => {
    const res = await post('/api/submit/material', { material: m, choice });
    if (res.ok) { st.draft = res.data; render(); }
  };
  const capture = async (btn, m) => {
    btn.disabled = true;
    btn.textContent = '正在拍照……';
    const res = await post('/api/submit/capture', { material: m });
    if (res.ok) st.draft = res.data;
    render();
  };
  const retake = async (m, page) => {
    const res = await post('/api/submit/retake', { material: m, page });
    if (res.ok) { st.draft = res.data; render(); }
  };
  const rows = d.materials.map((m) => {
    const options = [];
    if (m.held) options.push(button('平台已有 · 免提交', () => choose(m.code, 'shared'), m.choice === 'shared' ? 'selected' : ''));
    if (d.camera) options.push(button('用高拍仪拍照', () => choose(m.code, 'scan'), m.choice === 'scan' ? 'selected' : ''));
    options.push(button('带原件到窗口', () => choose(m.code, 'paper'), m.choice === 'paper' ? 'selected' : ''));
    const pages = m.choice === 'scan' ? h('div', {},
      h('p', {}, `把材料正面朝上放平在高拍仪下，再点“拍一页”。已拍 ${m.pages} 页。`),
      h('div', { class: 'pages' }, Array.from({ length: m.pages }, (_, i) => h('figure', {},
        h('img', { src: `/api/submit/page/${encodeURIComponent(m.code)}/${i}?t=${Date.now()}`, alt: `第 ${i + 1} 页` }),
        h('figcaption', {}, `第 ${i + 1} 页 `, button('重拍', () => retake(m.code, i)))))),
      h('button', { type: 'button', class: 'btn primary', onclick: (e) => capture(e.currentTarget, m.code) }, '拍一页')) : null;
    return h('div', { class: 'card' }, h('h3', {}, m.name, m.required ? '' : '（需要时提供）'),
      h('p', { class: 'muted' }, `${m.form} ${m.copies} 份 ${m.note || ''}`), h('div', { class: 'row' }, options), pages);
  });
  const done = d.materials.every((m) => !m.required || (m.choice && (m.choice !== 'scan' || m.pages > 0)));
  return h('div', {}, h('h2', {}, '请为每份材料选择提交方式'), rows,
    done ? nav(st) : h('div', {}, h('p', { class: 'message' }, '每份必需的材料都选好后，才能进入下一步。'), nav(st, { next: false })));
}

async function phoneStep(st) {
  let value = '';
  const pad = keypad({ keys: DIGITS, maxLength: 11, label: '手机号码', onchange: (v) => { value = v; } });
  return h('div', {}, h('h2', {}, '请输入联系电话（11 位手机号码）'), h('p', { class: 'muted' }, '办件有进展时，工作人员会用这个号码联系您。'),
    st.draft.phone ? h('p', {}, `已填写：${st.draft.phone}（重新输入可以修改）`) : null, pad.el,
    nav(st, { onNext: async () => {
      if (!value && st.draft.phone) { st.step += 1; render(); return; }
      const res = await post('/api/submit/details', { phone: value });
      if (res.ok) { st.draft = res.data; st.step += 1; render(); }
    } }));
}

async function pickupStep(st) {
  return h('div', {}, h('h2', {}, '办好后怎么领取？'),
    h('div', { class: 'row' }, st.draft.pickup_methods.map((p) => button(p.label, async () => {
      const res = await post('/api/submit/details', { pickup: p.method });
      if (res.ok) { st.draft = res.data; render(); }
    }, st.draft.pickup === p.method ? 'selected big' : 'big'))),
    st.draft.pickup ? nav(st) : nav(st, { next: false }));
}

async function consentStep(st) {
  return h('div', {}, h('h2', {}, '个人信息使用告知'),
    h('div', { class: 'card' },
      h('p', {}, '为办理本事项，需要把您的姓名、身份证号码、联系电话和上传的材料提交给政务服务平台。'),
      h('p', {}, '这些信息只用于办理本事项，本机不保存您的照片，办结确认后按规定删除本机副本。')),
    h('div', { class: 'row' }, button(st.draft.consent ? '✔ 已同意' : '我已了解并同意', async () => {
      const res = await post('/api/submit/details', { consent: true });
      if (res.ok) { st.draft = res.data; render(); }
    }, st.draft.consent ? 'selected big' : 'primary big')),
    st.draft.consent ? nav(st) : nav(st, { next: false }));
}

async function confirmStep(st) {
  const d = st.draft;
  const label = { shared: '免提交', scan: '已拍照', paper: '带原件到窗口' };
  return h('div', {}, h('h2', {}, '请核对后提交'),
    h('div', { class: 'card' },
      h('p', {}, h('b', {}, '事项：'), d.item.name, ' ｜ ', d.situation.name),
      h('p', {}, h('b', {}, '申请人：'), d.applicant),
      h('p', {}, h('b', {}, '联系电话：'), d.phone),
      h('p', {}, h('b', {}, '领取方式：'), (d.pickup_methods.find((p) => p.method === d.pickup) || {}).label || ''),
      h('ul', {}, d.materials.filter((m) => m.choice).map((m) => h('li', {}, `${m.name}：${label[m.choice]}${m.choice === 'scan' ? `（${m.pages} 页）` : ''}`)))),
    nav(st, { nextLabel: '✔ 确认提交', onNext: async (e) => {
      document.querySelectorAll('main button').forEach((b) => { b.disabled = true; });
      toast('正在提交，请稍候……', 'info', 15000);
      const res = await api('POST', '/api/submit/commit', {});
      hideToast();
      if (!res.ok) { toast(res.data.message || '提交没有成功。'); render(); return; }
      st.result = res.data;
      render();
    } }));
}

function submitResult(r) {
  if (r.status === 'rejected') return h('div', { class: 'card' }, h('p', { class: 'message' }, '⚠ ', r.message));
  const n = r.notice;
  const online = r.status === 'accepted';
  const reprint = async (btn) => {
    btn.disabled = true;
    const res = await post('/api/reprint', { code: n.query_code });
    btn.disabled = false;
    if (res.ok && res.data.printed) { toast('受理通知书已打印，请取走。', 'info'); r.printed = true; render(); }
    else if (res.ok) toast(res.data.print_message || '还是没有打印出来，请联系工作人员。');
  };
  return h('div', { class: `card ${online ? 'notice-ok' : 'notice-pending'}` },
    h('h2', {}, online ? '✔ 已提交，平台已受理' : '✔ 已提交，待平台确认'),
    online ? null : h('p', { class: 'message' }, '网络暂时不通，申请已经安全保存在本机，联网后会自动上报，不用重新提交。'),
    n.case_no ? h('p', {}, h('b', {}, '办件编号：'), n.case_no) : null,
    h('p', {}, h('b', {}, '查询码：'), h('span', { class: 'code' }, n.query_code_display)),
    n.promised_by ? h('p', {}, h('b', {}, '承诺办结日期：'), n.promised_by) : h('p', {}, '承诺办结日期以平台通知为准。'),
    r.printed ? h('p', { class: 'message' }, '✔ 受理通知书已打印，请取走并妥善保管，扫描上面的二维码可以查询进度。')
      : h('div', {}, h('p', { class: 'message' }, '⚠ ', r.print_message || '受理通知书没有打印出来。'),
        h('p', {}, '请记下上面的查询码，或让申请人放上身份证后补打。'),
        h('button', { type: 'button', class: 'btn primary big', onclick: (e) => reprint(e.currentTarget) }, '补打受理通知书')),
    App.session && App.session.role === 'agent'
      ? h('div', { class: 'row' }, button('为下一位群众办理', async () => {
        await api('POST', '/api/session/release-card', {});
        App.state = {};
        go('agent');
      }, 'primary big'), button('退出代办员登录', () => endSession(), 'big'))
      : h('div', { class: 'row' }, button('办完了，退出', () => endSession(), 'big')));
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
        h('button', { type: 'button', class: 'tile', onclick: () => endSession() }, h('span', { class: 't' }, '退出登录'))));
  }
  if (!s || !s.card) return h('div', {}, title('代办员登录'), waitForCard('第一步：请代办员把本人身份证放在读卡区。'));
  let agentId = '';
  let pin = '';
  const idPad = keypad({ keys: DIGITS, maxLength: 8, label: '工号', onchange: (v) => { agentId = v; } });
  const pinPad = keypad({ keys: DIGITS, maxLength: 6, mask: true, label: '密码', onchange: (v) => { pin = v; } });
  return h('div', {}, title('代办员登录', `已读身份证：${s.card.name}`),
    h('h2', {}, '第二步：输入工号（如 0031）'), idPad.el, h('h2', {}, '第三步：输入 6 位密码'), pinPad.el,
    button('登录', async () => {
      const res = await post('/api/agent/login', { agent_id: agentId, pin });
      if (!res.ok) return;
      // Take the session from the server now: the agent.login event on the stream may come later,
      // and rendering before it would draw the login form again.
      const state = await api('GET', '/api/session');
      if (state.ok) applySession(state.data);
      render();
    }, 'primary big'));
}

async function agentcases() {
  const res = await api('GET', '/api/agent/cases');
  if (!res.ok) return h('div', {}, title('本村办件'), errorBox(res));
  const cases = res.data.cases;
  return h('div', {}, title('本村办件', `共 ${cases.length} 件`),
    cases.length ? cases.map((c) => c.case ? caseCard(c.case, h('p', { class: 'muted' }, `查询码 ${c.query_code_display}${c.cached ? ` ｜ ${formatAge(c.age_s)}的记录` : ''}`))
      : h('div', { class: 'card' }, h('h3', {}, c.item_name), h('p', {}, `${c.applicant_masked} ｜ 查询码 ${c.query_code_display} ｜ 暂无进度信息`)))
      : h('p', { class: 'message' }, '还没有代办的办件。'));
}

// --- queue ticket -------------------------------------------------------------------------------
async function queue() {
  const st = App.state.queue || (App.state.queue = { green: false, cases: 1, agentId: '' });
  if (st.ticket) {
    const t = st.ticket;
    return h('div', {}, title('取号成功'), h('div', { class: 'card' },
      h('p', { class: 'big-number' }, t.number), h('p', { class: 'message' }, `${t.category_name}（${t.floor} 楼）${t.green ? ' ｜ 绿色通道' : ''}`),
      t.waiting !== null && t.waiting !== undefined ? h('p', { class: 'message' }, `前面还有 ${t.waiting} 人在等候`) : null,
      t.window_hint ? h('p', {}, `请留意 ${String(t.window_hint).includes('窗口') ? t.window_hint : t.window_hint + ' 号窗口'} 叫号`) : null,
      h('p', {}, st.printed ? '✔ 号票已打印，请取走。' : (st.printMessage || ''))),
      button('完成', () => endSession(), 'primary big'));
  }
  const home = await api('GET', '/api/home');
  if (!home.ok) return errorBox(home);
  const take = async (code) => {
    const res = await post('/api/queue', { category: code, green: st.green, cases: st.cases, agent_id: st.agentId });
    if (res.ok) { st.ticket = res.data.ticket; st.printed = res.data.printed; st.printMessage = res.data.print_message; render(); }
  };
  const idPad = keypad({ keys: DIGITS, maxLength: 8, label: '代办员工号', initial: st.agentId, onchange: (v) => { st.agentId = v; } });
  return h('div', {}, title('取号排队', '请选择要去的窗口类别'),
    h('div', { class: 'card' }, h('h3', {}, '项目代办员办理多件业务（一号多件）'),
      h('div', { class: 'row' },
        button(st.green ? '✔ 绿色通道' : '绿色通道', () => { st.green = !st.green; render(); }, st.green ? 'selected' : ''),
        h('span', {}, '办理件数：'), button('－', () => { st.cases = Math.max(1, st.cases - 1); render(); }),
        h('b', { class: 'code' }, String(st.cases)), button('＋', () => { st.cases = Math.min(20, st.cases + 1); render(); })),
      st.green ? h('div', {}, h('p', {}, '请输入代办员工号：'), idPad.el) : null),
    h('div', { class: 'tiles' }, home.data.categories.map((c) => h('button', { type: 'button', class: 'tile action', onclick: () => take(c.code) },
      h('span', { class: 't' }, c.name), h('span', { class: 'd' }, `${c.floor} 楼`)))));
}

// --- pickup check -------------------------------------------------------------------------------
async function pickup() {
  const st = App.state.pickup || (App.state.pickup = {});
  if (st.result) return h('div', {}, title('取件核验'), h('div', { class: 'card' }, h('p', { class: 'message' }, st.result.result === 'ok' ? '✔ ' : '⚠ ', st.result.message)),
    button('完成', () => endSession(), 'primary big'));
  const verify = async (code) => {
    const res = await post('/api/pickup', { code });
    if (res.ok) { st.result = res.data; render(); }
  };
  App.scanHandler = verify;
  const cardState = App.session && App.session.card ? h('p', { class: 'message' }, `✔ 已读身份证：${App.session.card.name}`) : waitForCard('请把领取人的身份证放在读卡区。');
  return h('div', { id: 'pickup' }, title('取件核验', '扫描受理通知书二维码，并刷申请人身份证'), cardState,
    h('div', { class: 'card' }, h('p', { class: 'message' }, '请扫描受理通知书上的二维码。')), codeEntry(verify, '核验'));
}

// --- evaluation, help ---------------------------------------------------------------------------
async function evaluate() {
  const st = App.state.evaluate;
  if (!st) { go('home'); return h('div'); }
  if (st.done) return h('div', {}, title('满意度评价'), h('p', { class: 'message' }, '✔ 感谢您的评价！'), button('完成', () => endSession(), 'primary big'));
  const tags = await api('GET', '/api/evaluate/tags');
  st.tags = st.tags || [];
  const words = ['', '非常不满意', '不满意', '一般', '满意', '非常满意'];
  const comment = h('textarea', { rows: 3, maxlength: 200, placeholder: '其他意见（可不填，最多 200 字）', 'aria-label': '其他意见',
    oninput: (e) => { st.comment = e.target.value; } });
  comment.value = st.comment || '';
  return h('div', {}, title('满意度评价', '请为这次服务打分'),
    h('div', { class: 'stars' }, [1, 2, 3, 4, 5].map((n) => button(`${'★'.repeat(n)} ${n} 分 ${words[n]}`, () => { st.score = n; render(); }, st.score === n ? 'selected' : ''))),
    h('h3', {}, '选择标签（可多选）'),
    h('div', { class: 'chips' }, (tags.data.tags || []).map((t) => button(t, () => {
      st.tags = st.tags.includes(t) ? st.tags.filter((x) => x !== t) : [...st.tags, t]; render();
    }, st.tags.includes(t) ? 'selected' : ''))),
    h('div', { class: 'field gap-top' }, comment),
    button('提交评价', async () => {
      if (!st.score) { toast('请先点选分数。'); return; }
      const res = await post('/api/evaluate', { code: st.code, score: st.score, tags: st.tags, comment: comment.value });
      if (res.ok) { st.done = true; render(); }
    }, 'primary big'));
}

async function help() {
  const res = await api('POST', '/api/help', {});
  return h('div', {}, title('呼叫工作人员'), h('div', { class: 'card' },
    h('p', { class: 'message' }, res.ok ? '✔ ' + res.data.message : '⚠ 请到服务台找工作人员。')));
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
      h('tr', {}, h('th', {}, '平台连接'), h('td', {}, d.devices.online ? '在线' : '离线')),
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
  return h('div', { class: 'locked' }, h('h1', {}, '⚠ 本机暂停服务'),
    h('p', { class: 'message' }, '请到人工窗口办理，或使用其他自助终端。给您带来不便，敬请谅解。'),
    h('p', { class: 'muted' }, (App.status && App.status.locked) || ''));
}

export const flows = { submit, agent, agentcases, queue, pickup, evaluate, help, maint, locked };
