// The page's core: event stream with automatic reconnection, navigation (one step back at a time, a
// draft is never left without asking), session countdown, help over any screen, and the privacy reset.
// Every person-related value lives in App.state; a reset clears it, clears storage and reloads the page
// so that nothing of the previous person stays in the DOM, in JS memory or in the navigation history.
import { h, clear, toast, hideToast, api } from './ui.js';
import { openDialog, closeAllDialogs, confirmDialog, inDialog } from './dialog.js';
import { say, stopVoice, loadPrompts, initVoiceButton, clearOldCaption } from './voice.js';
import { screens } from './screens.js';

export const App = {
  boot: null,           // server boot id: a different one after reconnecting = server restarted
  status: null,         // device status (no personal data)
  session: null,        // masked session view from the server
  state: {},            // per-person flow data: wiped at reset
  timeouts: { warn: 45, reset: 60 },
  lastActivity: Date.now(),
  idleAfter: 180,       // seconds without anyone before the idle screen (0 = never); from the server's hello
  connected: false,
  countdown: null,      // the countdown dialog while it is open
  history: [],          // this visitor's screens, for 上一步 (never the browser's history)
  backHandler: null,    // set by a screen with steps of its own (the submission wizard); cleared at render
  scanHandler: null,    // set by a screen that waits for a code itself; cleared at render
};

export function resetPage(reason) {
  // Clear what could outlive a reload first, then reload: DOM, JS memory and image caches all go.
  try { sessionStorage.clear(); localStorage.clear(); } catch (e) { /* storage may be disabled */ }
  App.state = {};
  App.session = null;
  App.history = [];
  setWho();
  closeAllDialogs();
  App.countdown = null;
  clear(document.getElementById('screen'));
  hideToast();
  stopVoice();
  setTextSize(0);
  // Reload only when the service answers: a reload against a stopped service would leave Chromium's
  // error page on the screen, with no script left to come back. Until then the page stays blank.
  if (reason === 'shutdown') {
    // The service is stopping: it may answer one more request and be gone before the reload's (seen on
    // a loaded machine). Wait for its next start instead; the event stream's hello brings the reload.
    App.reloadWhenBack = true;
    App.connected = false;
    renderBanners();
    // Not a blank page: say what is happening and that nothing is asked of the person in front of it.
    document.getElementById('screen').append(h('div', { id: 'restarting' }, h('h1', {}, '请稍候'),
      h('p', { class: 'message' }, '终端正在重新启动，马上就好，您不用做任何操作。')));
    return;
  }
  fetch('/api/status', { cache: 'no-store' }).then((r) => {
    if (r.ok) location.replace('/' + (reason ? `?r=${encodeURIComponent(reason)}` : ''));
    else App.reloadWhenBack = true;
  }, () => { App.reloadWhenBack = true; });
}

// --- navigation -------------------------------------------------------------------------------------
function currentHash() { return location.hash && location.hash !== '#' ? location.hash : '#/home'; }

// Opens a screen. The way back is kept in App.history, and the browser's history never grows
// (location.replace): the next visitor cannot step back into this one's screens.
export function go(name, param, { push = true } = {}) {
  hideToast();
  const hash = `#/${name}${param ? '/' + encodeURIComponent(param) : ''}`;
  const here = currentHash();
  if (push && here !== hash && route().name !== 'home') App.history.push(here);
  else if (push && here !== hash) App.history = [here];
  if (here === hash) render(); else location.replace(hash);
}

export function hasDraft() {
  const st = App.state.submit;
  return Boolean(st && st.started && !st.result);
}

// Runs `then` once the person agreed to give up the draft they are filling in (or at once if none).
export async function leaveDraft(then) {
  if (!hasDraft()) { then(); return; }
  say('leave_draft');
  const give = await confirmDialog({ title: '要放弃正在填写的申请吗？',
    message: '您选好的材料和填写的内容还没有提交，放弃后需要重新办理。', no: '继续填写', yes: '放弃申请' });
  if (!give) return;
  await api('POST', '/api/submit/cancel', {});
  App.state.submit = null;
  then();
}

export function goHome() {
  leaveDraft(() => { App.state = {}; App.history = []; go('home', null, { push: false }); });
}

// 上一步: exactly one step back, inside a screen's own steps first.
export function back() {
  if (App.backHandler && App.backHandler()) return;
  const step = () => {
    const prev = App.history.pop() || '#/home';
    if (prev === currentHash()) render(); else location.replace(prev);
  };
  if (route().name === 'submit') leaveDraft(step); else step();
}

function route() {
  const parts = currentHash().replace(/^#\/?/, '').split('/');
  return { name: parts[0] || 'home', param: parts[1] ? decodeURIComponent(parts[1]) : null };
}

function setNavButtons() {
  const locked = Boolean(App.status && App.status.locked) && route().name !== 'maint';
  const home = route().name === 'home';
  document.getElementById('btn-back').disabled = locked || (home && !App.backHandler);
  document.getElementById('btn-home').disabled = locked || (home && !App.history.length);
}

let renderCount = 0;
export async function render() {
  const main = document.getElementById('screen');
  const mine = ++renderCount;
  clearOldCaption();
  App.scanHandler = null;
  App.backHandler = null;
  if (App.status && App.status.locked && route().name !== 'maint') {
    clear(main).append(screens.locked());
    setNavButtons();
    return;
  }
  const { name, param } = route();
  const screen = screens[name] || screens.home;
  const node = await screen(param);
  if (mine !== renderCount) return;  // a newer render started meanwhile: it wins
  clear(main).append(node);
  setNavButtons();
  if (App.flash) { toast(App.flash, 'info'); App.flash = null; }
  main.focus({ preventScroll: true });
  main.scrollTop = 0;
}

// Draws the current screen again where the person is looking: a choice lower on a long screen (a material,
// an evaluation's reason) keeps its place instead of jumping to the top.
export async function renderInPlace() {
  const main = document.getElementById('screen');
  const y = main.scrollTop;
  await render();
  main.scrollTop = y;
}

// --- help ------------------------------------------------------------------------------------------
// 呼叫工作人员 opens over the current screen (even the locked one) and closes back to it: nothing is left.
export async function openHelp() {
  const res = await api('POST', '/api/help', {});
  say('help');
  openDialog({ title: '呼叫工作人员', id: 'help-dialog',
    message: res.ok ? `✔ ${res.data.message}` : '⚠ 请到服务台找工作人员。',
    content: App.hotline ? h('p', {}, `服务热线 ${App.hotline}`) : null,
    actions: [{ label: '回到刚才的页面', primary: true, onTap: (d) => d.close() }] });
}

// --- session ------------------------------------------------------------------------------------
let lastTouchSent = 0;
function userActivity(e) {
  // A touch on a dialog is the dialog's business: only its buttons act (继续办理 restarts the timer).
  if (e && inDialog(e.target)) return;
  App.lastActivity = Date.now();
  const now = Date.now();
  if (now - lastTouchSent > 5000) {
    lastTouchSent = now;
    api('POST', '/api/session/touch', {});
  }
}

function showCountdown(secondsLeft) {
  if (App.countdown) App.countdown.close();
  let left = secondsLeft;
  const count = h('span', { class: 'count' }, String(left));
  const timer = setInterval(() => { left = Math.max(0, left - 1); count.textContent = String(left); }, 1000);
  const dialog = openDialog({ title: '您还在办理吗？', id: 'countdown', top: true, warn: true,
    message: '为保护您的信息，倒计时结束后页面会自动返回首页，并清除刚才的内容。',
    content: h('p', { 'aria-live': 'off' }, count, ' 秒'),
    actions: [
      { label: '继续办理', primary: true, onTap: () => {
        App.lastActivity = Date.now();
        lastTouchSent = Date.now();
        api('POST', '/api/session/touch', {});
        hideCountdown();
      } },
      { label: '结束，返回首页', onTap: () => { hideCountdown(); endSession(); } },
    ] });
  const close = dialog.close;
  dialog.close = () => { clearInterval(timer); close(); };
  App.countdown = dialog;
  say('countdown');
}

function hideCountdown() {
  if (App.countdown) App.countdown.close();
  App.countdown = null;
}

export async function endSession() {
  await api('POST', '/api/session/end', {});
  resetPage('finished');
}

function setWho() {
  const who = document.getElementById('who');
  const s = App.session;
  if (s && s.agent) who.textContent = `代办员 ${s.agent.name}${s.card ? ' ｜ 群众：' + s.card.name : ''}`;
  else if (s && s.card) who.textContent = `${s.card_away ? '身份证已取走' : '已读身份证'}：${s.card.name}`;
  else who.textContent = '';
}

// --- text size ------------------------------------------------------------------------------------
const SIZES = [{ cls: '', label: '大字模式' }, { cls: 'large1', label: '特大字' }, { cls: 'large2', label: '标准字号' }];
let sizeStep = 0;
function setTextSize(step) {
  sizeStep = step;
  const root = document.documentElement;
  root.classList.remove('large1', 'large2');
  if (SIZES[step].cls) root.classList.add(SIZES[step].cls);
  const btn = document.getElementById('btn-large');
  btn.querySelector('.label').textContent = SIZES[step].label;
  btn.setAttribute('aria-pressed', String(step > 0));
  btn.dataset.step = String(step);
}

// --- status banners ---------------------------------------------------------------------------
function renderBanners() {
  const el = clear(document.getElementById('banners'));
  const st = App.status;
  const banner = (cls, icon, text) => el.append(h('div', { class: `banner ${cls}` },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, icon), text));
  // Away from the service, the status held is stale (the platform, the devices): only say we reconnect.
  if (!App.connected) { banner('', '⟳', '正在连接终端服务，请稍候……'); return; }
  if (!st) return;
  const blocks = st.blocks || {};
  if (blocks.notice && st.printer && st.printer.installed) banner('bad', '⚠', blocks.notice);
  if (blocks.card && st.idcard === 'missing') banner('bad', '⚠', blocks.card);
  if (st.online === false) banner('', '☁', '暂时连不上政务服务平台：可以咨询、打印清单；提交的申请会先保存在本机，联网后自动上报。');
}

// --- event stream -----------------------------------------------------------------------------
let source = null;
let retryTimer = null;
let retryDelay = 1000;
let cardAway = null;  // the dialog shown while a card is away from a kept draft

function onHello(hello) {
  if (App.reloadWhenBack || (App.boot && App.boot !== hello.boot)) {
    // The service restarted: whatever session this page showed is gone on the server too.
    resetPage('restart');
    return;
  }
  const modeChanged = App.mode !== hello.mode;
  App.boot = hello.boot;
  App.mode = hello.mode;
  if (typeof hello.idle_after_s === 'number') App.idleAfter = hello.idle_after_s;
  App.connected = true;
  retryDelay = 1000;
  App.status = hello.status;
  App.hotline = hello.hotline || '';
  applySession(hello.session);
  document.getElementById('site-name').textContent = hello.site_name || '政务服务自助终端';
  document.getElementById('idle-site').textContent = hello.site_name || '政务服务自助终端';
  renderBanners();
  if ((hello.status && hello.status.locked) || (modeChanged && hello.mode === 'village')) render();
}

function onCardRemoved(ev) {
  if (ev.session) applySession(ev.session);
  if (ev.held) {
    // The server keeps the draft until the person answers (or the inactivity reset wipes it).
    say('card_away');
    if (cardAway) cardAway.close();
    cardAway = openDialog({ title: '身份证已取走', id: 'card-away', warn: true,
      message: '您的申请还没有提交，已为您保留。请把身份证放回读卡区继续办理；不办了，请点“放弃申请”。',
      actions: [{ label: '放弃申请', cls: 'danger', onTap: async (d) => {
        d.close();
        cardAway = null;
        await api('POST', '/api/session/card-gone', {});
      } }] });
    return;
  }
  if (cardAway) { cardAway.close(); cardAway = null; }
  if (ev.ended) {
    App.state = {};
    const r = route().name;
    if (['mycases', 'submit', 'pickup', 'agent', 'casefile', 'withdraw', 'correct'].includes(r)) {
      App.flash = '身份证已取走，需要身份证的办理已结束。';
      App.history = [];
      go('home', null, { push: false });
    } else {
      toast('身份证已取走，需要身份证的办理已结束。', 'info');
    }
  }
}

function connect() {
  if (source) source.close();
  source = new EventSource('/api/events');
  const on = (type, fn) => source.addEventListener(type, (e) => fn(JSON.parse(e.data)));
  on('hello', onHello);
  on('status', (ev) => {
    const before = App.status || {};
    App.status = ev.status;
    renderBanners();
    const readerChanged = before.idcard !== ev.status.idcard && document.getElementById('wait-card');
    if (Boolean(before.locked) !== Boolean(ev.status.locked) || readerChanged) render();
  });
  on('session.started', () => { App.lastActivity = Date.now(); });
  on('session.warning', (ev) => showCountdown(ev.seconds_left));
  on('session.resumed', () => hideCountdown());
  on('session.reset', (ev) => resetPage(ev.reason));
  on('card.present', (ev) => {
    applySession(ev.session);
    if (cardAway) { cardAway.close(); cardAway = null; }
    say('card_read');
    document.dispatchEvent(new CustomEvent('kiosk:card'));
  });
  on('card.removed', onCardRemoved);
  on('agent.login', (ev) => applySession(ev.session));
  on('card.released', (ev) => applySession(ev.session));
  on('scan', (ev) => document.dispatchEvent(new CustomEvent('kiosk:scan', { detail: ev })));
  on('case.update', (ev) => document.dispatchEvent(new CustomEvent('kiosk:case', { detail: ev })));
  on('catalog', () => { if (route().name === 'home') render(); });
  on('presence', () => wake());
  source.onerror = () => {
    App.connected = false;
    renderBanners();
    if (source.readyState === EventSource.CLOSED) {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    }
  };
}

export function applySession(session) {
  App.session = session && session.active !== false ? session : null;
  if (session && session.warn_after_s) App.timeouts = { warn: session.warn_after_s, reset: session.reset_after_s };
  setWho();
}

// A scanned receipt code opens its progress page, unless the screen waits for a code itself
// (App.scanHandler). During a draft the person is asked first: a stray scan never throws it away.
document.addEventListener('kiosk:scan', async (e) => {
  const ev = e.detail;
  if (ev.kind !== 'receipt_code') { toast(ev.message || '这不是受理通知书上的二维码。'); return; }
  if (App.scanHandler) { App.scanHandler(ev.code); return; }
  if (hasDraft()) {
    const open = await confirmDialog({ title: '扫到了一张受理通知书', yes: '查看进度（放弃申请）', no: '继续填写申请',
      message: '要查看这张通知书的办理进度吗？正在填写的申请还没有提交，查看进度会放弃它。' });
    if (!open) return;
    await api('POST', '/api/submit/cancel', {});
    App.state.submit = null;
  }
  App.state.query = { code: ev.code };
  go('case');
});

// --- idle screen ------------------------------------------------------------------------------
// With nobody at the terminal (no session, nothing on screen for a person) the page dims to a calm
// picture after App.idleAfter seconds; someone stepping up (IO board presence sensor) or a touch wakes it.
function idleScreen() { return document.getElementById('idle'); }

function maybeIdle(idleSeconds) {
  // A locked terminal keeps its "暂停服务" notice in view rather than inviting a touch.
  const locked = Boolean(App.status && App.status.locked);
  const nobody = !App.session && Object.keys(App.state).length === 0 && !App.countdown && !locked;
  if (App.idleAfter > 0 && nobody && idleSeconds >= App.idleAfter && idleScreen().hidden) {
    hideToast();
    idleScreen().hidden = false;
  }
}

export function wake() {
  App.lastActivity = Date.now();
  idleScreen().hidden = true;
}

// Local safety net: if the server cannot reach the page, the page still wipes itself.
setInterval(() => {
  const idle = (Date.now() - App.lastActivity) / 1000;
  const hasState = Object.keys(App.state).length > 0 || App.session;
  if (hasState && idle > App.timeouts.reset + 10) resetPage('timeout');
  maybeIdle(idle);
}, 1000);

function init() {
  for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, userActivity, { capture: true });
  // The touch that wakes the idle screen only wakes it: it must not press what lies under the picture.
  idleScreen().addEventListener('click', (e) => { e.preventDefault(); e.stopPropagation(); wake(); });
  document.getElementById('toast').addEventListener('click', (e) => { e.stopPropagation(); hideToast(); });
  document.getElementById('btn-home').addEventListener('click', goHome);
  document.getElementById('btn-back').addEventListener('click', back);
  document.getElementById('btn-help').addEventListener('click', openHelp);
  document.getElementById('btn-large').addEventListener('click', () => setTextSize((sizeStep + 1) % SIZES.length));
  initVoiceButton();
  // Technicians reach maintenance by tapping the emblem five times within three seconds.
  let taps = [];
  document.querySelector('.emblem').addEventListener('click', () => {
    const now = Date.now();
    taps = [...taps.filter((t) => now - t < 3000), now];
    if (taps.length >= 5) { taps = []; leaveDraft(() => go('maint')); }
  });
  window.addEventListener('hashchange', render);
  if (location.search) history.replaceState(null, '', '/' + location.hash);
  loadPrompts();
  connect();
  render();
}

init();
