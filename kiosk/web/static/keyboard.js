// On-screen input, for a screen with no physical keyboard and no OS input method:
//   letterKeys(onKey)   the QWERTY letter board every pinyin user knows, plus the keys a caller adds;
//   searchInput({...})  letters (full pinyin or initials such as yyzz) with live candidates from the catalog;
//   textInput({...})    Chinese text: tapped pinyin becomes Hanzi through the candidate row (ime.js),
//                       with digits and the punctuation an address or a reason needs.
// Every key is a real <button>: it is tapped like any other control and named for screen readers.
import { h, button, clear } from './ui.js';
import { loadIme, imeReady, candidates, segment } from './ime.js';

const ROWS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const DIGIT_ROW = '1234567890';
const PUNCTUATION = ['，', '。', '、', '-', '号', '楼'];
const PAGE = 8;

// Rows of letter keys; `extra` = rows of {label, onTap, cls, name} appended below. Returns the element.
export function letterKeys(onKey, { digits = false, extra = [] } = {}) {
  const key = (ch) => button(ch, () => onKey(ch), '', { 'aria-label': `字母 ${ch}`, dataset: { key: ch } });
  const rows = ROWS.map((r) => h('div', { class: 'krow' }, [...r].map(key)));
  if (digits) rows.unshift(h('div', { class: 'krow' }, [...DIGIT_ROW].map((d) => button(d, () => onKey(d), '',
    { 'aria-label': `数字 ${d}`, dataset: { key: d } }))));
  for (const row of extra) {
    rows.push(h('div', { class: 'krow' }, row.map((k) => button(k.label, k.onTap, k.cls || '',
      { 'aria-label': k.name || k.label, dataset: { key: k.name || k.label } }))));
  }
  return h('div', { class: 'kbd', role: 'group', 'aria-label': '屏幕键盘' }, rows);
}

// Search by letters. onInput(query) runs after every key (the caller fetches live candidates);
// onSubmit(query) on 搜索. Returns {el, value, set(v)}.
export function searchInput({ initial = '', maxLength = 24, onInput, onSubmit, label = '搜索事项' }) {
  let value = initial;
  const entry = h('div', { class: 'entry', role: 'textbox', 'aria-readonly': 'true', 'aria-label': label });
  const show = () => {
    entry.textContent = value || '请点下面的字母，例如 yyzz（营业执照）';
    entry.classList.toggle('placeholder', !value);
  };
  const change = (v) => { value = v.slice(0, maxLength); show(); if (onInput) onInput(value); };
  const board = letterKeys((ch) => change(value + ch), { extra: [[
    { label: '⌫ 删除', name: '删除', cls: 'key-wide', onTap: () => change(value.slice(0, -1)) },
    { label: '清空', cls: 'key-wide', onTap: () => change('') },
    { label: '搜索', cls: 'key-wide primary', onTap: () => onSubmit && onSubmit(value) },
  ]] });
  show();
  return { el: h('div', { class: 'search-input' }, entry, board), get value() { return value; },
    set(v) { change(v); } };
}

// Chinese text input (中文输入): tap pinyin letters, then the word or character in the candidate row.
// Options: label (accessible name and heading), heading (its level, 'h2' by default), maxLength, initial,
// placeholder, onchange(text).
// Returns {el, value, set(text)}. Works only on screen: no OS keyboard, no IME of the browser.
export function textInput({ label, heading = 'h2', maxLength = 200, initial = '', placeholder = '', onchange }) {
  let text = initial;
  let letters = '';
  let page = 0;
  let found = [];
  const shown = h('div', { class: 'entry', role: 'textbox', 'aria-readonly': 'true', 'aria-label': label,
    'aria-multiline': 'true' });
  const composing = h('div', { class: 'composing', 'aria-live': 'polite' });
  const list = h('div', { class: 'list-c', role: 'group', 'aria-label': '候选字词' });
  const prev = button('◀ 上一组', () => { page -= 1; drawCandidates(); }, 'small', { 'aria-label': '上一组候选' });
  const next = button('下一组 ▶', () => { page += 1; drawCandidates(); }, 'small', { 'aria-label': '下一组候选' });
  const note = h('p', { class: 'muted' });

  const emit = () => { if (onchange) onchange(text); };
  const drawText = () => {
    shown.textContent = text || placeholder || '\u00a0';
    shown.classList.toggle('placeholder', !text);
  };
  function drawCandidates() {
    const seg = letters ? segment(letters) : null;
    composing.textContent = letters ? (seg ? seg.parts.join("'") : letters) : '';
    const start = page * PAGE;
    clear(list).append(...found.slice(start, start + PAGE).map((c) => button(c.text, () => choose(c), 'cand',
      { 'aria-label': `候选 ${c.text}` })));
    if (!letters) list.append(note);   // nothing spelled yet: how to, where the words will come
    prev.disabled = page === 0;
    next.disabled = start + PAGE >= found.length;
  }
  const refresh = () => { page = 0; found = imeReady() ? candidates(letters) : []; drawCandidates(); };
  const add = (s) => {
    if (text.length + s.length > maxLength) return;
    text += s; drawText(); emit();
  };
  function choose(c) {
    add(c.text);
    letters = letters.slice(c.used);
    refresh();
  }
  const key = (ch) => {
    if (/[0-9]/.test(ch) || !imeReady()) { if (!letters) add(ch); return; }
    if (letters.length < 30) { letters += ch; refresh(); }
  };
  const del = () => {
    if (letters) { letters = letters.slice(0, -1); refresh(); return; }
    text = text.slice(0, -1); drawText(); emit();
  };
  const board = letterKeys(key, { digits: true, extra: [
    PUNCTUATION.map((p) => ({ label: p, name: `符号 ${p}`, onTap: () => { if (!letters) add(p); } })),
    [{ label: '⌫ 删除', name: '删除', cls: 'key-wide', onTap: del },
      { label: '空格', cls: 'key-space', onTap: () => { if (!letters) add(' '); } },
      { label: '清空', cls: 'key-wide', onTap: () => { text = ''; letters = ''; drawText(); refresh(); emit(); } }],
  ] });
  loadIme().then((ok) => {
    note.textContent = ok ? '点字母拼出拼音，再点这一行出现的字或词。' : '拼音词库没有安装：现在只能输入字母和数字，请联系工作人员。';
    refresh();
  });
  drawText();
  drawCandidates();
  return {
    // One row holds the letters being spelled, their candidates, and the how-to while nothing is spelled:
    // the whole keyboard and the screen's 确定 then fit a landscape screen above the caption line.
    el: h('div', { class: 'text-input' }, label ? h(heading, {}, label) : null, shown,
      h('div', { class: 'candidates' }, prev, composing, list, next), board),
    get value() { return text; },
    set(v) { text = String(v || '').slice(0, maxLength); letters = ''; drawText(); refresh(); },
  };
}
