// 政务服务"好差评": the evaluation of one completed service (a case, a queue ticket, a query visit) the server
// offered to this person. Five levels by their national names, a reason from the list for the two lowest
// (required), optional words through the pinyin input, optional call-back (回访) with a phone number.
// One evaluation per service: an evaluated one shows 已评价, and the server's refusal is shown in words.
import { h, button, api, toast, hideToast, keypad, actions, DIGITS } from './ui.js';
import { App, go, render, renderInPlace, back, endSession } from './app.js';
import { textInput } from './keyboard.js';
import { say, sayForScreen } from './voice.js';

const KIND_LABELS = { case: '评价这次服务', ticket: '评价这次取号服务', visit: '评价这次服务' };

function key(o) { return `${o.kind}:${o.ref}`; }

// The buttons that open the evaluation of `offers` ([{kind, ref, title}]); an offer this person has
// evaluated already says so instead. Filled in once the server says which are still open.
export function evaluateOffers(offers) {
  const box = h('div', { class: 'evaluate-offers row gap-top' });
  const wanted = (offers || []).filter(Boolean);
  if (!wanted.length) return box;
  api('GET', '/api/evaluate/offers').then((res) => {
    const open = new Set(res.ok ? res.data.offers.map(key) : []);
    box.replaceChildren(...wanted.map((o) => (open.has(key(o))
      ? button([h('span', { 'aria-hidden': 'true' }, '★'), `${KIND_LABELS[o.kind] || '评价这次服务'}（${o.title}）`], () => {
        App.state.evaluate = { offer: o };
        go('evaluate');
      }, 'big evaluate')
      : h('p', { class: 'message evaluated' }, `✔ ${o.title}：已评价过，每项服务只能评价一次。`))));
  });
  return box;
}

function finished(st) {
  return h('div', { id: 'evaluate-done' }, h('h1', {}, '好差评'),
    h('div', { class: `card ${st.refused ? 'notice-pending' : 'notice-ok'}` },
      h('p', { class: 'message' }, st.refused ? `⚠ ${st.refused}` : `✔ ${st.done.message}`),
      st.done && st.done.level_name ? h('p', {}, `您的评价：${st.done.level_name}`) : null,
      st.done && st.done.callback_phone ? h('p', {}, `回访电话：${st.done.callback_phone}`) : null),
    actions(button('返回', () => { App.state.evaluate = null; back(); }, 'big'),
      button('办完了，退出', () => endSession(), 'primary big')));
}

export async function evaluate() {
  const st = App.state.evaluate;
  if (!st || !st.offer) { go('home', null, { push: false }); return h('div'); }
  if (st.done || st.refused) return finished(st);
  const res = await api('GET', '/api/evaluate/options');
  if (!res.ok) return h('div', {}, h('h1', {}, '好差评'), h('p', { class: 'message' }, '⚠ ', res.data.message || '暂时不能评价。'));
  const { levels, reasons } = res.data;
  if (!st.level) sayForScreen('evaluate');
  st.reasons = st.reasons || [];
  const level = levels.find((l) => l.level === st.level);
  const comment = textInput({ label: '其他意见（可不填，最多 200 字）', maxLength: 200, initial: st.comment || '',
    placeholder: '点下面的字母拼出拼音，再点候选的字词', onchange: (v) => { st.comment = v; } });
  const phone = keypad({ keys: DIGITS, maxLength: 11, label: '回访手机号码', initial: st.phone || '',
    onchange: (v) => { st.phone = v; } });
  const toggleReason = (code) => {
    st.reasons = st.reasons.includes(code) ? st.reasons.filter((r) => r !== code) : [...st.reasons, code];
    if (st.reasons.length) hideToast();   // 请选择不满意的原因 is answered: the message must not linger
    renderInPlace();
  };
  const send = async () => {
    if (!level) { toast('请先选择一项评价。'); return; }
    if (level.needs_reason && !st.reasons.length) { toast(`选择“${level.name}”时，请选择不满意的原因。`); return; }
    const body = { kind: st.offer.kind, ref: st.offer.ref, level: level.level,
      reasons: level.needs_reason ? st.reasons : [], comment: st.comment || '', callback: Boolean(st.callback),
      phone: st.callback ? (st.phone || '') : '' };
    const r = await api('POST', '/api/evaluate', body);
    if (r.ok) { hideToast(); st.done = r.data; say('thanks'); render(); return; }
    if (r.data.error === 'already_evaluated' || r.data.error === 'not_offered') { st.refused = r.data.message; render(); return; }
    toast(r.data.message || '评价没有提交成功，请再试一次。');
  };
  return h('div', { id: 'evaluate' }, h('h1', {}, '好差评 · 请评价这次服务'),
    h('p', { class: 'muted' }, st.offer.title),
    h('div', { class: 'levels', role: 'group', 'aria-label': '评价等级' }, levels.map((l) => button(
      [h('span', { class: 'stars', 'aria-hidden': 'true' }, '★'.repeat(l.level) + '☆'.repeat(5 - l.level)), l.name],
      () => { st.level = l.level; hideToast(); renderInPlace(); }, `big level ${st.level === l.level ? 'selected' : ''}`,
      { 'aria-pressed': String(st.level === l.level), 'aria-label': l.name }))),
    level && level.needs_reason ? h('div', { class: 'card', id: 'reasons' },
      h('h2', {}, '请选择不满意的原因（必选，可多选）'),
      h('div', { class: 'chips' }, reasons.map((r) => button(r.text, () => toggleReason(r.code),
        st.reasons.includes(r.code) ? 'selected' : '', { 'aria-pressed': String(st.reasons.includes(r.code)) })))) : null,
    st.writing ? h('div', { class: 'card gap-top' }, comment.el)
      : button(st.comment ? `写的意见：${st.comment}（点此修改）` : '写几句意见（可不填）', () => { st.writing = true; renderInPlace(); }, 'big gap-top'),
    h('div', { class: 'card', id: 'callback' }, h('h2', {}, '需要工作人员回访您吗？（可不选）'),
      h('div', { class: 'row' },
        button('不用回访', () => { st.callback = false; renderInPlace(); }, st.callback ? '' : 'selected', { 'aria-pressed': String(!st.callback) }),
        button('需要回访', () => { st.callback = true; renderInPlace(); }, st.callback ? 'selected' : '', { 'aria-pressed': String(Boolean(st.callback)) })),
      st.callback ? h('div', {}, h('p', {}, '请输入回访手机号码（11 位），只用于这次回访：'), phone.el) : null),
    actions(button('提交评价', send, 'primary big')));
}
