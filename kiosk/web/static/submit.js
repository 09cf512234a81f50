// The submission wizard (网上申报, self-service or by an agent): situation → materials (免提交 / document
// camera pages / original at the window) → phone → pickup → consent → confirm → result with the notice.
// 上一步 goes back exactly one step; leaving the wizard with a draft asks first (app.js leaveDraft).
import { h, button, api, toast, hideToast, keypad, actions, DIGITS } from './ui.js';
import { App, go, render, renderInPlace } from './app.js';
import { confirmDialog } from './dialog.js';
import { say, sayForScreen } from './voice.js';
import { title, errorBox, waitForCard } from './screens.js';
import { bundleLine, forItems } from './bundles.js';
import { consentStep } from './consent.js';
import { pickupStep } from './pickup.js';
import { submitResult } from './result.js';

const STEPS = ['选择情形', '准备材料', '联系电话', '领取方式', '告知同意', '确认提交'];
const STEP_VOICE = { 1: 'materials', 2: 'phone', 3: 'pickup', 4: 'consent', 5: 'confirm' };

// The wizard's steps, the current one marked by a shape (▶, heavy frame) and the word 当前, not colour.
export function wizardSteps(index, names = STEPS) {
  return h('ol', { class: 'wizard', 'aria-label': '办理步骤' }, names.map((s, i) => {
    if (i < index) return h('li', { class: 'done' }, `✔ ${i + 1}. ${s}`);
    if (i === index) return h('li', { class: 'now', 'aria-current': 'step' }, `▶ ${i + 1}. ${s}（当前）`);
    return h('li', {}, `○ ${i + 1}. ${s}`);
  }));
}

async function post(path, body) {
  const res = await api('POST', path, body);
  if (!res.ok) toast(res.data.message || '操作没有成功，请再试一次。');
  return res;
}

function next(st, { label = '下一步', enabled = true, onNext } = {}) {
  return actions(enabled ? button(label, onNext || (() => { st.step += 1; render(); }), 'primary big')
    : h('p', { class: 'message' }, '请先完成本步，再点“下一步”。'));
}

async function situationStep(st, head) {
  const res = await api('GET', `/api/items/${encodeURIComponent(st.item)}`);
  if (!res.ok) return errorBox(res);
  st.situationCount = res.data.situations.length;
  const pick = async (code) => {
    if (st.started && st.situation && code !== st.situation) {
      const change = await confirmDialog({ title: '要换成这个情形吗？', yes: '换情形，重新选材料', no: '不换',
        message: '不同情形需要的材料不一样，换了以后刚才选好的材料要重新选择。' });
      if (!change) return;
      st.started = false;
    }
    st.situation = code;
    st.step = 1;
    render();
  };
  return h('div', {}, head, wizardSteps(0), h('h2', {}, res.data.name), h('p', { class: 'message' }, '请选择符合您的情形：'),
    h('ul', { class: 'list' }, res.data.situations.map((s) => h('li', {},
      button([h('span', {}, s.name, s.code === st.situation ? '（已选）' : ''), h('span', { class: 'meta' }, s.conditions)],
        () => pick(s.code), 'item-link')))));
}

async function submit() {
  const st = App.state.submit;
  if (!st) { go('home', null, { push: false }); return h('div'); }
  const agent = App.session && App.session.role === 'agent';
  const head = title(agent ? '代办申报' : '网上申报');
  if (st.result) return h('div', {}, head, submitResult(st.result));
  if (!App.session || !App.session.card) {
    const who = agent ? '请群众把本人身份证放在读卡区（证明本人到场）。' : '请把申请人的身份证放在读卡区，读卡完成前不要拿开。';
    return h('div', {}, head, waitForCard(who));
  }
  App.backHandler = () => {
    if (st.step > 1) { st.step -= 1; render(); return true; }
    if (st.step === 1 && st.situationCount > 1) { st.step = 0; render(); return true; }
    return false;  // the step before the wizard: leaving it asks first (a draft exists)
  };
  if (!st.bundle && (!st.situation || st.step === 0)) return situationStep(st, head);
  if (st.started) {
    const res = await api('GET', '/api/submit');
    if (res.ok) st.draft = res.data;
    else if (res.data.error === 'no_draft') st.started = false;  // another card in the reader: start again
    else return h('div', {}, head, errorBox(res));
  }
  if (!st.started) {
    const res = await api('POST', '/api/submit/start', st.bundle ? { bundle: st.bundle } : { item: st.item, situation: st.situation });
    if (!res.ok && res.data.error === 'not_eligible') return notEligible(st, head, res.data.message);
    if (!res.ok) return h('div', {}, head, errorBox(res));
    st.started = true;
    st.step = 1;
    st.draft = res.data;
  }
  const views = { 1: materialsStep, 2: phoneStep, 3: (s) => pickupStep(s, next), 4: (s) => consentStep(s, next), 5: confirmStep };
  sayForScreen(STEP_VOICE[st.step]);
  return h('div', { id: 'wizard', dataset: { step: String(st.step) } }, head, wizardSteps(st.step),
    bundleLine(st.draft) || h('p', {}, h('b', {}, st.draft.item.name), ` ｜ ${st.draft.situation.name} ｜ 申请人：${st.draft.applicant}`),
    await views[st.step](st));
}

// A condition the card shows is not met (age, kind of card): said before anything is filled in.
function notEligible(st, head, message) {
  say('error');
  return h('div', { id: 'not-eligible' }, head, wizardSteps(0),
    h('div', { class: 'card notice-pending' }, h('h2', {}, '⚠ 不能在本机提交这个情形'), h('p', { class: 'message' }, message)),
    actions(button('看看其他情形', () => { st.situation = null; st.step = 0; render(); }, 'big')));
}

function pageFigure(m, i, count, act) {
  const tools = h('div', { class: 'page-tools' },
    button('重拍', (e) => act(e.currentTarget, '/api/submit/page/replace', { material: m.code, page: i }), 'small',
      { 'aria-label': `重拍第 ${i + 1} 页` }),
    button('删除', (e) => act(e.currentTarget, '/api/submit/page/delete', { material: m.code, page: i }), 'small danger',
      { 'aria-label': `删除第 ${i + 1} 页` }),
    button('◀ 前移', (e) => act(e.currentTarget, '/api/submit/page/move', { material: m.code, page: i, to: i - 1 }), 'small',
      { 'aria-label': `第 ${i + 1} 页前移`, disabled: i === 0 }),
    button('后移 ▶', (e) => act(e.currentTarget, '/api/submit/page/move', { material: m.code, page: i, to: i + 1 }), 'small',
      { 'aria-label': `第 ${i + 1} 页后移`, disabled: i === count - 1 }));
  return h('figure', { dataset: { page: String(i) } },
    h('img', { src: `/api/submit/page/${encodeURIComponent(m.code)}/${i}?v=${m.page_ids ? m.page_ids[i] : Date.now()}`,
      alt: `第 ${i + 1} 页` }),
    h('figcaption', {}, `第 ${i + 1} 页`), tools);
}

async function materialsStep(st) {
  const d = st.draft;
  const choose = async (m, choice) => {
    const res = await post('/api/submit/material', { material: m, choice });
    if (res.ok) { st.draft = res.data; renderInPlace(); }
  };
  // One camera action at a time; the button says what is happening meanwhile.
  const act = async (btn, path, body) => {
    btn.disabled = true;
    if (path.endsWith('capture') || path.endsWith('replace')) btn.textContent = '正在拍照……';
    const res = await post(path, body);
    if (res.ok) st.draft = res.data;
    renderInPlace();
  };
  const rows = d.materials.map((m) => {
    const options = [];
    // The 授权委托书 of an agent's submission is photographed here: neither shared nor brought later.
    if (m.held && !m.authorization) options.push(button('平台已有 · 免提交', () => choose(m.code, 'shared'), m.choice === 'shared' ? 'selected' : ''));
    if (d.camera) options.push(button('用高拍仪拍照', () => choose(m.code, 'scan'), m.choice === 'scan' ? 'selected' : ''));
    if (!m.authorization) options.push(button('带原件到窗口', () => choose(m.code, 'paper'), m.choice === 'paper' ? 'selected' : ''));
    const power = m.authorization ? h('p', { class: 'message authorization' }, d.camera
      ? '代办须拍照上传申请人本人签字的授权委托书。' : '⚠ 高拍仪暂时不能使用：这个事项代办须拍照上传授权委托书，请申请人本人到窗口办理。') : null;
    const pages = m.choice === 'scan' ? h('div', {},
      h('p', {}, `把材料正面朝上放平在高拍仪下，再点“拍一页”。已拍 ${m.pages} 页。`),
      h('div', { class: 'pages' }, Array.from({ length: m.pages }, (_, i) => pageFigure(m, i, m.pages, act))),
      h('button', { type: 'button', class: 'btn primary gap-top',
        onclick: (e) => act(e.currentTarget, '/api/submit/capture', { material: m.code }) }, '拍一页')) : null;
    return h('div', { class: 'card material', dataset: { material: m.code } }, h('h3', {}, m.name, m.required ? '' : '（需要时提供）'),
      h('p', { class: 'muted' }, `${m.form} ${m.copies} 份 ${m.note || ''}`), power, forItems(d, m), h('div', { class: 'row' }, options), pages);
  });
  const done = d.materials.every((m) => !m.required || (m.choice && (m.choice !== 'scan' || m.pages > 0)));
  return h('div', {}, h('h2', {}, '请为每份材料选择提交方式'), rows, next(st, { enabled: done }));
}

async function phoneStep(st) {
  let value = '';
  const pad = keypad({ keys: DIGITS, maxLength: 11, label: '手机号码', onchange: (v) => { value = v; } });
  return h('div', {}, h('h2', {}, '请输入联系电话（11 位手机号码）'), h('p', { class: 'muted' }, '办件有进展时，工作人员会用这个号码联系您。'),
    st.draft.phone ? h('p', {}, `已填写：${st.draft.phone}（重新输入可以修改）`) : null, pad.el,
    next(st, { onNext: async () => {
      if (!value && st.draft.phone) { st.step += 1; render(); return; }
      const res = await post('/api/submit/details', { phone: value });
      if (res.ok) { st.draft = res.data; st.step += 1; render(); }
    } }));
}

async function confirmStep(st) {
  const d = st.draft;
  const label = { shared: '免提交', scan: '已拍照', paper: '带原件到窗口' };
  return h('div', {}, h('h2', {}, '请核对后提交'),
    h('div', { class: 'card' },
      d.bundle ? h('p', {}, h('b', {}, '事项：'), d.bundle.name, '：', d.items.map((i) => i.name).join('、'))
        : h('p', {}, h('b', {}, '事项：'), d.item.name, ' ｜ ', d.situation.name),
      h('p', {}, h('b', {}, '申请人：'), d.applicant),
      h('p', {}, h('b', {}, '联系电话：'), d.phone),
      h('p', {}, h('b', {}, '领取方式：'), (d.pickup_methods.find((p) => p.method === d.pickup) || {}).label || '',
        d.pickup_place ? ` ｜ ${d.pickup_place}` : ''),
      h('ul', {}, d.materials.filter((m) => m.choice).map((m) => h('li', {}, `${m.name}：${label[m.choice]}${m.choice === 'scan' ? `（${m.pages} 页）` : ''}`)))),
    d.pre_review ? h('div', { class: 'card notice-pending', id: 'pre-review' },
      h('p', { class: 'message' }, '提交后打印的是预审回执：还要带原件到窗口核验，核验通过后才受理，受理后才有承诺办结日期。'),
      d.originals.length ? h('p', {}, '要带的原件：', d.originals.join('、')) : null) : null,
    next(st, { label: '✔ 确认提交', onNext: async () => {
      document.querySelectorAll('main button').forEach((b) => { b.disabled = true; });
      toast('正在提交，请稍候……', 'info', 15000);
      say('printing');
      const res = await api('POST', '/api/submit/commit', {});
      hideToast();
      if (!res.ok) { toast(res.data.message || '提交没有成功。'); render(); return; }
      st.result = res.data;
      render();
    } }));
}

export const submitFlows = { submit };
