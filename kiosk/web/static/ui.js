// DOM helpers, the API client and on-screen keypads. Text always goes in as textContent (never HTML),
// so catalog or scanned content cannot inject markup.
import { say, withdraw } from './voice.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function button(label, onclick, cls = '', attrs = {}) {
  return h('button', { type: 'button', class: `btn ${cls}`.trim(), onclick, ...attrs }, label);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let toastTimer = null;
export function toast(message, kind = 'error', ms = 6000) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = `toast ${kind === 'info' ? 'info' : ''}`;
  el.hidden = false;
  if (kind !== 'info') say('error');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; el.textContent = ''; }, ms);
}

export function hideToast() {
  const el = document.getElementById('toast');
  el.hidden = true;
  el.textContent = '';
  clearTimeout(toastTimer);
  withdraw('error');
}

// The page's token for state-changing calls (the server refuses them without it); fetched once per page.
let pageToken = null;
async function token(renew) {
  if (renew || !pageToken) pageToken = (await (await fetch('/api/token', { cache: 'no-store' })).json()).token;
  return pageToken;
}

// Calls the JSON API; resolves to {ok, status, data}. Network failures become a villager message.
export async function api(method, path, body) {
  const options = { method, headers: {}, cache: 'no-store' };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  try {
    if (method !== 'GET') options.headers['X-Kiosk-Token'] = await token(false);
    let response = await fetch(path, options);
    if (response.status === 403 && method !== 'GET'
        && (await response.clone().json().catch(() => ({}))).error === 'bad_token') {
      options.headers['X-Kiosk-Token'] = await token(true);  // the service restarted: a new token
      response = await fetch(path, options);
    }
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  } catch (err) {
    return { ok: false, status: 0, data: { error: 'network', message: '终端正在重新连接，请稍候再试。' } };
  }
}

// A keypad that edits a value shown in an entry box. keys: list of key labels; onchange(value).
export function keypad({ keys, maxLength, mask = false, wide = false, onchange, initial = '', label = '', display }) {
  let value = initial;
  const entry = h('div', { class: 'entry', 'aria-label': label, role: 'textbox', 'aria-readonly': 'true' });
  const render = () => {
    const shown = display ? display(value) : value;
    entry.textContent = mask ? '●'.repeat(value.length) : (shown || '\u00a0');
    onchange && onchange(value);
  };
  const press = (key) => {
    if (key === '删除') value = value.slice(0, -1);
    else if (key === '清空') value = '';
    else if (value.length < maxLength) value += key;
    render();
  };
  const pad = h('div', { class: `keypad ${wide ? 'wide' : ''}` },
    [...keys, '删除', '清空'].map((k) => button(k, () => press(k))));
  render();
  return { el: h('div', {}, entry, pad), get value() { return value; }, set(v) { value = v; render(); } };
}

export const DIGITS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'];
// Crockford base32 as printed on notices (no I, L, O, U), plus the last symbol's check characters.
export const CODE_KEYS = [...'0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U'];

export function formatAge(seconds) {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 90) return '1 分钟内';
  if (seconds < 3600) return `${Math.round(seconds / 60)} 分钟前`;
  if (seconds < 86400 * 2) return `${Math.round(seconds / 3600)} 小时前`;
  return `${Math.round(seconds / 86400)} 天前`;
}

export const LIGHT_MARK = { green: '●', yellow: '▲', red: '■' };
export const STEP_MARK = { done: '✔', active: '➤', waiting: '○' };

// The sticky row at the bottom of a screen's scrolling area that holds its main action.
export function actions(...children) {
  return h('div', { class: 'actions' }, ...children);
}
