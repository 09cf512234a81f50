// Screens for consulting and following cases; the identified flows are in flows.js.
import { h, button, api, toast, keypad, CODE_KEYS, formatAge, LIGHT_MARK, STEP_MARK } from './ui.js';
import { App, go, render } from './app.js';
import { flows } from './flows.js';

const CATEGORY_ICON = { SOC: '社', ECO: '经', CON: '建' };
const PICKUP = { window: '窗口领取', mail: '邮寄送达', village_point: '村（社区）便民服务点领取' };

export function errorBox(res) {
  return h('div', { class: 'card' }, h('p', { class: 'message' }, '⚠ ', res.data.message || '出了点问题，请返回首页重试。'));
}

function title(text, sub) {
  return h('div', {}, h('h1', {}, text), sub ? h('p', { class: 'muted' }, sub) : null);
}

function searchBox(initial = '') {
  const input = h('input', { type: 'search', placeholder: '输入事项名称或拼音首字母，如 yyzz（营业执照）', value: initial,
    'aria-label': '搜索事项', enterkeyhint: 'search' });
  const submit = () => { const q = input.value.trim(); if (q) go('search', q); };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') submit(); });
  return h('div', { class: 'search' }, input, button('搜索', submit, 'primary'));
}

function itemList(items) {
  if (!items.length) return h('p', { class: 'message' }, '没有找到相关事项。可以换个说法，或点“呼叫工作人员”。');
  return h('ul', { class: 'list' }, items.map((it) => h('li', {},
    button([h('span', {}, it.name), h('span', { class: 'meta' }, `承诺 ${it.promised_days} 个工作日 ｜ ${it.online_level}`)],
      () => go('item', it.code), 'item-link'))));
}

function tile(icon, text, desc, onclick, cls = '') {
  return h('button', { type: 'button', class: `tile ${cls}`, onclick },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, icon),
    h('span', { class: 'words' }, h('span', { class: 't' }, text), desc ? h('span', { class: 'd' }, desc) : null));
}

function actionTiles() {
  const tiles = [
    tile('查', '查询办件进度', '扫描受理通知书二维码', () => go('follow'), 'action'),
    tile('我', '我的办件', '刷身份证查看本人办件', () => go('mycases'), 'action'),
    tile('号', '取号排队', '选择窗口类别取号', () => go('queue'), 'action'),
    tile('取', '取件核验', '证件办好了吗？', () => go('pickup'), 'action'),
    tile('代', '代办员登录', '村（社区）代办员使用', () => go('agent'), 'action'),
  ];
  // At a village service point the agent is the main user: their entry comes first.
  return App.mode === 'village' ? [tiles[4], ...tiles.slice(0, 4)] : tiles;
}

async function home() {
  const res = await api('GET', '/api/home');
  if (!res.ok) return errorBox(res);
  const d = res.data;
  return h('div', {},
    h('h1', {}, '您好！请问要办什么事？'),
    searchBox(),
    h('div', { class: 'tiles' }, actionTiles()),
    h('h2', {}, '按窗口类别'),
    h('div', { class: 'tiles' }, d.categories.map((c) =>
      tile(CATEGORY_ICON[c.code] || c.name.slice(0, 1), c.name, `${c.floor} 楼 ｜ ${c.count} 个事项`, () => go('list', `category:${c.code}`)))),
    h('h2', {}, '按人生大事（主题）'),
    h('div', { class: 'chips' }, d.themes.map((t) => button(t.name, () => go('list', `theme:${t.code}`)))),
    h('h2', {}, '按部门'),
    h('div', { class: 'chips' }, d.departments.map((dep) => button(dep.name, () => go('list', `department:${dep.code}`)))));
}

async function list(param) {
  const [by, code] = (param || '').split(':');
  const res = await api('GET', `/api/browse/${encodeURIComponent(by)}/${encodeURIComponent(code || '')}`);
  if (!res.ok) return errorBox(res);
  return h('div', {}, title(res.data.title, `共 ${res.data.items.length} 个事项，点击查看需要的材料`), itemList(res.data.items));
}

async function search(q) {
  const res = await api('GET', `/api/search?q=${encodeURIComponent(q || '')}`);
  if (!res.ok) return errorBox(res);
  return h('div', {}, searchBox(q || ''), title(`“${q}”的搜索结果`, `找到 ${res.data.items.length} 个事项`),
    itemList(res.data.items));
}

function materialsTable(materials) {
  return h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, '材料名称'), h('th', {}, '要求'), h('th', {}, '说明'))),
    h('tbody', {}, materials.map((m) => h('tr', {},
      h('td', {}, m.name, m.shareable ? h('span', { class: 'tag shared' }, '✔ 免提交') : null,
        m.required ? null : h('span', { class: 'tag' }, '需要时提供')),
      h('td', {}, `${m.form} ${m.copies} 份`),
      h('td', {}, m.shareable ? '平台已有，无需提交。' : '', m.note || '')))));
}

async function item(code) {
  const res = await api('GET', `/api/items/${encodeURIComponent(code)}`);
  if (!res.ok) return errorBox(res);
  const it = res.data;
  let current = it.situations[0].code;
  const body = h('div', {});
  const tabs = h('div', { class: 'chips', role: 'tablist' });
  const showSituation = () => {
    const s = it.situations.find((x) => x.code === current);
    tabs.replaceChildren(...it.situations.map((x) => button(x.name, () => { current = x.code; showSituation(); },
      x.code === current ? 'selected' : '', { role: 'tab', 'aria-selected': String(x.code === current) })));
    body.replaceChildren(h('div', { class: 'card' }, h('h3', {}, '办理条件'), h('p', {}, s.conditions || '—')),
      h('h3', {}, `需要准备的材料（${s.materials.length} 项）`), materialsTable(s.materials));
  };
  showSituation();
  const isAgent = App.session && App.session.role === 'agent';
  const canSubmit = isAgent ? it.agent_allowed : it.can_self_submit;
  const printChecklist = async (btn) => {
    btn.disabled = true;
    const r = await api('POST', '/api/checklist/print', { item: it.code, situation: current });
    btn.disabled = false;
    if (r.ok) toast('材料清单已打印，请在出纸口取走。', 'info'); else toast(r.data.message);
  };
  const fees = it.fees.length ? it.fees.map((f) => `${f.name}：${f.amount_yuan} 元`).join('；') : '不收费';
  return h('div', {},
    title(it.name, `${it.department_name} ｜ ${it.kind} ｜ ${it.online_level}`),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'btn primary big', onclick: (e) => printChecklist(e.currentTarget) }, '打印材料清单'),
      canSubmit ? button(isAgent ? '为群众代办申报' : '我要在这里申报', () => {
        App.state.submit = { item: it.code, situation: it.situations.length === 1 ? current : null };
        go('submit');
      }, 'big') : h('p', { class: 'muted' }, '本事项请带齐材料到窗口办理。')),
    h('h2', {}, '选择您的情形'), tabs, body,
    h('div', { class: 'card' },
      h('p', {}, h('b', {}, '办理时限：'), `法定 ${it.statutory_days} 个工作日，承诺 ${it.promised_days} 个工作日`),
      h('p', {}, h('b', {}, '收费：'), fees),
      h('p', {}, h('b', {}, '办理地点：'), `${it.window.floor} 楼 ${it.window.name}区 ${it.window.windows} 号窗口`),
      h('p', {}, h('b', {}, '取件方式：'), it.pickup_methods.map((p) => p.label).join('、')),
      h('p', {}, h('b', {}, '到现场次数：'), it.visits_required ? `最多 ${it.visits_required} 次` : '不用跑腿')),
    h('h3', {}, '办理流程'),
    h('ol', {}, it.steps.map((s) => h('li', {}, `${s.name}${s.limit_days ? `（${s.limit_days} 个工作日）` : ''}`))),
    h('h3', {}, '设定依据'), h('ul', {}, it.legal_basis.map((b) => h('li', {}, b))),
    it.faq.length ? h('h3', {}, '常见问题') : null,
    it.faq.map((f) => h('div', { class: 'card' }, h('p', {}, h('b', {}, '问：'), f.q), h('p', {}, h('b', {}, '答：'), f.a))));
}

function codeEntry(onSubmit, label = '查询') {
  // Shown in groups of four like the printed code (7KQ2-M9XD-PA4T-H6WR-P), so it is easy to compare.
  const pad = keypad({ keys: CODE_KEYS, maxLength: 17, wide: true, label: '查询码',
    display: (v) => v.replace(/(.{4})(?=.)/g, '$1-') });
  return h('div', { class: 'card' }, h('h3', {}, '或者输入受理通知书上的查询码（17 位，不用输入横线）'), pad.el,
    button(label, () => onSubmit(pad.value), 'primary big'));
}

async function follow() {
  return h('div', {}, title('查询办件进度'),
    h('div', { class: 'card' }, h('p', { class: 'message' }, '请把受理通知书上的二维码对准下方扫描窗口。'),
      h('p', { class: 'muted' }, '也可以刷身份证查看本人的全部办件。'),
      button('刷身份证查看我的办件', () => go('mycases'))),
    codeEntry((code) => { App.state.query = { code }; go('case'); }));
}

function stepsView(steps) {
  return h('ul', { class: 'steps' }, steps.map((s) => h('li', {},
    h('span', { class: 'mark', 'aria-hidden': 'true' }, STEP_MARK[s.state] || '○'),
    h('span', {}, h('b', {}, s.name), ` ｜ ${s.state_label}`,
      s.finished_at ? h('span', { class: 'muted' }, ` ｜ 完成于 ${s.finished_at.slice(0, 16).replace('T', ' ')}`) : null),
    s.light ? h('span', { class: `light ${s.light}` }, h('span', { 'aria-hidden': 'true' }, LIGHT_MARK[s.light] || ''),
      s.light_label) : h('span', {}))));
}

export function caseCard(c, extra) {
  return h('div', { class: 'card' },
    h('h2', {}, c.item_name),
    h('p', { class: 'message' }, h('b', {}, '当前状态：'), c.status_label),
    c.applicant_masked ? h('p', {}, h('b', {}, '申请人：'), c.applicant_masked) : null,
    c.case_no ? h('p', {}, h('b', {}, '办件编号：'), c.case_no) : null,
    c.promised_by ? h('p', {}, h('b', {}, '承诺办结日期：'), c.promised_by) : null,
    c.pickup && c.pickup.ready ? h('p', { class: 'message' }, `✔ 可以领取${c.pickup.window ? `，请到 ${c.pickup.window} 号窗口` : ''}`) : null,
    c.corrections && c.corrections.length ? h('p', {}, h('b', {}, '需要补正：'), c.corrections.join('；')) : null,
    h('h3', {}, '办理环节'), stepsView(c.steps || []), extra || null);
}

async function caseScreen() {
  const q = App.state.query;
  if (!q || !q.code) return follow();
  const res = await api('POST', '/api/query', { code: q.code });
  if (!res.ok) return h('div', {}, title('查询办件进度'), errorBox(res), button('重新扫码或输入', () => go('follow'), 'big'));
  const d = res.data;
  if (!d.found) return h('div', {}, title('查询办件进度'), h('div', { class: 'card' }, h('p', { class: 'message' }, d.message),
    h('p', {}, '查询码：', h('span', { class: 'code' }, d.query_code_display))), button('重新输入', () => go('follow'), 'big'));
  App.state.evaluate = { code: d.query_code };
  const stale = d.cached ? h('div', { class: 'banner' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '☁'),
    `暂时连不上平台，下面是本机 ${formatAge(d.age_s)} 保存的进度，可能不是最新。`) : null;
  return h('div', { id: 'progress' }, title('办件进度'), stale,
    h('p', {}, '查询码：', h('span', { class: 'code' }, d.query_code_display)),
    caseCard(d.case, d.case.finished ? button('★ 评价这次服务', () => go('evaluate'), 'primary big') : null));
}

export function waitForCard(text) {
  const st = App.status;
  if (st && st.idcard !== 'ok' && st.blocks && st.blocks.card) {
    // No working reader: say so instead of asking for a card that cannot be read.
    return h('div', { class: 'card', id: 'wait-card' }, h('p', { class: 'message' }, '⚠ ', st.blocks.card));
  }
  return h('div', { class: 'card', id: 'wait-card' }, h('p', { class: 'message' }, text || '请把身份证放在读卡区，读卡完成前不要拿开。'),
    h('p', { class: 'muted' }, '读卡后会自动继续。'));
}

// Re-render the current screen once a card is read.
document.addEventListener('kiosk:card', () => {
  if (document.getElementById('wait-card')) render();
});

async function mycases() {
  if (!App.session || !App.session.card) return h('div', {}, title('我的办件'), waitForCard());
  const res = await api('GET', '/api/my/cases');
  if (!res.ok) return h('div', {}, title('我的办件'), errorBox(res));
  const cases = res.data.cases;
  return h('div', {}, title('我的办件', `共 ${cases.length} 件`),
    cases.length ? cases.map((c) => caseCard(c)) : h('p', { class: 'message' }, '没有查到您的办件。'));
}

export const screens = { home, list, search, item, follow, case: caseScreen, mycases, ...flows };
export { title, codeEntry, PICKUP };
