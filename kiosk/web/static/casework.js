// What a person does with a case from its progress view (issue 11): 催办 (urge) and 投诉 (complaint) with
// central's receipt number, the hotline and a printed slip; 撤回 (withdraw) of a case not yet accepted,
// asked first; 补正 (correction) with the document camera for a case in correction_needed; and the
// 受理通知书 once central accepted a pre-reviewed case. The applicant acts with the card in the reader, a
// village agent for their residents (the server checks either against central).
import { h, button, api, toast, keypad, actions, DIGITS } from './ui.js';
import { App, go, render, endSession } from './app.js';
import { confirmDialog } from './dialog.js';
import { textInput } from './keyboard.js';
import { say } from './voice.js';
import { title, errorBox, waitForCard } from './screens.js';

const KIND_NAME = { urge: '催办', complaint: '投诉' };
const WITHDRAW_REASONS = ['暂不办理', '材料准备不全', '信息填写有误', '其他原因'];

async function post(path, body) {
  const res = await api('POST', path, body);
  if (!res.ok) toast(res.data.message || '操作没有成功，请再试一次。');
  return res;
}

function lateWords(steps) {
  const active = (steps || []).filter((s) => s.state === 'active');
  if (active.some((s) => s.light === 'red')) return '■ 有办理环节已经超期。您可以催办，平台会督促加快办理。';
  return '▲ 有办理环节即将到期。您可以催办，平台会督促按时办结。';
}

// The buttons under a case (progress view, 我的办件, 本村办件). `full`: the card holder's or agent's own
// view, where the 受理通知书 can be printed; `display`: the code as printed, when the view lacks it.
export function caseTools(c, code, { full = false, display = '' } = {}) {
  const a = c && c.actions;
  if (!a || !code) return null;
  const open = (screen, param) => {
    App.state.casework = { code, item: c.item_name, display: c.query_code_display || display };
    go(screen, param);
  };
  const printAcceptance = async (btn) => {
    btn.disabled = true;
    say('printing');
    const res = await post('/api/cases/acceptance-notice', { code });
    btn.disabled = false;
    if (res.ok && res.data.printed) { toast('受理通知书已打印，请在出纸口取走。', 'info'); say('take_notice'); }
    else if (res.ok) toast(res.data.print_message || '受理通知书没有打印出来，请联系工作人员。');
  };
  const row = [];
  if (a.correct) row.push(button('补正材料（用高拍仪拍照）', () => open('correct'), 'primary big'));
  if (a.urge && !a.urge_prominent) row.push(button('催办', () => open('casefile', 'urge')));
  if (a.complain) row.push(button('投诉', () => open('casefile', 'complaint')));
  if (a.withdraw) row.push(button('撤回申请', () => open('withdraw'), 'danger'));
  if (a.print_acceptance && full) {
    row.push(h('button', { type: 'button', class: 'btn', onclick: (e) => printAcceptance(e.currentTarget) }, '打印受理通知书'));
  }
  return h('div', { class: 'case-tools' },
    a.urge_prominent ? h('div', { class: 'late' }, h('p', {}, lateWords(c.steps)),
      button('催办（督促加快办理）', () => open('casefile', 'urge'), 'primary big')) : null,
    row.length ? h('div', { class: 'row' }, row) : null);
}

function acting() {
  const s = App.session;
  return Boolean(s && (s.card || s.role === 'agent'));
}

function caseLine(cw) {
  return h('div', { class: 'card' }, h('p', { class: 'message' }, h('b', {}, '办件：'), cw.item || ''),
    cw.display ? h('p', {}, '查询码：', h('span', { class: 'code' }, cw.display)) : null);
}

function needCard(head, cw) {
  return h('div', {}, head, caseLine(cw),
    waitForCard('请申请人把本人身份证放在读卡区，证明是本人的办件。代办员请先在“代办员登录”登录。'));
}

function done(label = '完成') {
  const agent = App.session && App.session.role === 'agent';
  return agent ? button('返回本村办件', () => go('agentcases', null, { push: false }), 'primary big')
    : button(label, () => endSession(), 'primary big');
}

function current() {
  const cw = App.state.casework;
  if (!cw || !cw.code) { go('home', null, { push: false }); return null; }
  return cw;
}

// --- 催办 / 投诉 -----------------------------------------------------------------------------------
async function casefile(param) {
  const cw = current();
  if (!cw) return h('div');
  const kind = param === 'complaint' ? 'complaint' : 'urge';
  const st = cw[kind] || (cw[kind] = { category: null, text: '', writing: false, callback: false, phone: '' });
  const head = title(KIND_NAME[kind], kind === 'urge' ? '督促加快办理这件申请' : '对这件申请的办理有意见，可以在这里投诉');
  if (st.result) return h('div', {}, head, receipt(kind, st.result));
  if (!acting()) return needCard(head, cw);
  const cats = await api('GET', '/api/complaints/categories');
  if (!cats.ok) return h('div', {}, head, errorBox(cats));
  const list = cats.data[kind] || [];
  if (list.length === 1) st.category = list[0].code;
  const words = textInput({ label: kind === 'urge' ? '补充说明（可不填，最多 300 字）' : '请写下具体情况（可不填，最多 300 字）',
    maxLength: 300, initial: st.text, placeholder: '点下面的字母拼出拼音，再点候选的字词', onchange: (v) => { st.text = v; } });
  const phone = keypad({ keys: DIGITS, maxLength: 11, label: '回访手机号码', initial: st.phone,
    onchange: (v) => { st.phone = v; } });
  const send = async (btn) => {
    if (!st.category) { toast(`请先选择${KIND_NAME[kind]}的类别。`); return; }
    if (st.callback && st.phone.length !== 11) { toast('需要回访时请输入 11 位手机号码。'); return; }
    btn.disabled = true;
    say('printing');
    const res = await post('/api/complaints', { code: cw.code, kind, category: st.category, text: st.text,
      callback: st.callback, phone: st.callback ? st.phone : '' });
    btn.disabled = false;
    if (!res.ok) return;
    st.result = res.data;
    render();
  };
  return h('div', { id: 'casefile' }, head, caseLine(cw),
    list.length > 1 ? [h('h2', {}, `第一步：选择${KIND_NAME[kind]}的类别`),
      h('div', { class: 'chips', role: 'group', 'aria-label': '类别' }, list.map((c) => button(c.text,
        () => { st.category = c.code; render(); }, st.category === c.code ? 'selected' : '',
        { 'aria-pressed': String(st.category === c.code) })))] : null,
    st.writing ? h('div', { class: 'card gap-top' }, words.el)
      : button('写几句说明（可不填）', () => { st.writing = true; render(); }, 'big gap-top'),
    h('div', { class: 'card gap-top' },
      h('h2', {}, '需要工作人员打电话回访吗？'),
      h('div', { class: 'row' },
        button('不需要回访', () => { st.callback = false; render(); }, st.callback ? '' : 'selected', { 'aria-pressed': String(!st.callback) }),
        button('需要回访', () => { st.callback = true; render(); }, st.callback ? 'selected' : '', { 'aria-pressed': String(st.callback) })),
      st.callback ? h('div', {}, h('p', {}, '请输入回访用的手机号码（11 位）：'), phone.el) : null),
    actions(h('button', { type: 'button', class: 'btn primary big', onclick: (e) => send(e.currentTarget) },
      `提交${KIND_NAME[kind]}`)));
}

function receipt(kind, r) {
  const again = async (btn) => {
    btn.disabled = true;
    say('printing');
    const res = await post('/api/complaints/print', { receipt_no: r.receipt_no });
    btn.disabled = false;
    if (res.ok && res.data.printed) { r.printed = true; toast('回执已打印，请在出纸口取走。', 'info'); say('take_notice'); render(); }
    else if (res.ok) toast(res.data.print_message || '回执没有打印出来，请记下回执编号。');
  };
  say(r.printed ? 'take_notice' : 'error');
  return h('div', { id: 'complaint-receipt' }, h('div', { class: 'card notice-ok' },
    h('h2', {}, `✔ 已收到您的${KIND_NAME[kind]}`),
    h('p', {}, '回执编号（请记下或取走回执）：'), h('p', { class: 'receipt-no' }, r.receipt_no),
    r.reply_within_days ? h('p', { class: 'message' }, `平台会在 ${r.reply_within_days} 个工作日内答复您。`) : null,
    h('p', { class: 'hotline' }, `☎ 投诉电话 ${r.hotline}`),
    h('p', { class: 'message' }, r.printed ? '✔ 回执已打印，请在出纸口取走。' : `⚠ ${r.print_message || '回执没有打印出来。'}`)),
  actions(h('button', { type: 'button', class: 'btn big', onclick: (e) => again(e.currentTarget) },
    r.printed ? '再打印一张回执' : '打印回执'), done()));
}

// --- 撤回 ---------------------------------------------------------------------------------------
async function withdraw() {
  const cw = current();
  if (!cw) return h('div');
  const st = cw.withdraw || (cw.withdraw = { reason: '' });
  const head = title('撤回申请', '平台受理之前，可以撤回这件申请');
  if (st.result) {
    return h('div', {}, head, h('div', { class: 'card', id: 'withdraw-result' },
      h('p', { class: 'message' }, st.result.ok ? '✔ ' : '⚠ ', st.result.message)), actions(done()));
  }
  if (!acting()) return needCard(head, cw);
  const ask = async (btn) => {
    const yes = await confirmDialog({ title: '确定要撤回这件申请吗？', yes: '确定撤回', no: '不撤回',
      message: '撤回以后平台不再办理这件申请，不能恢复；需要时可以重新申请。' });
    if (!yes) return;
    btn.disabled = true;
    const res = await post('/api/cases/withdraw', { code: cw.code, reason: st.reason });
    btn.disabled = false;
    if (res.ok) { st.result = res.data; render(); }
  };
  return h('div', { id: 'withdraw' }, head, caseLine(cw),
    h('h2', {}, '撤回的原因（可不选）'),
    h('div', { class: 'chips', role: 'group', 'aria-label': '撤回原因' }, WITHDRAW_REASONS.map((r) => button(r,
      () => { st.reason = st.reason === r ? '' : r; render(); }, st.reason === r ? 'selected' : '',
      { 'aria-pressed': String(st.reason === r) }))),
    actions(h('button', { type: 'button', class: 'btn danger big', onclick: (e) => ask(e.currentTarget) }, '撤回这件申请')));
}

// --- 补正 ---------------------------------------------------------------------------------------
async function correct() {
  const cw = current();
  if (!cw) return h('div');
  const head = title('补正材料', '按平台的要求，用高拍仪拍下需要补正的材料');
  if (cw.correctionResult) {
    const r = cw.correctionResult;
    return h('div', {}, head, h('div', { class: `card ${r.status === 'rejected' ? '' : 'notice-ok'}`, id: 'correction-result' },
      h('p', { class: 'message' }, r.status === 'rejected' ? '⚠ ' : '✔ ', r.message)), actions(done()));
  }
  if (!acting()) return needCard(head, cw);
  let res = cw.correcting ? await api('GET', '/api/corrections') : null;
  if (!res || (!res.ok && res.data.error === 'no_correction')) {
    res = await api('POST', '/api/corrections/start', { code: cw.code });
  }
  if (!res.ok) return h('div', {}, head, caseLine(cw), errorBox(res));
  cw.correcting = true;
  const d = res.data;
  const act = async (btn, path, body) => {
    btn.disabled = true;
    if (path.endsWith('capture')) btn.textContent = '正在拍照……';
    await post(path, body);
    render();
  };
  const stamp = Date.now();
  const rows = d.materials.map((m) => h('div', { class: 'card material', dataset: { material: m.code } },
    h('h3', {}, m.name), m.note ? h('p', { class: 'message' }, `平台要求：${m.note}`) : null,
    h('p', {}, `把材料正面朝上放平在高拍仪下，再点“拍一页”。已拍 ${m.pages} 页。`),
    h('div', { class: 'pages' }, Array.from({ length: m.pages }, (_, i) => h('figure', {},
      h('img', { src: `/api/corrections/page/${encodeURIComponent(m.code)}/${i}?v=${stamp}`, alt: `${m.name} 第 ${i + 1} 页` }),
      h('figcaption', {}, `第 ${i + 1} 页`),
      h('div', { class: 'page-tools' }, button('删除', (e) => act(e.currentTarget, '/api/corrections/retake',
        { material: m.code, page: i }), 'small danger', { 'aria-label': `删除${m.name}第 ${i + 1} 页` }))))),
    h('button', { type: 'button', class: 'btn primary gap-top',
      onclick: (e) => act(e.currentTarget, '/api/corrections/capture', { material: m.code }) }, '拍一页')));
  const ready = d.materials.every((m) => m.pages > 0);
  const send = async (btn) => {
    btn.disabled = true;
    toast('正在提交，请稍候……', 'info', 15000);
    const r = await post('/api/corrections/commit', {});
    btn.disabled = false;
    if (r.ok) { cw.correctionResult = r.data; render(); }
  };
  return h('div', { id: 'correct' }, head, caseLine(cw),
    h('h2', {}, `平台要求补正 ${d.materials.length} 份材料`), rows,
    actions(ready ? h('button', { type: 'button', class: 'btn primary big', onclick: (e) => send(e.currentTarget) }, '提交补正材料')
      : h('p', { class: 'message' }, '每份材料都拍好以后，才能提交。')));
}

export const caseworkScreens = { casefile, withdraw, correct };
