// The wizard's pickup step (领取方式): the item's own window, mail (邮寄送达) to a structured address entered
// on screen one field at a time (Chinese through the pinyin textInput, numbers on digit keypads), or a
// village service point (便民服务点) from this site's list. The server keeps the choice in the draft and
// answers with the place as it is shown and printed (a mail address masked after the county).
import { h, button, api, toast, keypad, actions, DIGITS } from './ui.js';
import { render } from './app.js';
import { textInput } from './keyboard.js';

// The address fields in the order a Chinese envelope reads; `digits`: entered on a keypad.
const FIELDS = [
  { key: 'recipient', label: '收件人姓名', max: 20 },
  { key: 'phone', label: '收件人手机号码', max: 11, digits: true },
  { key: 'province', label: '省（自治区、直辖市）', max: 20 },
  { key: 'city', label: '市（州）', max: 20 },
  { key: 'county', label: '区（县）', max: 20 },
  { key: 'street', label: '乡镇（街道）', max: 30 },
  { key: 'detail', label: '村、街路门牌等详细地址', max: 60 },
  { key: 'postcode', label: '邮政编码（可不填）', max: 6, digits: true, optional: true },
];
const MAIL_REQUIRED = FIELDS.filter((f) => !f.optional).map((f) => f.key);

async function post(path, body) {
  const res = await api('POST', path, body);
  if (!res.ok) toast(res.data.message || '操作没有成功，请再试一次。');
  return res;
}

function maskedValue(f, v) {
  if (!v) return '（未填写）';
  if (f.key === 'phone' && v.length === 11) return `${v.slice(0, 3)}****${v.slice(7)}`;
  return v;
}

// One field being entered: its own input; 确定 / 取消 in the screen's sticky action row (always in view,
// below a keyboard that fills a landscape screen).
function fieldEditor(st, f) {
  const mail = st.mail;
  let value = mail[f.key] || '';
  const input = f.digits
    ? keypad({ keys: DIGITS, maxLength: f.max, label: f.label, initial: value, onchange: (v) => { value = v; } })
    : textInput({ label: f.label, heading: 'h3', maxLength: f.max, initial: value, onchange: (v) => { value = v; } });
  return {
    body: h('div', { class: 'card', id: 'address-field', dataset: { field: f.key } }, f.digits ? h('h3', {}, f.label) : null,
      input.el),
    row: actions(
      button('✔ 确定', () => { mail[f.key] = value.trim(); st.editing = null; render(); }, 'primary big',
        { 'aria-label': `确定${f.label}` }),
      button('取消', () => { st.editing = null; render(); }, 'big', { 'aria-label': `取消${f.label}` })),
  };
}

function addressForm(st) {
  const mail = st.mail;
  const editing = FIELDS.find((f) => f.key === st.editing);
  if (editing) return fieldEditor(st, editing);
  const rows = FIELDS.map((f) => h('li', { class: 'address-row' },
    h('span', {}, h('b', {}, `${f.label}：`), maskedValue(f, mail[f.key])),
    button(mail[f.key] ? '修改' : '填写', () => { st.editing = f.key; render(); }, 'small',
      { 'aria-label': `${mail[f.key] ? '修改' : '填写'}${f.label}` })));
  const complete = MAIL_REQUIRED.every((k) => mail[k]);
  return {
    body: h('div', { class: 'card', id: 'mail-address' }, h('h3', {}, '邮寄地址'),
      h('p', { class: 'muted' }, '点“填写”逐项输入：文字用拼音键盘，号码用数字键。地址只用于寄送，屏幕和回执上只显示到区县。'),
      h('ul', { class: 'list' }, rows)),
    row: actions(complete ? button('✔ 使用这个地址', async () => {
      const res = await post('/api/submit/pickup', { method: 'mail', address: { ...mail } });
      if (res.ok) { st.draft = res.data; st.open = null; render(); }
    }, 'primary big') : h('p', { class: 'message' }, '请填完所有必填项（邮政编码可不填）。')),
  };
}

function villagePoints(st) {
  const points = st.draft.pickup_options.village_points || [];
  return {
    body: h('div', { class: 'card', id: 'village-points' }, h('h3', {}, '请选择到哪个便民服务点领取'),
      h('ul', { class: 'list' }, points.map((p) => h('li', {}, button([h('span', {}, p.name),
        h('span', { class: 'meta' }, `${p.address}${p.hours ? ' ｜ ' + p.hours : ''}`)], async () => {
        const res = await post('/api/submit/pickup', { method: 'village_point', point: p.code });
        if (res.ok) { st.draft = res.data; st.open = null; render(); }
      }, 'item-link'))))),
    row: null,
  };
}

// Returns the step's body; `next` is the wizard's 下一步 row builder.
export async function pickupStep(st, next) {
  const d = st.draft;
  st.mail = st.mail || {};
  const choose = async (method) => {
    st.open = method === 'window' ? null : method;
    st.editing = null;
    if (method === 'window') {
      const res = await post('/api/submit/pickup', { method: 'window' });
      if (res.ok) st.draft = res.data;
    }
    render();
  };
  const shown = st.open || d.pickup;  // the method being filled in, else the one chosen
  const chosen = d.pickup ? h('div', { class: 'card notice-ok', id: 'pickup-chosen' },
    h('p', { class: 'message' }, `✔ ${(d.pickup_methods.find((p) => p.method === d.pickup) || {}).label || ''}`),
    d.pickup_place ? h('p', {}, h('b', {}, '领取地点：'), d.pickup_place) : null) : null;
  const open = st.open === 'mail' ? addressForm(st) : st.open === 'village_point' ? villagePoints(st) : null;
  if (open) {
    // The form opened by a tap is what the person works on: in view, not the top of the page.
    requestAnimationFrame(() => open.body.scrollIntoView({ block: 'start' }));
  }
  return h('div', {}, h('h2', {}, '办好后怎么领取？'),
    h('div', { class: 'row' }, d.pickup_methods.map((p) => button(p.label, () => choose(p.method),
      shown === p.method ? 'selected big' : 'big', { 'aria-pressed': String(shown === p.method) }))),
    d.pickup_methods.some((p) => p.method === 'window') && d.pickup_options.window
      ? h('p', { class: 'muted' }, `窗口领取：${d.pickup_options.window}`) : null,
    open ? open.body : chosen,
    open ? open.row || actions(button('取消', () => { st.open = null; render(); }, 'big')) : next(st, { enabled: Boolean(d.pickup) }));
}
