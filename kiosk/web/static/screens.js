// Screens for consulting and following cases; the identified flows are in flows.js and submit.js.
import { h, button, api, toast, keypad, actions, CODE_KEYS, formatAge, LIGHT_MARK, STEP_MARK } from './ui.js';
import { App, go, render, openHelp } from './app.js';
import { searchInput } from './keyboard.js';
import { say, sayForScreen } from './voice.js';
import { flows } from './flows.js';
import { itemFacts, instantTag } from './facts.js';
import { caseTools, caseworkScreens } from './casework.js';
import { agentScreens } from './agent.js';
import { bundleScreens, hasBundles } from './bundles.js';
import { evaluateOffers } from './evaluate.js';

const CATEGORY_ICON = { SOC: '社', ECO: '经', CON: '建' };
const PICKUP = { window: '窗口领取', mail: '邮寄送达', village_point: '村（社区）便民服务点领取' };
const LIVE_COUNT = 6;

export function errorBox(res) {
  return h('div', { class: 'card' }, h('p', { class: 'message' }, '⚠ ', res.data.message || '出了点问题，请返回首页重试。'));
}

function title(text, sub) {
  return h('div', {}, h('h1', {}, text), sub ? h('p', { class: 'muted' }, sub) : null);
}

function itemButton(it) {
  return button([h('span', {}, it.name, it.matched ? h('span', { class: 'meta' }, `（${it.matched}）`) : null),
    h('span', { class: 'meta' }, `${it.promised_days ? `承诺 ${it.promised_days} 个工作日` : '即办'} ｜ ${it.online_level}`)],
  () => go('item', it.code), 'item-link');
}

function itemList(items) {
  return h('ul', { class: 'list' }, items.map((it) => h('li', {}, itemButton(it))));
}

function tile(icon, text, desc, onclick, cls = '') {
  return h('button', { type: 'button', class: `tile ${cls}`, onclick },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, icon),
    h('span', { class: 'words' }, h('span', { class: 't' }, text), desc ? h('span', { class: 'd' }, desc) : null));
}

function actionTiles(bundles) {
  const tiles = [
    tile('搜', '搜索事项', '用拼音或首字母查找', () => go('search'), 'action'),
    tile('查', '查询办件进度', '扫描受理通知书二维码', () => go('follow'), 'action'),
    tile('我', '我的办件', '刷身份证查看本人办件', () => go('mycases'), 'action'),
    tile('号', '取号排队', '选择窗口类别取号', () => go('queue'), 'action'),
    tile('取', '取件核验', '证件办好了吗？', () => go('pickup'), 'action'),
    tile('代', '代办员登录', '村（社区）代办员使用', () => go('agent'), 'action'),
  ];
  if (bundles) tiles.push(tile('一', '一件事一次办', '相关事项一次申请', () => go('bundles'), 'action'));
  // At a village service point the agent is the main user: their entry comes first.
  return App.mode === 'village' ? [tiles[5], ...tiles.filter((_, i) => i !== 5)] : tiles;
}

function categoryTiles(categories) {
  return h('div', { class: 'tiles' }, categories.map((c) =>
    tile(CATEGORY_ICON[c.code] || c.name.slice(0, 1), c.name, `${c.floor} 楼 ｜ ${c.count} 个事项`, () => go('list', `category:${c.code}`))));
}

async function home() {
  const [res, bundles] = await Promise.all([api('GET', '/api/home'), hasBundles()]);
  if (!res.ok) return errorBox(res);
  const d = res.data;
  if (App.session) sayForScreen('welcome');
  return h('div', {},
    h('h1', {}, '您好！请问要办什么事？'),
    h('div', { class: 'tiles' }, actionTiles(bundles)),
    h('h2', {}, '按窗口类别'), categoryTiles(d.categories),
    h('h2', {}, '按人生大事（主题）'),
    h('div', { class: 'chips' }, d.themes.map((t) => button(t.name, () => go('list', `theme:${t.code}`)))),
    h('h2', {}, '按部门'),
    h('div', { class: 'chips' }, d.departments.map((dep) => button(dep.name, () => go('list', `department:${dep.code}`)))),
    App.hotline ? h('p', { class: 'muted gap-top' }, `服务热线 ${App.hotline}`) : null,
    h('div', { class: 'spacer' }));
}

async function list(param) {
  const [by, code] = (param || '').split(':');
  const res = await api('GET', `/api/browse/${encodeURIComponent(by)}/${encodeURIComponent(code || '')}`);
  if (!res.ok) return errorBox(res);
  return h('div', {}, title(res.data.title, `共 ${res.data.items.length} 个事项，点击查看需要的材料`), itemList(res.data.items));
}

// No result is never a dead end: the categories to browse and a way to a person.
async function noResult(q) {
  const res = await api('GET', '/api/home');
  return h('div', { id: 'no-result', class: 'card' },
    h('h2', {}, `没有找到“${q}”相关的事项`),
    h('p', { class: 'message' }, '可以换个说法再搜，也可以按窗口类别找，或者请工作人员帮忙。'),
    h('div', { class: 'row' }, button('☎ 呼叫工作人员', () => openHelp(), 'primary big'),
      button('重新输入', () => go('search'), 'big')),
    res.ok ? h('div', {}, h('h3', {}, '按窗口类别找'), categoryTiles(res.data.categories)) : null);
}

// Search with the on-screen keyboard: every tapped letter asks the catalog, candidates show at once.
async function search(initial) {
  sayForScreen('search');
  const live = h('div', { class: 'live', id: 'live', 'aria-live': 'polite' });
  let asked = 0;
  const lookup = async (q) => {
    const mine = ++asked;
    if (!q) { live.replaceChildren(h('p', { class: 'muted' }, '点字母后，这里会马上列出找到的事项。')); return; }
    const res = await api('GET', `/api/search?q=${encodeURIComponent(q)}`);
    if (mine !== asked) return;  // a later key's answer wins
    if (!res.ok) { live.replaceChildren(errorBox(res)); return; }
    const items = res.data.items;
    if (!items.length) { live.replaceChildren(await noResult(q)); return; }
    live.replaceChildren(h('p', { class: 'muted' }, `找到 ${items.length} 个事项${items.length > LIVE_COUNT ? `，这里列出前 ${LIVE_COUNT} 个，点“搜索”看全部` : ''}`),
      itemList(items.slice(0, LIVE_COUNT)));
  };
  let timer = null;
  const input = searchInput({ initial: initial || '',
    onInput: (q) => { clearTimeout(timer); timer = setTimeout(() => lookup(q), 120); },
    onSubmit: (q) => { if (q) go('results', q); } });
  lookup(initial || '');
  return h('div', {}, h('h1', {}, '搜索事项'), input.el, live);
}

async function results(q) {
  const res = await api('GET', `/api/search?q=${encodeURIComponent(q || '')}`);
  if (!res.ok) return errorBox(res);
  const items = res.data.items;
  if (!items.length) return h('div', {}, title('搜索结果'), await noResult(q || ''));
  return h('div', {}, title(`“${q}”的搜索结果`, `找到 ${items.length} 个事项`), itemList(items),
    actions(button('重新搜索', () => go('search', q), 'big')));
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
  const tabs = h('div', { class: 'chips', role: 'tablist', 'aria-label': '情形' });
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
    say('printing');
    const r = await api('POST', '/api/checklist/print', { item: it.code, situation: current });
    btn.disabled = false;
    if (r.ok) { toast('材料清单已打印，请在出纸口取走。', 'info'); say('take_notice'); } else toast(r.data.message);
    if (r.ok && r.data.evaluation) document.getElementById('item-evaluate')?.replaceChildren(evaluateOffers([r.data.evaluation]));
  };
  return h('div', {},
    title(it.name, `${it.department_name} ｜ ${it.kind} ｜ ${it.online_level}`), instantTag(it),
    h('div', { class: 'row main-action' },
      h('button', { type: 'button', class: 'btn primary big', onclick: (e) => printChecklist(e.currentTarget) }, '打印材料清单'),
      canSubmit ? button(isAgent ? '为群众代办申报' : '我要在这里申报', () => {
        App.state.submit = { item: it.code, situation: it.situations.length === 1 ? current : null };
        go('submit');
      }, 'big') : h('p', { class: 'muted' }, '本事项请带齐材料到窗口办理。')),
    h('div', { id: 'item-evaluate' }),
    h('h2', {}, '选择您的情形'), tabs, body,
    itemFacts(it),
    h('h3', {}, '办理流程'),
    h('ol', {}, it.steps.map((s) => h('li', {}, `${s.name}${s.limit_days ? `（${s.limit_days} 个工作日）` : ''}`))),
    it.faq.length ? h('h3', {}, '常见问题') : null,
    it.faq.map((f) => h('div', { class: 'card' }, h('p', {}, h('b', {}, '问：'), f.q), h('p', {}, h('b', {}, '答：'), f.a))),
    h('div', { class: 'spacer' }));
}

function codeEntry(onSubmit, label = '查询') {
  // Shown in groups of four like the printed code (7KQ2-M9XD-PA4T-H6WR-P), so it is easy to compare.
  const pad = keypad({ keys: CODE_KEYS, maxLength: 17, wide: true, label: '查询码',
    display: (v) => v.replace(/(.{4})(?=.)/g, '$1-') });
  return h('div', { class: 'card' }, h('h2', {}, '或者输入受理通知书上的查询码（17 位，不用输入横线）'), pad.el,
    actions(button(label, () => onSubmit(pad.value), 'primary big')));
}

async function follow() {
  sayForScreen('scan_code');
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

// A requested correction: central's {code, name, note} (older views: plain words).
function correctionText(x) {
  return typeof x === 'string' ? x : `${x.name || ''}${x.note ? `（${x.note}）` : ''}`;
}

export function caseCard(c, extra) {
  return h('div', { class: 'card' },
    h('h2', {}, c.item_name),
    h('p', { class: 'message' }, h('b', {}, '当前状态：'), c.status_label),
    c.applicant_masked ? h('p', {}, h('b', {}, '申请人：'), c.applicant_masked) : null,
    c.case_no ? h('p', {}, h('b', {}, '办件编号：'), c.case_no) : null,
    c.query_code_display ? h('p', {}, h('b', {}, '查询码：'), h('span', { class: 'code' }, c.query_code_display)) : null,
    c.promised_by ? h('p', {}, h('b', {}, '承诺办结日期：'), c.promised_by) : null,
    c.pickup && c.pickup.ready ? h('p', { class: 'message' }, `✔ 可以领取${c.pickup.window ? `，请到 ${c.pickup.window} 号窗口` : ''}`) : null,
    // How and where the result comes (the place as central shows it: a mail address masked).
    c.pickup && !c.pickup.ready && PICKUP[c.pickup.method]
      ? h('p', {}, h('b', {}, '领取方式：'), PICKUP[c.pickup.method] + (c.pickup.place ? `（${c.pickup.place}）` : '')) : null,
    c.corrections && c.corrections.length ? h('p', {}, h('b', {}, '需要补正：'), c.corrections.map(correctionText).join('；')) : null,
    c.steps && c.steps.length ? [h('h3', {}, '办理环节'), stepsView(c.steps)] : null, extra || null);
}

export function staleBanner(ageS) {
  return h('div', { class: 'banner stale' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '☁'),
    `暂时连不上平台，下面是本机 ${formatAge(ageS)} 保存的进度，可能不是最新。`);
}

async function caseScreen() {
  const q = App.state.query;
  if (!q || !q.code) return follow();
  const res = await api('POST', '/api/query', { code: q.code });
  if (!res.ok) return h('div', {}, title('查询办件进度'), errorBox(res), actions(button('重新扫码或输入', () => go('follow'), 'big')));
  const d = res.data;
  if (!d.found) return h('div', {}, title('查询办件进度'), h('div', { class: 'card' }, h('p', { class: 'message' }, d.message),
    h('p', {}, '查询码：', h('span', { class: 'code' }, d.query_code_display))), actions(button('重新输入', () => go('follow'), 'big')));
  return h('div', { id: 'progress' }, title('办件进度'), d.cached ? staleBanner(d.age_s) : null,
    h('p', {}, '查询码：', h('span', { class: 'code' }, d.query_code_display)),
    caseCard(d.case, caseTools(d.case, d.query_code, { display: d.query_code_display })), evaluateOffers([d.evaluation]));
}

export function waitForCard(text) {
  const st = App.status;
  if (st && st.idcard !== 'ok' && st.blocks && st.blocks.card) {
    // No working reader: say so instead of asking for a card that cannot be read.
    return h('div', { class: 'card', id: 'wait-card' }, h('p', { class: 'message' }, '⚠ ', st.blocks.card));
  }
  sayForScreen('place_card');
  return h('div', { class: 'card', id: 'wait-card' }, h('p', { class: 'message' }, text || '请把身份证放在读卡区，读卡完成前不要拿开。'),
    h('p', { class: 'muted' }, '读卡后会自动继续。'));
}

// Re-render the current screen once a card is read.
document.addEventListener('kiosk:card', () => {
  if (document.getElementById('wait-card')) render();
});

// 我的办件: online from central; offline the list this terminal last saw, marked with its age, and the
// notices printed here since (待平台确认) — the same words as on the paper.
async function mycases() {
  if (!App.session || !App.session.card) return h('div', {}, title('我的办件'), waitForCard());
  const res = await api('GET', '/api/my/cases');
  if (!res.ok) return h('div', {}, title('我的办件'), errorBox(res));
  const { cases, cached, age_s: age } = res.data;
  return h('div', { id: 'my-cases' }, title('我的办件', `共 ${cases.length} 件`), cached ? staleBanner(age) : null,
    cases.length ? cases.map((c) => caseCard(c, [caseTools(c, c.query_code, { full: true }),
      evaluateOffers((res.data.evaluation || []).filter((o) => o.ref === c.query_code))]))
      : h('p', { class: 'message' }, '没有查到您的办件。'));
}

export const screens = { home, list, search, results, item, follow, case: caseScreen, mycases, ...flows, ...caseworkScreens, ...agentScreens, ...bundleScreens };
export { title, codeEntry, PICKUP };
